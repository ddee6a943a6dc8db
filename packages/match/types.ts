/**
 * How a weight tensor's elements belong to output units.
 *
 * - `"output_last"`: the last axis indexes output units and every other axis
 *   is the unit's fan-in: Dense `[in, out]`, ConvND `[...k, in, out]`,
 *   SeparableConv2D's pointwise kernel, RNN kernels `[in, units * gates]`
 *   and recurrent kernels `[units, units * gates]`.
 * - `"output_second_last"`: axis -2 indexes output units: Conv2DTranspose
 *   `[kh, kw, out, in]`, Conv3DTranspose `[kd, kh, kw, out, in]`.
 * - `"depthwise"`: the last two axes (input channel, multiplier) index output
 *   channels and only the spatial axes are fan-in: DepthwiseConv2D and
 *   SeparableConv2D depthwise kernels `[kh, kw, in, mult]`.
 * - `"embedding"`: an Embedding table `[vocab, dim]`; read as a Dense layer
 *   on one-hot inputs its output axis is the last (dim) and its fan-in is the
 *   vocabulary. Not centralized unless asked for.
 * - `"none"`: never centralized: rank-0 and rank-1 tensors (biases, norm
 *   gammas and betas, moving statistics) and PReLU's elementwise `alpha`.
 * - `"unknown"`: a weight of a layer class this package does not know.
 */
export type Layout =
  | "output_last"
  | "output_second_last"
  | "depthwise"
  | "embedding"
  | "none"
  | "unknown";

/** Layouts of a layer class's weights, keyed by role (`"kernel"`, ...). */
export type RoleLayouts = Readonly<Record<string, Layout>>;

/** What `describeParams` says about one variable. */
export interface ParamInfo {
  /**
   * The variable's name, the key of this parameter in `Params` (for a
   * LayersModel, `model.trainableWeights[i].name`, which is also the name of
   * the `tf.Variable` it reads). tfjs appends `_1`, `_2`, ... when a name is
   * already taken, as it is for a model loaded beside the one it was saved
   * from.
   */
  readonly name: string;
  /** The name before tfjs made it unique: the same for a saved and a loaded model. */
  readonly originalName: string;
  /** The name of the layer that owns the variable. */
  readonly layerName: string;
  /**
   * The layers that enclose the variable, outermost first, ending with its
   * owner: `["backbone", "conv1"]` for a layer of a nested model,
   * `["bidirectional", "forward_lstm"]` for a wrapped layer. The model
   * itself is not part of it.
   */
  readonly layerPath: readonly string[];
  /** The owning layer's class name, as `layer.getClassName()` reports it. */
  readonly layerClass: string;
  /**
   * What the variable is to its layer: the last part of its name, such as
   * `"kernel"`, `"bias"`, `"gamma"`, `"beta"`, `"moving_mean"`,
   * `"moving_variance"`, `"depthwise_kernel"`, `"pointwise_kernel"`,
   * `"recurrent_kernel"`, `"embeddings"` or `"alpha"`.
   */
  readonly role: string;
  /** The variable's shape. */
  readonly shape: readonly number[];
  /** Whether the model trains it (it is in `model.trainableWeights`). */
  readonly trainable: boolean;
  /** How the tensor's elements belong to output units. */
  readonly layout: Layout;
  /**
   * The axes that index output units (non-negative), or `null` for tensors
   * without fan-in vectors (layouts `"none"` and `"unknown"`).
   */
  readonly outputAxes: readonly number[] | null;
  /**
   * The axes Gradient Centralization averages over (each unit's fan-in), or
   * `null` where it leaves the tensor alone.
   */
  readonly gcAxes: readonly number[] | null;
}

/** A test on a parameter's description, with a name for messages. */
export interface Selector {
  /** How the selector reads, as code: `or(byRole("bias"), byClass("*Normalization"))`. */
  readonly description: string;
  /** Whether the selector picks this parameter. */
  test(info: ParamInfo): boolean;
}
