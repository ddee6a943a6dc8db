/**
 * The contract every centra transform follows.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** Parameters keyed by `tf.Variable.name`. */
export type Params = Record<string, tf.Tensor>;

/** Gradients or updates keyed by the name of the parameter they belong to. */
export type Updates = Record<string, tf.Tensor>;

/**
 * A gradient transformation: a pair of pure functions in the style of optax.
 *
 * `init` builds the state from the parameters; `update` maps incoming
 * updates (gradients at first) and the current state to outgoing updates and
 * a new state. `update` never mutates or disposes its inputs. A driver such
 * as {@linkcode runUpdate} owns the memory.
 *
 * @typeParam S The state this transformation carries between steps.
 */
export interface GradientTransformation<S = unknown> {
  /** Builds the initial state for these parameters. */
  init(params: Params): S;
  /**
   * Maps updates and state to new updates and a new state.
   *
   * `updates` may name a subset of the parameters the state was built for
   * (for instance when some are frozen); the state of the others is carried
   * over unchanged. A name the state does not know is a `TypeError`.
   */
  update(updates: Updates, state: S, params?: Params): [Updates, S];
}

/** A step-dependent value: the step count (float32 scalar) to a float32 scalar. */
export type Schedule = (count: tf.Scalar) => tf.Scalar;

/**
 * A hyperparameter: a plain number (checked when the transform is built) or a
 * float32 scalar tensor (as `injectHyperparams` passes them).
 */
export type Hyper = number | tf.Scalar;

/** A hyperparameter that may also vary with the step count. */
export type ScalarOrSchedule = Hyper | Schedule;

/**
 * Which axes GC averages over, per parameter: the axes to reduce, or `null`
 * to leave that tensor alone.
 */
export type AxesResolver = (
  name: string,
  shape: readonly number[],
) => number[] | null;

/**
 * Which parameters a masked transform touches: a map of booleans keyed by
 * parameter name (every parameter must be named), or a function of name and
 * shape.
 */
export type Mask =
  | Readonly<Record<string, boolean>>
  | ((name: string, shape: readonly number[]) => boolean);

/**
 * Which transform of a `partition` each parameter goes to: a map of labels
 * keyed by parameter name (every parameter must be named), or a function of
 * name and shape.
 */
export type Labels =
  | Readonly<Record<string, string>>
  | ((name: string, shape: readonly number[]) => string);
