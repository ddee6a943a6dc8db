import type * as tf from "@tensorflow/tfjs";
import { Builder, resolveVariant, scaled } from "./_layers.ts";

/** Options of the ResNet builders. */
export interface ResNetOptions {
  /**
   * `"imagenet"` (default): 7x7 stride-2 convolution and 3x3 max-pool, as in
   * He et al. and torchvision; `"cifar"`: one 3x3 stride-1 convolution and no
   * pooling, for 32x32 inputs (the GC paper's CIFAR-100 models).
   */
  stem?: "imagenet" | "cifar";
  /** `[height, width, channels]`. Default `[224, 224, 3]`, or `[32, 32, 3]` with the CIFAR stem. */
  inputShape?: readonly number[];
  /** Output units (logits, no softmax). Default 1000, or 10 with the CIFAR stem. */
  numClasses?: number;
  /** Multiplies every channel count (rounded, at least 1). Default 1. */
  width?: number;
  /** Seed for the initial weights; without one they differ per build. */
  seed?: number;
  /** Model name and prefix of every layer name. Default `"resnet<depth>"`. */
  name?: string;
}

type Sym = tf.SymbolicTensor;

const STAGE_WIDTHS = [64, 128, 256, 512] as const;

function basicBlock(
  b: Builder,
  x: Sym,
  id: string,
  planes: number,
  stride: number,
): Sym {
  let y = b.convBnRelu(x, id, planes, 3, { index: 1, strides: stride });
  y = b.convBnRelu(y, id, planes, 3, { index: 2, relu: false });
  return b.residual(x, y, id, stride);
}

// torchvision's "ResNet v1.5": the stride sits on the 3x3 convolution.
function bottleneck(
  b: Builder,
  x: Sym,
  id: string,
  planes: number,
  stride: number,
): Sym {
  let y = b.convBnRelu(x, id, planes, 1, { index: 1 });
  y = b.convBnRelu(y, id, planes, 3, { index: 2, strides: stride });
  y = b.convBnRelu(y, id, planes * 4, 1, { index: 3, relu: false });
  return b.residual(x, y, id, stride);
}

function resnet(
  depth: 18 | 34 | 50 | 101,
  blocks: readonly number[],
  kind: "basic" | "bottleneck",
  options: ResNetOptions,
): tf.LayersModel {
  const where = `resnet${depth}`;
  const opts = resolveVariant(where, "stem", options.stem, options, where);
  const cifar = opts.cifar;
  const b = new Builder(opts);
  const input = b.input();
  let x = cifar
    ? b.convBnRelu(input, "stem", scaled(64, opts.width), 3)
    : b.convBnRelu(input, "stem", scaled(64, opts.width), 7, { strides: 2 });
  if (!cifar) x = b.maxPool(x, "stem_pool", 3, 2);
  const block = kind === "basic" ? basicBlock : bottleneck;
  blocks.forEach((n, s) => {
    for (let i = 0; i < n; i++) {
      const stride = s > 0 && i === 0 ? 2 : 1;
      const planes = scaled(STAGE_WIDTHS[s]!, opts.width);
      x = block(b, x, `stage${s + 1}_block${i}`, planes, stride);
    }
  });
  x = b.globalPool(x);
  return b.model(input, b.dense(x, "fc", opts.numClasses));
}

/**
 * ResNet-18 (He, Zhang, Ren, Sun, "Deep Residual Learning for Image
 * Recognition", CVPR 2016, arXiv:1512.03385): basic blocks `[2, 2, 2, 2]`.
 *
 * Layers are named `<name>/stem_conv`, `<name>/stage1_block0_conv1`,
 * `<name>/stage2_block0_down_conv`, ..., `<name>/fc`. Convolutions have no
 * bias and are followed by batch norm; the head is global average pooling
 * and a Dense layer producing logits. With the ImageNet stem and 1000
 * classes it has 11,689,512 trainable parameters, as torchvision's.
 *
 * @param options Stem, input shape, classes, width, seed and name.
 * @returns An uncompiled `tf.LayersModel`.
 *
 * @example A small CIFAR ResNet-18
 * ```ts
 * import { resnet18 } from "@centra/zoo/resnet";
 * import assert from "node:assert/strict";
 *
 * const model = resnet18({ stem: "cifar", width: 1 / 16, numClasses: 10 });
 * assert.deepEqual(model.outputs[0]!.shape, [null, 10]);
 * model.dispose();
 * ```
 */
export function resnet18(options: ResNetOptions = {}): tf.LayersModel {
  return resnet(18, [2, 2, 2, 2], "basic", options);
}

/**
 * ResNet-34 (He et al. 2016, arXiv:1512.03385): basic blocks
 * `[3, 4, 6, 3]`; 21,797,672 trainable parameters at ImageNet size. Options
 * and layer names as {@linkcode resnet18}.
 *
 * @param options Stem, input shape, classes, width, seed and name.
 * @returns An uncompiled `tf.LayersModel`.
 *
 * @example
 * ```ts
 * import { resnet34 } from "@centra/zoo/resnet";
 * import assert from "node:assert/strict";
 *
 * const model = resnet34({ stem: "cifar", width: 1 / 16 });
 * assert.equal(model.name, "resnet34");
 * model.dispose();
 * ```
 */
export function resnet34(options: ResNetOptions = {}): tf.LayersModel {
  return resnet(34, [3, 4, 6, 3], "basic", options);
}

/**
 * ResNet-50 (He et al. 2016, arXiv:1512.03385): bottleneck blocks
 * `[3, 4, 6, 3]` with expansion 4 and the stride on the 3x3 convolution
 * (torchvision's "v1.5"); 25,557,032 trainable parameters at ImageNet size.
 * Options and layer names as {@linkcode resnet18}, with a third convolution
 * per block (`..._conv3`).
 *
 * @param options Stem, input shape, classes, width, seed and name.
 * @returns An uncompiled `tf.LayersModel`.
 *
 * @example
 * ```ts
 * import { resnet50 } from "@centra/zoo/resnet";
 * import assert from "node:assert/strict";
 *
 * const model = resnet50({ stem: "cifar", width: 1 / 16, numClasses: 100 });
 * assert.deepEqual(model.outputs[0]!.shape, [null, 100]);
 * model.dispose();
 * ```
 */
export function resnet50(options: ResNetOptions = {}): tf.LayersModel {
  return resnet(50, [3, 4, 6, 3], "bottleneck", options);
}

/**
 * ResNet-101 (He et al. 2016, arXiv:1512.03385): bottleneck blocks
 * `[3, 4, 23, 3]`; 44,549,160 trainable parameters at ImageNet size.
 * Options and layer names as {@linkcode resnet50}.
 *
 * @param options Stem, input shape, classes, width, seed and name.
 * @returns An uncompiled `tf.LayersModel`.
 *
 * @example
 * ```ts
 * import { resnet101 } from "@centra/zoo/resnet";
 * import assert from "node:assert/strict";
 *
 * const model = resnet101({ stem: "cifar", width: 1 / 16, name: "r101" });
 * assert.ok(model.layers.some((l) => l.name === "r101/stage3_block22_conv3"));
 * model.dispose();
 * ```
 */
export function resnet101(options: ResNetOptions = {}): tf.LayersModel {
  return resnet(101, [3, 4, 23, 3], "bottleneck", options);
}
