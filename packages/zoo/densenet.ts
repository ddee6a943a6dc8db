import type * as tf from "@tensorflow/tfjs";
import { Builder, resolveVariant, scaled } from "./_layers.ts";

/** Options of {@linkcode densenet121}. */
export interface DenseNetOptions {
  /**
   * `"imagenet"` (default): 7x7 stride-2 convolution, batch norm, ReLU and
   * 3x3 max-pool, as torchvision; `"cifar"`: one 3x3 convolution and no
   * pooling, as the GC paper's CIFAR code.
   */
  stem?: "imagenet" | "cifar";
  /** `[height, width, channels]`. Default `[224, 224, 3]`, or `[32, 32, 3]` with the CIFAR stem. */
  inputShape?: readonly number[];
  /** Output units (logits). Default 1000, or 10 with the CIFAR stem. */
  numClasses?: number;
  /** Multiplies the growth rate (32) and so every channel count. Default 1. */
  width?: number;
  /** Seed for the initial weights; without one they differ per build. */
  seed?: number;
  /** Model name and prefix of every layer name. Default `"densenet121"`. */
  name?: string;
}

const BLOCKS = [6, 12, 24, 16] as const;

/**
 * DenseNet-121 (Huang, Liu, van der Maaten, Weinberger, "Densely Connected
 * Convolutional Networks", CVPR 2017, arXiv:1608.06993): growth rate 32,
 * bottleneck width 4x growth, compression 0.5, dense blocks of 6, 12, 24 and
 * 16 layers.
 *
 * Every dense layer is batch norm, ReLU, 1x1 convolution, batch norm, ReLU,
 * 3x3 convolution, concatenated to its input (layers
 * `<name>/block1_layer0_bn1` ... `<name>/block1_layer0_concat`); transitions
 * are batch norm, ReLU, 1x1 convolution halving the channels and 2x2 average
 * pooling (`<name>/transition1_conv`). A final batch norm and ReLU, global
 * average pooling and a Dense layer give logits. With the ImageNet stem and
 * 1000 classes it has 7,978,856 trainable parameters, as torchvision's.
 *
 * @param options Stem, input shape, classes, width, seed and name.
 * @returns An uncompiled `tf.LayersModel`.
 *
 * @example
 * ```ts
 * import { densenet121 } from "@centra/zoo/densenet";
 * import assert from "node:assert/strict";
 *
 * const model = densenet121({ stem: "cifar", width: 1 / 8 });
 * assert.deepEqual(model.outputs[0]!.shape, [null, 10]);
 * model.dispose();
 * ```
 */
export function densenet121(options: DenseNetOptions = {}): tf.LayersModel {
  const where = "densenet121";
  const opts = resolveVariant(where, "stem", options.stem, options, where);
  const cifar = opts.cifar;
  const growth = scaled(32, opts.width);
  const b = new Builder(opts);
  const input = b.input();
  let x: tf.SymbolicTensor;
  if (cifar) {
    x = b.conv(input, "stem_conv", 2 * growth, 3);
  } else {
    x = b.convBnRelu(input, "stem", 2 * growth, 7, { strides: 2 });
    x = b.maxPool(x, "stem_pool", 3, 2);
  }
  BLOCKS.forEach((n, k) => {
    for (let i = 0; i < n; i++) {
      const id = `block${k + 1}_layer${i}`;
      let y = b.relu(b.bn(x, `${id}_bn1`), `${id}_relu1`);
      y = b.conv(y, `${id}_conv1`, 4 * growth, 1);
      y = b.relu(b.bn(y, `${id}_bn2`), `${id}_relu2`);
      y = b.conv(y, `${id}_conv2`, growth, 3);
      x = b.concat([x, y], `${id}_concat`);
    }
    if (k < BLOCKS.length - 1) {
      const id = `transition${k + 1}`;
      const channels = Math.floor(x.shape[3]! / 2);
      x = b.relu(b.bn(x, `${id}_bn`), `${id}_relu`);
      x = b.conv(x, `${id}_conv`, channels, 1);
      x = b.avgPool(x, `${id}_pool`, 2, 2);
    }
  });
  x = b.relu(b.bn(x, "final_bn"), "final_relu");
  x = b.globalPool(x);
  return b.model(input, b.dense(x, "fc", opts.numClasses));
}
