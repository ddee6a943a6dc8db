// Private building blocks shared by the architectures: option checks, layer
// naming, per-layer seeds and the handful of layer shapes every net uses.
import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";
import { GroupedConv2D, type Initializer } from "./grouped_conv2d.ts";

type Sym = tf.SymbolicTensor;

/** Options every architecture accepts. */
export interface CommonOptions {
  inputShape?: readonly number[];
  numClasses?: number;
  width?: number;
  seed?: number;
  name?: string;
}

/** The checked form of {@linkcode CommonOptions}. */
export interface Resolved {
  inputShape: number[];
  numClasses: number;
  width: number;
  seed: number | undefined;
  name: string;
}

// Tests build full-size models only to count their parameters; zero-filled
// weights cost no time or memory (the pages are never touched).
let zeroInit = false;

/**
 * Runs `fn` with every initializer replaced by zeros. Private: for the
 * parameter-count tests of full-size models.
 */
export function withZeroInit<T>(fn: () => T): T {
  const before = zeroInit;
  zeroInit = true;
  try {
    return fn();
  } finally {
    zeroInit = before;
  }
}

/** Checks the options every architecture shares and fills in defaults. */
export function resolve(
  where: string,
  options: CommonOptions,
  defaults: { inputShape: readonly number[]; numClasses: number; name: string },
  rank = 3,
): Resolved {
  const inputShape = [...(options.inputShape ?? defaults.inputShape)];
  if (
    inputShape.length !== rank ||
    inputShape.some((d) => !Number.isInteger(d) || d < 1)
  ) {
    throw new RangeError(
      `${where}: inputShape must be ${rank} positive integers${
        rank === 3 ? " [height, width, channels]" : ""
      }, got [${inputShape}]`,
    );
  }
  const numClasses = options.numClasses ?? defaults.numClasses;
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(
      `${where}: numClasses must be a positive integer, got ${numClasses}`,
    );
  }
  const width = options.width ?? 1;
  if (!(typeof width === "number" && Number.isFinite(width) && width > 0)) {
    throw new RangeError(
      `${where}: width must be a positive finite number, got ${width}`,
    );
  }
  const seed = options.seed;
  if (seed !== undefined && !Number.isInteger(seed)) {
    throw new TypeError(`${where}: seed must be an integer, got ${seed}`);
  }
  const name = options.name ?? defaults.name;
  if (typeof name !== "string" || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new TypeError(
      `${where}: name must be letters, digits, "_", "." or "-", got "${name}"`,
    );
  }
  return { inputShape, numClasses, width, seed, name };
}

/**
 * Resolves the options of an architecture with an ImageNet and a CIFAR form
 * (`key` names the option that picks it, `"stem"` or `"head"`): ImageNet
 * defaults to 224x224x3 inputs and 1000 classes, CIFAR to 32x32x3 and 10.
 */
export function resolveVariant(
  where: string,
  key: string,
  variant: string | undefined,
  options: CommonOptions,
  name: string,
): Resolved & { cifar: boolean } {
  const v = variant ?? "imagenet";
  if (v !== "imagenet" && v !== "cifar") {
    throw new TypeError(
      `${where}: ${key} must be "imagenet" or "cifar", got "${v}"`,
    );
  }
  const cifar = v === "cifar";
  const opts = resolve(where, options, {
    inputShape: cifar ? [32, 32, 3] : [224, 224, 3],
    numClasses: cifar ? 10 : 1000,
    name,
  });
  return { ...opts, cifar };
}

/** Scales a channel count by the width multiplier, keeping at least 1. */
export function scaled(channels: number, width: number): number {
  return Math.max(1, Math.round(channels * width));
}

