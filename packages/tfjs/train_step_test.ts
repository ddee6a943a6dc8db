import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initState, sgd } from "@centra/chain";
import { assertClose, testOnBackends } from "../chain/_test_utils.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { trainStep } from "./train_step.ts";

testOnBackends(
  "trainStep() takes the same steps as ChainOptimizer.minimize",
  async () => {
    const target = tf.tensor2d([[1, -1], [2, 0.5]]);
    const a = tf.variable(
      tf.tensor2d([[0.5, 0.1], [-0.3, 0.2]]),
      true,
      "train_step_test/a",
    );
    const b = tf.variable(
      tf.tensor2d([[0.5, 0.1], [-0.3, 0.2]]),
      true,
      "train_step_test/b",
    );
    const lossOf = (v: tf.Variable) => () =>
      tf.sum(
        tf.square(tf.sub(tf.matMul(v, v, false, true), target)),
      ) as tf.Scalar;
    const tx = sgd(0.01, { momentum: 0.9, gc: true });
    let state = initState(tx, { [a.name]: a });
    const opt = ChainOptimizer.from("sgd", {
      learningRate: 0.01,
      momentum: 0.9,
      gc: true,
    });
    let afterFirst = 0;
    for (let i = 0; i < 30; i++) {
      const step = trainStep(tx, state, { loss: lossOf(a), variables: [a] });
      state = step.state;
      const l2 = opt.minimize(lossOf(b), true, [b])!;
      assertClose(await step.loss.data(), await l2.data(), {
        rtol: 1e-6,
        what: `loss ${i}`,
      });
      tf.dispose([step.loss, l2]);
      if (i === 0) afterFirst = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, afterFirst, "flat per step");
    assertClose(await a.data(), await b.data(), { rtol: 1e-5, atol: 1e-6 });
    opt.dispose();
    tf.dispose([a, b, target, state as tf.TensorContainer]);
  },
);

testOnBackends(
  "trainStep() leaves variables and state alone when the loss or chain throws",
  async () => {
    const w = tf.variable(tf.ones([3]), true, "train_step_test/w");
    const tx = sgd(0.1, { momentum: 0.9 });
    const state = initState(tx, { [w.name]: w });
    const other = tf.variable(tf.ones([3]), true, "train_step_test/other");
    const n = tf.memory().numTensors;
    assert.throws(() =>
      trainStep(tx, state, {
        loss: () => {
          throw new Error("bad loss");
        },
        variables: [w],
      }), /bad loss/);
    assert.equal(tf.memory().numTensors, n, "after a throwing loss");
    assert.throws(
      () =>
        trainStep(tx, state, { loss: () => tf.sum(other), variables: [other] }),
      /unknown parameter name "train_step_test\/other"/,
    );
    assert.equal(tf.memory().numTensors, n, "after a throwing chain");
    assertClose(await w.data(), [1, 1, 1]);
    assert.throws(
      () => trainStep(tx, state, { loss: 3 as unknown as () => tf.Scalar }),
      TypeError,
    );
    assert.throws(
      () =>
        trainStep(tx, state, {
          loss: () => tf.sum(w),
          variables: [tf.ones([1]) as tf.Variable],
        }),
      /variables\[0\]/,
    );
    tf.dispose([w, other, state as tf.TensorContainer]);
  },
);
