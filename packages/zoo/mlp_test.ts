import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  applyUpdates,
  disposeState,
  initState,
  runUpdate,
  sgd,
} from "@centra/chain";
import { assertTrainStep, testOnBackends } from "./_test_utils.ts";
import { countParams } from "./count_params.ts";
import { mlp } from "./mlp.ts";
import { batches } from "./batches.ts";
import { fashionMnist } from "./fashion_mnist.ts";
import { modelParams } from "./model_params.ts";

Deno.test("mlp() has 235,146 parameters with the defaults", () => {
  const model = mlp();
  assert.equal(
    countParams(model),
    784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10,
  );
  assert.deepEqual(model.layers.map((l) => l.name), [
    "mlp/input",
    "mlp/flatten",
    "mlp/fc1",
    "mlp/fc2",
    "mlp/fc",
  ]);
  model.dispose();
});

Deno.test("mlp() takes rank-1 inputs and scales hidden sizes by width", () => {
  const model = mlp({
    inputShape: [10],
    hidden: [8, 8, 8],
    width: 0.5,
    numClasses: 2,
  });
  assert.deepEqual(model.layers.map((l) => l.outputShape), [
    [null, 10],
    [null, 4],
    [null, 4],
    [null, 4],
    [null, 2],
  ]);
  model.dispose();
  assert.throws(
    () => mlp({ hidden: [8, 0] }),
    /hidden must be positive integers, got \[8,0\]/,
  );
  assert.throws(() => mlp({ inputShape: [] }), /inputShape/);
});

testOnBackends("mlp() trains one step with sgd and GC", async () => {
  const model = mlp({ width: 0.25, seed: 3 });
  await assertTrainStep(model);
  model.dispose();
});

testOnBackends(
  "mlp() learns the embedded Fashion-MNIST with sgd and GC",
  async () => {
    const before = tf.memory().numTensors;
    const { train } = await fashionMnist();
    const model = mlp({ width: 0.5, seed: 1 });
    const { params, variables } = modelParams(model);
    const tx = sgd(0.05, { momentum: 0.9, gc: true });
    let state = initState(tx, params);
    const losses: number[] = [];
    let step = 0;
    for (const { xs, ys } of batches(train, { batchSize: 32, seed: 1 })) {
      const { value, grads } = tf.variableGrads(
        () =>
          tf.losses.softmaxCrossEntropy(
            ys,
            model.apply(xs) as tf.Tensor,
          ) as tf.Scalar,
        Object.values(variables),
      );
      const [updates, next] = runUpdate(tx, grads, state, params);
      state = next;
      applyUpdates(variables, updates);
      losses.push((await value.data())[0]!);
      tf.dispose([xs, ys, value, grads, updates]);
      if (++step === 25) break;
    }
    disposeState(state);
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    const first = mean(losses.slice(0, 5)), last = mean(losses.slice(-5));
    assert.ok(last < 0.7 * first, `loss went from ${first} to ${last}`);
    model.dispose();
    assert.equal(tf.memory().numTensors, before);
  },
);
