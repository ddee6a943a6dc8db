// Private test helpers of @centra/zoo: one training step with a chain, and
// parameter counts of full-size models without allocating their weights.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  applyUpdates,
  type AxesResolver,
  disposeState,
  initState,
  runUpdate,
  sgd,
} from "@centra/chain";
import { withZeroInit } from "./_layers.ts";
import { countParams } from "./count_params.ts";
import { modelParams } from "./model_params.ts";

export {
  assertClose,
  BACKENDS,
  read,
  testOnBackends,
} from "@centra/testing/mod.ts";

// Tests that do not name a backend run on cpu (webgpu registers itself with a
// higher priority but needs an async start).
await tf.setBackend("cpu");

/**
 * GC axes for the layers built here: depthwise kernels `[kh, kw, in, mult]`
 * average over the window only; every other kernel over all axes but the
 * last; rank-1 tensors are left alone.
 */
export const zooGcAxes: AxesResolver = (name, shape) => {
  if (shape.length < 2) return null;
  if (/dwconv\/depthwise_kernel/.test(name)) return [0, 1];
  return shape.slice(0, -1).map((_, i) => i);
};

/**
 * Trainable parameters of a model built with zero weights on the cpu backend
 * (zero-filled arrays are never touched: fast, and no memory is used).
 */
export async function fullSizeCount(
  build: () => tf.LayersModel,
): Promise<number> {
  await tf.setBackend("cpu");
  const model = withZeroInit(build);
  try {
    return countParams(model);
  } finally {
    model.dispose();
  }
}

function loss(model: tf.LayersModel, xs: tf.Tensor, ys: tf.Tensor): tf.Scalar {
  const logits = model.apply(xs, { training: true }) as tf.Tensor;
  return tf.losses.softmaxCrossEntropy(ys, logits) as tf.Scalar;
}

/**
 * Runs one step of SGD with momentum and GC ({@linkcode zooGcAxes}) on a
 * random batch and checks that the loss is finite, that every trainable
 * variable gets a gradient and a non-zero, centralized update, and that no
 * tensor leaked.
 */
export async function assertTrainStep(
  model: tf.LayersModel,
  { batch = 4, seed = 1, learningRate = 0.01 } = {},
): Promise<void> {
  const before = tf.memory().numTensors;
  const shape = model.inputs[0]!.shape.slice(1) as number[];
  const k = model.outputs[0]!.shape[1] as number;
  const xs = tf.randomNormal([batch, ...shape], 0, 1, "float32", seed);
  const labels = Array.from({ length: batch }, (_, i) => i % k);
  const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, "int32"), k));

  const { params, variables } = modelParams(model);
  const tx = sgd(learningRate, { momentum: 0.9, gc: zooGcAxes });
  const state = initState(tx, params);
  const { value, grads } = tf.variableGrads(
    () => loss(model, xs, ys),
    Object.values(variables),
  );
  const first = (await value.data())[0]!;
  assert.ok(Number.isFinite(first), `loss is ${first}`);
  assert.deepEqual(Object.keys(grads).sort(), Object.keys(params).sort());
  const [updates, next] = runUpdate(tx, grads, state, params);
  // Per parameter: the largest update, and the largest mean over its GC
  // axes (zero when GC acted with the right axes).
  const names = Object.keys(params);
  const stacked = tf.tidy(() =>
    tf.stack(names.flatMap((n) => {
      const u = updates[n]!;
      const axes = zooGcAxes(n, u.shape);
      const reduced = axes === null
        ? 1
        : axes.reduce((a, i) => a * u.shape[i]!, 1);
      const mean = axes === null || reduced === 1
        ? tf.scalar(0)
        : tf.max(tf.abs(tf.mean(u, axes)));
      return [tf.max(tf.abs(u)), mean];
    }))
  );
  const sizes = await stacked.data();
  stacked.dispose();
  names.forEach((name, i) => {
    const size = sizes[2 * i]!, mean = sizes[2 * i + 1]!;
    assert.ok(size > 0, `the update of ${name} is zero`);
    assert.ok(
      mean <= 1e-4 * size,
      `the update of ${name} is not centralized: mean ${mean}, max ${size}`,
    );
  });
  applyUpdates(variables, updates);
  tf.dispose([value, grads, updates]);
  disposeState(next);
  tf.dispose([xs, ys]);
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
}
