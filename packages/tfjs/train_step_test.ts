import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { adam, disposeState, initState, sgd } from "@centra/chain";
import { assertClose, testOnBackends, withStep } from "@centra/testing/mod.ts";
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
    const boom = new Error("bad loss");
    assert.throws(
      () =>
        trainStep(tx, state, {
          loss: () => {
            tf.ones([2]); // built before the throw: freed by the tidy
            throw boom;
          },
          variables: [w],
        }),
      // the loss's own error, unchanged (not made a TypeError of trainStep)
      (e) => e === boom,
    );
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

/** Every tensor of a state tree read to an array, in place. */
async function readTree(x: unknown): Promise<unknown> {
  if (x instanceof tf.Tensor) return Array.from(await x.data());
  if (Array.isArray(x)) return await Promise.all(x.map(readTree));
  if (x !== null && typeof x === "object") {
    return Object.fromEntries(
      await Promise.all(
        Object.entries(x).map(async ([k, v]) => [k, await readTree(v)]),
      ),
    );
  }
  return x;
}

testOnBackends(
  "trainStep() takes the chain's step and matches the same chain without one",
  async (backend) => {
    const target = tf.tensor2d([[1, -1], [2, 0.5]]);
    const init = tf.tensor2d([[0.5, 0.1], [-0.3, 0.2]]);
    const a = tf.variable(init, true, "train_step_test/step_a");
    const b = tf.variable(init, true, "train_step_test/step_b");
    const lossOf = (v: tf.Variable) => () =>
      tf.sum(
        tf.square(tf.sub(tf.matMul(v, v, false, true), target)),
      ) as tf.Scalar;
    const stepped = withStep(adam(0.01, { gc: true }));
    const plain = adam(0.01, { gc: true });
    let sa = initState(stepped.tx, { [a.name]: a });
    let sb = initState(plain, { [b.name]: b });
    let afterFirst = 0;
    for (let i = 0; i < 20; i++) {
      const ra = trainStep(stepped.tx, sa, { loss: lossOf(a), variables: [a] });
      const rb = trainStep(plain, sb, {
        loss: lossOf(b),
        variables: [b],
        fused: false,
      });
      sa = ra.state;
      sb = rb.state;
      tf.dispose([ra.loss, rb.loss]);
      if (i === 0) afterFirst = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, afterFirst, "flat per step");
    assert.equal(stepped.calls.step, 20);
    const tol = backend === "cpu"
      ? { rtol: 0, atol: 0 }
      : { rtol: 1e-5, atol: 1e-6 };
    assertClose(await a.data(), await b.data(), tol);
    assert.notDeepEqual(
      Array.from(await a.data()),
      Array.from(await init.data()),
    );
    disposeState(sa);
    disposeState(sb);
    tf.dispose([a, b, init, target]);
  },
);

testOnBackends(
  "trainStep() leaves variables and state alone when the chain's step returns a bad value",
  async () => {
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, "train_step_test/bad");
    let misshape = false;
    const { tx, calls } = withStep(
      sgd(0.1, { momentum: 0.9 }),
      (values, next) =>
        misshape
          ? [{ [w.name]: tf.reshape(values[w.name]!, [3, 1]) }, next]
          : [values, next],
    );
    const loss = () => tf.sum(tf.square(w)) as tf.Scalar;
    const first = trainStep(tx, initState(tx, { [w.name]: w }), {
      loss,
      variables: [w],
    });
    first.loss.dispose();
    const state = first.state;
    const weights = Array.from(await w.data());
    const moments = await readTree(state);
    const n = tf.memory().numTensors;
    misshape = true;
    assert.throws(
      () => trainStep(tx, state, { loss, variables: [w] }),
      (e: unknown) =>
        e instanceof TypeError &&
        /a new value of shape \[3,1\]/.test(e.message),
    );
    assert.equal(tf.memory().numTensors, n);
    assert.deepEqual(Array.from(await w.data()), weights);
    assert.deepEqual(await readTree(state), moments);
    // The old state still steps: m = 0.9 m + g.
    misshape = false;
    const again = trainStep(tx, state, { loss, variables: [w] });
    again.loss.dispose();
    assertClose(await w.data(), [0.46, 0.92, 1.38], { rtol: 1e-6 });
    assert.equal(calls.step, 3);
    disposeState(again.state);
    w.dispose();
  },
);
