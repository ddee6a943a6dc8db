import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";

/** Options of {@linkcode GroupedConv2D}. */
export interface GroupedConv2DArgs {
  /** Output channels; a multiple of `groups`. */
  filters: number;
  /** Square kernel size. */
  kernelSize: number;
  /** Channel groups; the input channels must be a multiple. */
  groups: number;
  /** Square stride. Default 1. */
  strides?: number;
  /** Default `"same"`. */
  padding?: "same" | "valid";
  /** Whether to add a bias. Default `false`. */
  useBias?: boolean;
  /** Kernel initializer. Default Glorot uniform. */
  kernelInitializer?: Initializer;
  /** Bias initializer. Default zeros. */
  biasInitializer?: Initializer;
  /** Layer name. */
  name?: string;
  /** Whether the weights are trainable. Default `true`. */
  trainable?: boolean;
}

type ConfigDict = tf.serialization.ConfigDict;

/** A tfjs initializer (tfjs-layers does not export the class itself). */
export type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

function initializerFrom(
  value: unknown,
  fallback: () => Initializer,
): Initializer {
  if (
    value !== null && typeof value === "object" &&
    typeof (value as Initializer).apply === "function"
  ) return value as Initializer;
  if (value !== null && typeof value === "object" && "className" in value) {
    const { className, config } = value as {
      className: string;
      config: ConfigDict;
    };
    const entry = tf.serialization.SerializationMap.getMap()
      .classNameMap[className];
    if (entry === undefined) {
      throw new TypeError(`GroupedConv2D: unknown initializer "${className}"`);
    }
    const [cls, fromConfig] = entry;
    return fromConfig(cls, config) as Initializer;
  }
  return fallback();
}

let unnamed = 0;

function outputLength(n: number | null, k: number, s: number, pad: string) {
  if (n === null) return null;
  return pad === "same" ? Math.ceil(n / s) : Math.ceil((n - k + 1) / s);
}

/**
 * A 2-D convolution whose channels are split into `groups` independent
 * convolutions (PyTorch's `Conv2d(groups=g)`, Keras's `Conv2D(groups=g)`),
 * which tfjs-layers lacks; ResNeXt's aggregated transform is one.
 *
 * The kernel has Keras's layout `[k, k, inChannels / groups, filters]`: the
 * output axis is last and each output unit's fan-in is the other three axes,
 * so Gradient Centralization's default axes are right for it. Output unit
 * `j` reads the input channels of group `floor(j / (filters / groups))`.
 * Registered for serialization as `"centra>GroupedConv2D"`, so saved models
 * load once this module is imported.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { GroupedConv2D } from "@centra/zoo/grouped-conv2d";
 * import assert from "node:assert/strict";
 *
 * const layer = new GroupedConv2D({ filters: 4, kernelSize: 3, groups: 2 });
 * const y = layer.apply(tf.ones([1, 5, 5, 6])) as tf.Tensor;
 * assert.deepEqual(y.shape, [1, 5, 5, 4]);
 * assert.deepEqual(layer.getWeights()[0]!.shape, [3, 3, 3, 4]);
 * ```
 */
export class GroupedConv2D extends tf.layers.Layer {
  /** The name tfjs serializes this layer under. */
  static className = "centra>GroupedConv2D";
  /** Output channels. */
  readonly filters: number;
  /** Square kernel size. */
  readonly kernelSize: number;
  /** Channel groups. */
  readonly groups: number;
  /** Square stride. */
  readonly strides: number;
  /** Padding mode. */
  readonly padding: "same" | "valid";
  /** Whether a bias is added. */
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  /** Builds the layer; weights are made on first use. */
  constructor(args: GroupedConv2DArgs) {
    // tfjs would derive a default name from the class name, whose ">" is
    // not valid in a variable name.
    super({
      name: args.name ?? `grouped_conv2d_${++unnamed}`,
      ...(args.trainable === undefined ? {} : { trainable: args.trainable }),
    });
    const { filters, kernelSize, groups, strides = 1 } = args;
    for (
      const [key, v] of Object.entries({ filters, kernelSize, groups, strides })
    ) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(
          `GroupedConv2D: ${key} must be a positive integer, got ${v}`,
        );
      }
    }
    if (filters % groups !== 0) {
      throw new RangeError(
        `GroupedConv2D: filters (${filters}) must be a multiple of groups (${groups})`,
      );
    }
    const padding = args.padding ?? "same";
    if (padding !== "same" && padding !== "valid") {
      throw new TypeError(
        `GroupedConv2D: padding must be "same" or "valid", got "${padding}"`,
      );
    }
    this.filters = filters;
    this.kernelSize = kernelSize;
    this.groups = groups;
    this.strides = strides;
    this.padding = padding;
    this.useBias = args.useBias ?? false;
    this.kernelInitializer = initializerFrom(
      args.kernelInitializer,
      () => tf.initializers.glorotUniform({}),
    );
    this.biasInitializer = initializerFrom(
      args.biasInitializer,
      () => tf.initializers.zeros(),
    );
    this.inputSpec = [{ ndim: 4 }];
  }

  /** Creates the kernel (and bias) for this input shape. */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape =
      (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[3];
    if (typeof channels !== "number" || channels % this.groups !== 0) {
      throw new RangeError(
        `GroupedConv2D: input channels (${channels}) must be a multiple of groups (${this.groups})`,
      );
    }
    this.kernel = this.addWeight(
      "kernel",
      [this.kernelSize, this.kernelSize, channels / this.groups, this.filters],
      "float32",
      this.kernelInitializer,
    );
    if (this.useBias) {
      this.bias = this.addWeight(
        "bias",
        [this.filters],
        "float32",
        this.biasInitializer,
      );
    }
    this.inputSpec = [{ ndim: 4, axes: { [-1]: channels } }];
    this.built = true;
  }

  /** Shape of the output for an input shape. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape =
      (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const k = this.kernelSize, s = this.strides, p = this.padding;
    return [
      shape[0] ?? null,
      outputLength(shape[1] ?? null, k, s, p),
      outputLength(shape[2] ?? null, k, s, p),
      this.filters,
    ];
  }

  /** Runs the grouped convolution. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const kernel = this.kernel!.read() as tf.Tensor4D;
      const g = this.groups;
      const xs = (g === 1 ? [x] : tf.split(x, g, 3)) as tf.Tensor4D[];
      const ks = (g === 1 ? [kernel] : tf.split(kernel, g, 3)) as tf.Tensor4D[];
      const ys = xs.map((xi, i) =>
        tf.conv2d(xi, ks[i]!, this.strides, this.padding)
      );
      const y = ys.length === 1 ? ys[0]! : tf.concat(ys, 3);
      return this.bias === null ? y : tf.add(y, this.bias.read());
    });
  }

  /** The layer's configuration, for serialization. */
  override getConfig(): ConfigDict {
    const init = (i: Initializer): ConfigDict => ({
      className: i.getClassName(),
      config: i.getConfig(),
    });
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      groups: this.groups,
      strides: this.strides,
      padding: this.padding,
      useBias: this.useBias,
      kernelInitializer: init(this.kernelInitializer),
      biasInitializer: init(this.biasInitializer),
    };
  }
}

tf.serialization.registerClass(GroupedConv2D);
