import type * as tf from "@tensorflow/tfjs";
import { Builder, resolve, scaled } from "./_layers.ts";

/** Options of {@linkcode resnext29}. */
export interface ResNeXtOptions {
  /** Groups of the 3x3 convolution in every block. Default 4 (the GC paper's 4x64d). */
  cardinality?: number;
  /** Channels per group in the first stage, doubled at each stage. Default 64. */
  bottleneckWidth?: number;
  /** `[height, width, channels]`. Default `[32, 32, 3]`. */
  inputShape?: readonly number[];
  /** Output units (logits). Default 10. */
  numClasses?: number;
  /** Multiplies the stem's and the groups' channel counts. Default 1. */
  width?: number;
  /** Seed for the initial weights; without one they differ per build. */
  seed?: number;
  /** Model name and prefix of every layer name. Default `"resnext29"`. */
  name?: string;
}

/**
 * ResNeXt-29 for CIFAR (Xie, Girshick, Dollár, Tu, He, "Aggregated Residual
 * Transformations for Deep Neural Networks", CVPR 2017, arXiv:1611.05431),
 * as the Gradient Centralization paper trains it ("ResNeXt29 4x64d").
 *
 * A 3x3 stem convolution with 64 channels, then three stages of three
 * bottleneck blocks (strides 1, 2, 2). In stage `s` (0-based) a block
 * reduces to `cardinality * bottleneckWidth * 2^s` channels with a 1x1
 * convolution, applies a 3x3 `GroupedConv2D` (see `@centra/zoo/grouped-conv2d`) with `cardinality`
 * groups, and expands to twice that; a 1x1 projection shortcut is used when
 * the shape changes. Global average pooling and a Dense layer give logits.
 * Layers are named `<name>/stage1_block0_conv2` (the grouped one) and so on,
 * as in ResNet.
 *
 * @param options Cardinality, bottleneck width, input shape, classes, width,
 * seed and name.
 * @returns An uncompiled `tf.LayersModel`.
 *
 * @example
 * ```ts
 * import { resnext29 } from "@centra/zoo/resnext";
 * import assert from "node:assert/strict";
 *
 * const model = resnext29({ cardinality: 2, bottleneckWidth: 4, width: 0.5 });
 * const grouped = model.getLayer("resnext29/stage1_block0_conv2");
 * assert.deepEqual(grouped.getWeights()[0]!.shape, [3, 3, 2, 4]);
 * model.dispose();
 * ```
 */
export function resnext29(options: ResNeXtOptions = {}): tf.LayersModel {
  const where = "resnext29";
  const cardinality = options.cardinality ?? 4;
  const bottleneckWidth = options.bottleneckWidth ?? 64;
  for (const [key, v] of Object.entries({ cardinality, bottleneckWidth })) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(
        `${where}: ${key} must be a positive integer, got ${v}`,
      );
    }
  }
  const opts = resolve(where, options, {
    inputShape: [32, 32, 3],
    numClasses: 10,
    name: where,
  });
  const b = new Builder(opts);
  const input = b.input();
  let x = b.convBnRelu(input, "stem", scaled(64, opts.width), 3);
  for (let s = 0; s < 3; s++) {
    const groupWidth = cardinality *
      scaled(bottleneckWidth * 2 ** s, opts.width);
    const out = 2 * groupWidth;
    for (let i = 0; i < 3; i++) {
      const id = `stage${s + 1}_block${i}`;
      const stride = s > 0 && i === 0 ? 2 : 1;
      let y = b.convBnRelu(x, id, groupWidth, 1, { index: 1 });
      y = b.convBnRelu(y, id, groupWidth, 3, {
        index: 2,
        strides: stride,
        groups: cardinality,
      });
      y = b.convBnRelu(y, id, out, 1, { index: 3, relu: false });
      x = b.residual(x, y, id, stride);
    }
  }
  x = b.globalPool(x);
  return b.model(input, b.dense(x, "fc", opts.numClasses));
}
