import type * as tf from "@tensorflow/tfjs";
import { Builder, resolve, scaled } from "./_layers.ts";

/** Options of {@linkcode smallCnn}. */
export interface SmallCnnOptions {
  /** `[height, width, channels]`. Default `[28, 28, 1]` (Fashion-MNIST). */
  inputShape?: readonly number[];
  /** Output units (logits). Default 10. */
  numClasses?: number;
  /** Multiplies every channel count. Default 1. */
  width?: number;
  /** Batch norm after every convolution. Default `true`. */
  batchNorm?: boolean;
  /** Seed for the initial weights; without one they differ per build. */
  seed?: number;
  /** Model name and prefix of every layer name. Default `"small_cnn"`. */
  name?: string;
}

/**
 * A small convolutional network for 28x28 images, the demo's model: two 3x3
 * stride-2 convolutions of 16 and 32 channels (each with batch norm and
 * ReLU), flatten, a Dense layer of 64 units with ReLU and a Dense
 * classifier. 105,914 trainable parameters at width 1 and 10 classes, most
 * of them in the first Dense kernel, so GC on convolutions only and GC on
 * convolutions and Dense layers differ.
 *
 * Strided convolutions instead of pooling keep a training step cheap (about
 * 0.35M multiply-adds per image forward): tfjs's cpu backend computes
 * convolution gradients slowly, and full-resolution convolutions made a step
 * an order of magnitude slower there.
 *
 * Layers: `<name>/conv1`, `<name>/bn1`, `<name>/relu1`, `<name>/conv2`,
 * `<name>/bn2`, `<name>/relu2`, `<name>/flatten`, `<name>/fc1`, `<name>/fc`.
 * Without batch norm the convolutions get a bias instead.
 *
 * @param options Input shape, classes, width, batch norm, seed and name.
 * @returns An uncompiled `tf.LayersModel`.
 *
 * @example
 * ```ts
 * import { smallCnn } from "@centra/zoo/small-cnn";
 * import assert from "node:assert/strict";
 *
 * const model = smallCnn({ seed: 1 });
 * assert.deepEqual(model.inputs[0]!.shape, [null, 28, 28, 1]);
 * assert.deepEqual(model.outputs[0]!.shape, [null, 10]);
 * model.dispose();
 * ```
 */
export function smallCnn(options: SmallCnnOptions = {}): tf.LayersModel {
  const where = "smallCnn";
  const batchNorm = options.batchNorm ?? true;
  if (typeof batchNorm !== "boolean") {
    throw new TypeError(
      `${where}: batchNorm must be a boolean, got ${batchNorm}`,
    );
  }
  const opts = resolve(where, options, {
    inputShape: [28, 28, 1],
    numClasses: 10,
    name: "small_cnn",
  });
  const b = new Builder(opts);
  const input = b.input();
  let x = input;
  [16, 32].forEach((c, i) => {
    const n = i + 1;
    x = b.conv(x, `conv${n}`, scaled(c, opts.width), 3, {
      strides: 2,
      bias: !batchNorm,
    });
    if (batchNorm) x = b.bn(x, `bn${n}`);
    x = b.relu(x, `relu${n}`);
  });
  x = b.flatten(x);
  x = b.dense(x, "fc1", scaled(64, opts.width), {
    activation: "relu",
    init: "heFanIn",
  });
  return b.model(input, b.dense(x, "fc", opts.numClasses));
}