// FNV-1a over the seed and the layer name: a stable, non-zero seed per layer
// (tfjs treats seed 0 as "no seed" for normal initializers).
function layerSeed(seed: number, layer: string): number {
  let h = 0x811c9dc5;
  const s = `${seed}:${layer}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % 2147483646) + 1;
}

/** How a kernel is initialised. */
export type Init = "heFanOut" | "heFanIn" | "glorot" | "torchDense";

/** Builds layers named `<name>/<local>` with seeds derived from the names. */
export class Builder {
  readonly prefix: string;
  constructor(readonly opts: Resolved) {
    this.prefix = `${opts.name}/`;
  }

  id(local: string): string {
    return this.prefix + local;
  }

  init(kind: Init, local: string): Initializer {
    if (zeroInit) return tf.initializers.zeros();
    const seed = this.opts.seed === undefined
      ? undefined
      : layerSeed(this.opts.seed, local);
    const s = seed === undefined ? {} : { seed };
    switch (kind) {
      // Kaiming normal, as torchvision initialises convolutions.
      case "heFanOut":
        return tf.initializers.varianceScaling({
          scale: 2,
          mode: "fanOut",
          distribution: "normal",
          ...s,
        });
      case "heFanIn":
        return tf.initializers.heNormal(s);
      case "glorot":
        return tf.initializers.glorotUniform(s);
      // PyTorch's default for nn.Linear: U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
      case "torchDense":
        return tf.initializers.varianceScaling({
          scale: 1 / 3,
          mode: "fanIn",
          distribution: "uniform",
          ...s,
        });
    }
  }

  input(): Sym {
    return tf.input({ shape: this.opts.inputShape, name: this.id("input") });
  }

  conv(
    x: Sym,
    local: string,
    filters: number,
    kernelSize: number,
    o: { strides?: number; bias?: boolean; init?: Init; groups?: number } = {},
  ): Sym {
    const common = {
      filters,
      kernelSize,
      strides: o.strides ?? 1,
      padding: "same" as const,
      useBias: o.bias ?? false,
      kernelInitializer: this.init(o.init ?? "heFanOut", local),
      biasInitializer: tf.initializers.zeros(),
      name: this.id(local),
    };
    const groups = o.groups ?? 1;
    const layer = groups === 1
      ? tf.layers.conv2d(common)
      : new GroupedConv2D({ ...common, groups });
    return layer.apply(x) as Sym;
  }

  depthwise(x: Sym, local: string, o: { strides?: number } = {}): Sym {
    return tf.layers.depthwiseConv2d({
      kernelSize: 3,
      strides: o.strides ?? 1,
      padding: "same",
      useBias: false,
      depthwiseInitializer: this.init("heFanOut", local),
      name: this.id(local),
    }).apply(x) as Sym;
  }

  // PyTorch's BatchNorm2d defaults: momentum 0.1 (tfjs: 0.9), eps 1e-5.
  bn(x: Sym, local: string): Sym {
    return tf.layers.batchNormalization({
      axis: -1,
      momentum: 0.9,
      epsilon: 1e-5,
      name: this.id(local),
    }).apply(x) as Sym;
  }

  relu(x: Sym, local: string, maxValue?: number): Sym {
    return tf.layers.reLU({
      ...(maxValue === undefined ? {} : { maxValue }),
      name: this.id(local),
    }).apply(x) as Sym;
  }

  add(xs: Sym[], local: string): Sym {
    return tf.layers.add({ name: this.id(local) }).apply(xs) as Sym;
  }

  concat(xs: Sym[], local: string): Sym {
    return tf.layers.concatenate({ axis: -1, name: this.id(local) }).apply(
      xs,
    ) as Sym;
  }

  maxPool(x: Sym, local: string, poolSize: number, strides: number): Sym {
    return tf.layers.maxPooling2d({
      poolSize,
      strides,
      padding: "same",
      name: this.id(local),
    }).apply(x) as Sym;
  }

  avgPool(x: Sym, local: string, poolSize: number, strides: number): Sym {
    return tf.layers.averagePooling2d({
      poolSize,
      strides,
      padding: "valid",
      name: this.id(local),
    }).apply(x) as Sym;
  }

  globalPool(x: Sym, local = "pool"): Sym {
    return tf.layers.globalAveragePooling2d({ name: this.id(local) }).apply(
      x,
    ) as Sym;
  }

  flatten(x: Sym, local = "flatten"): Sym {
    return tf.layers.flatten({ name: this.id(local) }).apply(x) as Sym;
  }

  dropout(x: Sym, local: string, rate: number): Sym {
    const seed = this.opts.seed === undefined
      ? {}
      : { seed: layerSeed(this.opts.seed, local) };
    return tf.layers.dropout({ rate, name: this.id(local), ...seed }).apply(
      x,
    ) as Sym;
  }

  dense(
    x: Sym,
    local: string,
    units: number,
    o: { activation?: "relu"; init?: Init } = {},
  ): Sym {
    return tf.layers.dense({
      units,
      ...(o.activation === undefined ? {} : { activation: o.activation }),
      kernelInitializer: this.init(o.init ?? "torchDense", local),
      biasInitializer: tf.initializers.zeros(),
      name: this.id(local),
    }).apply(x) as Sym;
  }

  /**
   * Conv, batch norm and (unless `relu` is false) ReLU, named
   * `<base>_conv<index>`, `<base>_bn<index>`, `<base>_relu<index>`.
   */
  convBnRelu(
    x: Sym,
    base: string,
    filters: number,
    kernelSize: number,
    o: {
      index?: number;
      strides?: number;
      relu?: boolean | number;
      groups?: number;
    } = {},
  ): Sym {
    const { relu = true, index, ...conv } = o;
    const n = index === undefined ? "" : `${index}`;
    let y = this.conv(x, `${base}_conv${n}`, filters, kernelSize, conv);
    y = this.bn(y, `${base}_bn${n}`);
    if (relu === false) return y;
    return this.relu(
      y,
      `${base}_relu${n}`,
      typeof relu === "number" ? relu : undefined,
    );
  }

  /**
   * The end of a residual block (He et al.'s ResNet, ResNeXt): `y`, the
   * block's branch, plus the shortcut from its input `x`, then ReLU
   * (`<id>_add`, `<id>_relu`). The shortcut is `x` itself, or a strided 1x1
   * convolution with batch norm (`<id>_down_conv`, `<id>_down_bn`) where the
   * stride or the channel count changes.
   */
  residual(x: Sym, y: Sym, id: string, stride: number): Sym {
    const out = y.shape[3]!;
    const shortcut = stride !== 1 || x.shape[3] !== out
      ? this.convBnRelu(x, `${id}_down`, out, 1, {
        strides: stride,
        relu: false,
      })
      : x;
    return this.relu(this.add([y, shortcut], `${id}_add`), `${id}_relu`);
  }

  model(input: Sym, output: Sym): tf.LayersModel {
    return tf.model({ inputs: input, outputs: output, name: this.opts.name });
  }
}
