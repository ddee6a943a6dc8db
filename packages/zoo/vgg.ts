import type * as tf from "@tensorflow/tfjs";
import { Builder, resolveVariant, scaled } from "./_layers.ts";

/** Options of the VGG builders. */
export interface VggOptions {
  /**
   * `"imagenet"` (default): flatten, two Dense layers of 4096 units with ReLU
   * and dropout 0.5, then the classifier, as torchvision; `"cifar"`: flatten
   * and the classifier only, as the GC paper's CIFAR code.
   */
  head?: "imagenet" | "cifar";
  /** Batch norm after every convolution. Default `true`. */
  batchNorm?: boolean;
  /** `[height, width, channels]`. Default `[224, 224, 3]`, or `[32, 32, 3]` with the CIFAR head. */
  inputShape?: readonly number[];
  /** Output units (logits). Default 1000, or 10 with the CIFAR head. */
  numClasses?: number;
  /** Multiplies every channel and hidden-unit count. Default 1. */
  width?: number;
  /** Seed for the initial weights and dropout; without one they differ per build. */
  seed?: number;
  /** Model name and prefix of every layer name. Default `"vgg<depth>"`. */
  name?: string;
}

// Convolutions per stage; every stage ends with a 2x2 max-pool.
const CONFIGS = {
  11: [1, 1, 2, 2, 2],
  16: [2, 2, 3, 3, 3],
} as const;
const STAGE_WIDTHS = [64, 128, 256, 512, 512] as const;

function vgg(depth: 11 | 16, options: VggOptions): tf.LayersModel {
  const where = `vgg${depth}`;
  const opts = resolveVariant(where, "head", options.head, options, where);
  const cifar = opts.cifar;
  const batchNorm = options.batchNorm ?? true;
  if (typeof batchNorm !== "boolean") {
    throw new TypeError(
      `${where}: batchNorm must be a boolean, got ${batchNorm}`,
    );
  }
  const b = new Builder(opts);
  const input = b.input();
  let x = input;
  CONFIGS[depth].forEach((n, s) => {
    const id = `stage${s + 1}`;
    const filters = scaled(STAGE_WIDTHS[s]!, opts.width);
    for (let i = 1; i <= n; i++) {
      x = b.conv(x, `${id}_conv${i}`, filters, 3, { bias: true });
      if (batchNorm) x = b.bn(x, `${id}_bn${i}`);
      x = b.relu(x, `${id}_relu${i}`);
    }
    x = b.maxPool(x, `${id}_pool`, 2, 2);
  });
  x = b.flatten(x);
  if (!cifar) {
    const hidden = scaled(4096, opts.width);
    x = b.dropout(
      b.dense(x, "fc1", hidden, { activation: "relu" }),
      "drop1",
      0.5,
    );
    x = b.dropout(
      b.dense(x, "fc2", hidden, { activation: "relu" }),
      "drop2",
      0.5,
    );
  }
  return b.model(input, b.dense(x, "fc", opts.numClasses));
}

/**
 * VGG-11 (Simonyan, Zisserman, "Very Deep Convolutional Networks for
 * Large-Scale Image Recognition", ICLR 2015, arXiv:1409.1556), configuration
 * A, with batch norm by default (torchvision's `vgg11_bn`).
 *
 * 3x3 convolutions with bias in five stages (64, 128, 256, 512, 512
 * channels), each closed by a 2x2 max-pool; layers are named
 * `<name>/stage1_conv1`, `<name>/stage1_bn1`, ..., `<name>/fc1`, `<name>/fc`.
 * The ImageNet head flattens the last feature map, so its size (and the
 * parameter count) depends on the input size; at 224x224 with 1000 classes
 * it has 132,868,840 trainable parameters, as torchvision's.
 *
 * @param options Head, batch norm, input shape, classes, width, seed, name.
 * @returns An uncompiled `tf.LayersModel`.
 *
 * @example
 * ```ts
 * import { vgg11 } from "@centra/zoo/vgg";
 * import assert from "node:assert/strict";
 *
 * const model = vgg11({ head: "cifar", width: 1 / 16, numClasses: 100 });
 * assert.deepEqual(model.outputs[0]!.shape, [null, 100]);
 * model.dispose();
 * ```
 */
export function vgg11(options: VggOptions = {}): tf.LayersModel {
  return vgg(11, options);
}

/**
 * VGG-16 (Simonyan, Zisserman 2015, arXiv:1409.1556), configuration D, with
 * batch norm by default (torchvision's `vgg16_bn`): 138,365,992 trainable
 * parameters at 224x224 with 1000 classes. Options and layer names as
 * {@linkcode vgg11}.
 *
 * @param options Head, batch norm, input shape, classes, width, seed, name.
 * @returns An uncompiled `tf.LayersModel`.
 *
 * @example
 * ```ts
 * import { vgg16 } from "@centra/zoo/vgg";
 * import assert from "node:assert/strict";
 *
 * const model = vgg16({ head: "cifar", width: 1 / 16, batchNorm: false });
 * assert.equal(model.layers.filter((l) => l.name.includes("_conv")).length, 13);
 * model.dispose();
 * ```
 */
export function vgg16(options: VggOptions = {}): tf.LayersModel {
  return vgg(16, options);
}
