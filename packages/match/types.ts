// The two types every module of this package reads: what is known of a
// parameter and a test on it. A leaf: it imports only the Layout type.
import type { Layout } from "./layouts.ts";

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
