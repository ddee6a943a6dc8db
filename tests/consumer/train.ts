// A user's own training script, written against centra as published on JSR:
// a hand-built chain with a transform of its own, GC on the axes
// @centra/match finds, a @centra/zoo model, trained by `model.fit` through
// @centra/tfjs's ChainOptimizer with callbacks. (@centra/webgpu's `fuse` is
// tried in train_test.ts.)
import * as tf from "@tensorflow/tfjs";
import {
  addDecayedWeights,
  centralize,
  chain,
  clipByGlobalNorm,
  type GradientTransformation,
  scaleByAdam,
  scaleByLearningRate,
  stateless,
} from "@centra/chain";
import { decayMask, gcAxes } from "@centra/match";
import { ChainOptimizer, learningRateLogger } from "@centra/tfjs";
import { mlp } from "@centra/zoo";

/** What {@linkcode train} reports. */
export interface TrainResult {
  /** Loss per epoch. */
  loss: number[];
  /** Learning rate per epoch, from `learningRateLogger`. */
  lr: number[];
  /** How many updates the custom transform saw. */
  updates: number;
  /** Batches seen by a user callback. */
  batches: number;
}

/**
 * Trains a small MLP to separate two Gaussian blobs.
 *
 * @param epochs Epochs of `model.fit`.
 * @param learningRate The chain's learning rate.
 * @returns Losses, logged learning rates and counts.
 */
export async function train(
  epochs: number,
  learningRate: number,
): Promise<TrainResult> {
  const model = mlp({
    inputShape: [4],
    hidden: [16],
    numClasses: 2,
    seed: 1,
    name: "consumer",
  });
  let updates = 0;
  const counter: GradientTransformation = stateless((u) => {
    updates++;
    return u;
  });
  const tx = chain(
    clipByGlobalNorm(5),
    centralize({ axes: gcAxes(model) }),
    counter,
    scaleByAdam(),
    addDecayedWeights(1e-4, { mask: decayMask(model) }),
    scaleByLearningRate(learningRate),
  );
  const optimizer = new ChainOptimizer(tx);
  model.compile({ optimizer, loss: "categoricalCrossentropy" });

  const [xs, ys] = tf.tidy(() => {
    const n = 64;
    const labels = tf.tensor1d(
      Array.from({ length: n }, (_, i) => i % 2),
      "int32",
    );
    const centers = tf.sub(tf.mul(labels.expandDims(1).toFloat(), 4), 2);
    const x = tf.add(tf.randomNormal([n, 4], 0, 1, "float32", 7), centers);
    return [x, tf.oneHot(labels, 2)];
  });
  let batches = 0;
  const history = await model.fit(xs, ys, {
    epochs,
    batchSize: 16,
    shuffle: false,
    verbose: 0,
    callbacks: [
      learningRateLogger(),
      new tf.CustomCallback({
        onBatchEnd: () => {
          batches++;
        },
      }),
    ],
  });
  tf.dispose([xs, ys]);
  model.dispose();
  optimizer.dispose();
  return {
    loss: history.history.loss!.map(Number),
    lr: (history.history.lr ?? []).map(Number),
    updates,
    batches,
  };
}

if (import.meta.main) {
  await tf.setBackend("cpu");
  const { loss, lr } = await train(5, 0.01);
  console.log(
    `tfjs ${tf.version.tfjs}: loss ${loss.map((l) => l.toFixed(3))}, lr ${lr}`,
  );
}
