// Private helpers for this package's tests: tiny seeded models, data, an
// in-memory save handler, and an optimizer saved and loaded back.
import * as tf from "@tensorflow/tfjs";
import { ChainOptimizer } from "./chain_optimizer.ts";

let modelCount = 0;

/**
 * A tiny seeded model: conv 3x3 (4 filters) -> flatten -> dense 8 -> dense 3
 * (softmax). Layer names are unique per call unless `prefix` repeats.
 */
export function tinyModel(
  seed = 1,
  prefix = `tiny${modelCount++}`,
): tf.Sequential {
  const init = (s: number) =>
    tf.initializers.glorotUniform({ seed: seed * 10 + s });
  return tf.sequential({
    name: prefix,
    layers: [
      tf.layers.conv2d({
        name: `${prefix}_conv`,
        inputShape: [6, 6, 1],
        filters: 4,
        kernelSize: 3,
        activation: "relu",
        kernelInitializer: init(1),
      }),
      tf.layers.flatten({ name: `${prefix}_flat` }),
      tf.layers.dense({
        name: `${prefix}_hidden`,
        units: 8,
        activation: "relu",
        kernelInitializer: init(2),
      }),
      tf.layers.dense({
        name: `${prefix}_out`,
        units: 3,
        activation: "softmax",
        kernelInitializer: init(3),
      }),
    ],
  });
}

/** Seeded inputs `[n, 6, 6, 1]` and one-hot labels `[n, 3]`. */
export function tinyData(
  n = 16,
  seed = 7,
): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  return tf.tidy(() => {
    const xs = tf.randomUniform(
      [n, 6, 6, 1],
      0,
      1,
      "float32",
      seed,
    ) as tf.Tensor4D;
    const labels = tf.tensor1d(
      Array.from({ length: n }, (_, i) => (i * 7 + seed) % 3),
      "int32",
    );
    return { xs, ys: tf.oneHot(labels, 3).asType("float32") as tf.Tensor2D };
  });
}

/** Every weight of a model, read to float arrays. */
export async function readWeights(
  model: tf.LayersModel,
): Promise<Float32Array[]> {
  return await Promise.all(
    model.getWeights().map(async (w) => (await w.data()) as Float32Array),
  );
}

/** A save handler that keeps the artifacts in memory, and a loader for them. */
export function memoryIO(): {
  save: tf.io.IOHandler;
  load: () => tf.io.IOHandler;
  artifacts: () => tf.io.ModelArtifacts;
} {
  let saved: tf.io.ModelArtifacts | undefined;
  return {
    save: tf.io.withSaveHandler((a) => {
      saved = a;
      return Promise.resolve({
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
        },
      });
    }),
    load: () => tf.io.fromMemory(saved!),
    artifacts: () => saved!,
  };
}

/** Disposes tensors and models alike. */
export function release(...items: Array<tf.Tensor | tf.LayersModel>): void {
  for (const x of items) {
    if (x instanceof tf.Tensor) x.dispose();
    else x.dispose();
  }
}

/**
 * `opt.getWeights()` with every tensor cloned, as a save holds them after
 * the optimizer is gone; the caller disposes the clones.
 */
export async function savedWeights(
  opt: ChainOptimizer,
): Promise<Array<{ name: string; tensor: tf.Tensor }>> {
  return (await opt.getWeights()).map((x) => ({
    name: x.name,
    tensor: x.tensor.clone(),
  }));
}

/**
 * `a` as a new process would load it: its weights saved, `a` disposed, a
 * new optimizer built from `a.getConfig()` by `ChainOptimizer.fromConfig`,
 * and the weights set on it (the saved copies then freed).
 */
export async function reloaded(a: ChainOptimizer): Promise<ChainOptimizer> {
  const saved = await savedWeights(a);
  const config = a.getConfig();
  a.dispose();
  const b = ChainOptimizer.fromConfig(ChainOptimizer, config) as ChainOptimizer;
  await b.setWeights(saved);
  tf.dispose(saved.map((s) => s.tensor));
  return b;
}
