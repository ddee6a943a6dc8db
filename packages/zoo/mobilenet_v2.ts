import type * as tf from "@tensorflow/tfjs";
import { Builder, resolveVariant } from "./_layers.ts";

/** Options of {@linkcode mobilenetV2}. */
export interface MobileNetV2Options {
  /**
   * `"imagenet"` (default): the stride-2 stem of Sandler et al.; `"cifar"`:
   * stride 1 in the stem and in the second stage, for 32x32 inputs (the GC
   * paper's CIFAR code).
   */
  stem?: "imagenet" | "cifar";
  /** `[height, width, channels]`. Default `[224, 224, 3]`, or `[32, 32, 3]` with the CIFAR stem. */
  inputShape?: readonly number[];
  /** Output units (logits). Default 1000, or 10 with the CIFAR stem. */
  numClasses?: number;
  /**
   * The width multiplier α: channel counts become `α·c` rounded to a
   * multiple of 8 (never below 8 or 90% of `α·c`); the last convolution
   * keeps 1280 channels unless α > 1. Default 1.
   */
  width?: number;
  /** Seed for the initial weights and dropout; without one they differ per build. */
  seed?: number;
  /** Model name and prefix of every layer name. Default `"mobilenet_v2"`. */
  name?: string;
}

// Expansion t, output channels c, repeats n, first stride s (Sandler et al., Table 2).
const SETTINGS = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
] as const;

function divisible(v: number, divisor = 8): number {
  const rounded = Math.max(
    divisor,
    Math.floor((v + divisor / 2) / divisor) * divisor,
  );
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

/**
 * MobileNetV2 (Sandler, Howard, Zhu, Zhmoginov, Chen, "MobileNetV2: Inverted
 * Residuals and Linear Bottlenecks", CVPR 2018, arXiv:1801.04381).
 *
 * A 3x3 stride-2 stem of 32 channels, then 17 inverted-residual blocks: a
 * 1x1 expansion (omitted when t = 1), a 3x3 depthwise convolution, each with
 * batch norm and ReLU6, and a linear 1x1 projection with batch norm, plus
 * the identity when stride is 1 and channels match. A 1x1 convolution to
 * 1280 channels, global average pooling, dropout 0.2 and a Dense layer give
 * logits. Layers are named `<name>/block1_expand_conv`,
 * `<name>/block1_dwconv` (a `DepthwiseConv2D`, whose kernel is
 * `[3, 3, channels, 1]`), `<name>/block1_project_conv`, ...,
 * `<name>/head_conv`, `<name>/fc`. At 1000 classes it has 3,504,872
 * trainable parameters, as torchvision's (and Keras's trainable count).
 *
 * @param options Stem, input shape, classes, width, seed and name.
 * @returns An uncompiled `tf.LayersModel`.
 *
 * @example
 * ```ts
 * import { mobilenetV2 } from "@centra/zoo/mobilenet-v2";
 * import assert from "node:assert/strict";
 *
 * const model = mobilenetV2({ stem: "cifar", width: 0.25 });
 * const dw = model.getLayer("mobilenet_v2/block1_dwconv");
 * assert.deepEqual(dw.getWeights()[0]!.shape, [3, 3, 8, 1]);
 * model.dispose();
 * ```
 */
export function mobilenetV2(options: MobileNetV2Options = {}): tf.LayersModel {
  const where = "mobilenetV2";
  const opts = resolveVariant(
    where,
    "stem",
    options.stem,
    options,
    "mobilenet_v2",
  );
  const cifar = opts.cifar;
  const alpha = opts.width;
  const b = new Builder(opts);
  const input = b.input();
  let x = b.convBnRelu(input, "stem", divisible(32 * alpha), 3, {
    strides: cifar ? 1 : 2,
    relu: 6,
  });
  let block = 0;
  SETTINGS.forEach(([t, c, n, s], stage) => {
    const out = divisible(c * alpha);
    for (let i = 0; i < n; i++) {
      block += 1;
      const id = `block${block}`;
      const stride = i > 0 || (cifar && stage === 1) ? 1 : s;
      const inChannels = x.shape[3]!;
      let y = x;
      if (t !== 1) {
        y = b.convBnRelu(y, `${id}_expand`, inChannels * t, 1, { relu: 6 });
      }
      y = b.depthwise(y, `${id}_dwconv`, { strides: stride });
      y = b.relu(b.bn(y, `${id}_dw_bn`), `${id}_dw_relu`, 6);
      y = b.convBnRelu(y, `${id}_project`, out, 1, { relu: false });
      x = stride === 1 && inChannels === out ? b.add([x, y], `${id}_add`) : y;
    }
  });
  x = b.convBnRelu(x, "head", divisible(1280 * Math.max(1, alpha)), 1, {
    relu: 6,
  });
  x = b.dropout(b.globalPool(x), "drop", 0.2);
  return b.model(input, b.dense(x, "fc", opts.numClasses));
}
