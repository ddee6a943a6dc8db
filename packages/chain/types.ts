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

/** One tensor per parameter, keyed by parameter name (a state slot). */
export type PerParam = Record<string, tf.Tensor>;

/** The state of a transformation that keeps none. */
export type EmptyState = Record<string, never>;

/**
 * A gradient transformation: a pair of pure functions in the style of optax.
 *
 * `init` builds the state from the parameters; `update` maps incoming
 * updates (gradients at first) and the current state to outgoing updates and
 * a new state. `update` never mutates or disposes its inputs. A driver such
 * as {@linkcode runUpdate} or {@linkcode runStep} owns the memory. A
 * transformation may also offer `step`, which returns new parameter values
 * in place of updates, for drivers that apply them at once.
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
  /**
   * Optional fast path for drivers that apply the updates at once: the same
   * result as `update` followed by adding the updates to `params`, but
   * returning the new parameter values in place of the updates. A
   * transformation provides it when it can write the new weights more
   * cheaply than a separate addition (a fused kernel that updates the state
   * and the weights in one pass, say).
   *
   * The contract, which drivers rely on:
   * - The new values and the new state equal those of `update` followed by
   *   `params[k] + updates[k]`, to float32 rounding.
   * - It returns a value for every name in `updates` and for no other, each
   *   with that parameter's shape and dtype; parameters without a gradient
   *   are not returned and keep their value.
   * - Like `update`, it never mutates or disposes its inputs (the gradients,
   *   the state, the parameters): writing the new values into the variables
   *   is the driver's job.
   *
   * Drivers call it through {@linkcode runStep}, which falls back to
   * `update` and an addition when it is absent. Combinators (`chain`,
   * `masked`, `partition`, ...) build a new transformation from `init` and
   * `update` alone and do not forward it: a step of the parts is not a step
   * of the whole.
   *
   * @param updates Gradients keyed by parameter name.
   * @param state The current state.
   * @param params The current parameter values; every name in `updates` is
   * here.
   * @returns The new parameter values (for the names in `updates`) and the
   * new state.
   */
  step?(updates: Updates, state: S, params: Params): [Params, S];
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
