import * as tf from "@tensorflow/tfjs";
import { checkOptions, checkPlainHyper, show } from "./_check.ts";
import { checkTransformation } from "./_drive.ts";
import { selectState } from "./_tree.ts";
import type {
  GradientTransformation,
  Hyper,
  Params,
  Updates,
} from "./types.ts";

/** Options of {@linkcode skipLargeUpdates}. */
export interface SkipLargeUpdatesOptions {
  /**
   * The largest squared global L2 norm of the incoming updates that is
   * still applied (a number >= 0 or a scalar tensor). Required.
   */
  maxSquaredNorm: Hyper;
}

/** State of {@linkcode skipLargeUpdates}. */
export interface SkipLargeUpdatesState<S = unknown> {
  /** 1 if the last step was skipped, else 0 (float32 scalar). */
  shouldSkip: tf.Scalar;
  /** The squared global norm of the last step's incoming updates (float32 scalar). */
  normSquared: tf.Scalar;
  /** The inner state; unchanged by a skipped step. */
  inner: S;
}

/**
 * Skips a step whose incoming updates are too large: when the squared global
 * norm `Σ g²` (over every element of every tensor) is not below
 * `maxSquaredNorm`, or is NaN, the updates become zeros and the inner state
 * stays as it was; otherwise `inner` runs as usual. This is optax's
 * `skip_large_updates` (a `should_skip_update_fn` of `MultiSteps`) as a
 * wrapper of its own, so that it guards any transformation; around
 * `multiSteps(inner, k)` it drops a skipped mini-batch without counting it,
 * as optax's `MultiSteps` does. The decision is made on the device, with no
 * readback; the last norm and decision are kept in the state, like optax's
 * `skip_state`.
 *
 * The inner state must keep everything that changes per step in tensors
 * (every centra transform does); a host-side value that changes cannot be
 * rolled back and is a `TypeError` naming it.
 *
 * @typeParam S The inner state.
 * @param inner The transformation to guard.
 * @param options The bound, `maxSquaredNorm`.
 * @returns A transformation with the last decision, the last norm and the
 * inner state.
 * @throws {TypeError} If `inner` is not a transformation, for options that
 * are not a plain object, an unknown option, or a bound that is missing or
 * not a number or scalar tensor.
 * @throws {RangeError} For a bound that is negative or not finite.
 *
 * @example A gradient of squared norm 25 is skipped under a bound of 10
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, runUpdate, sgd, skipLargeUpdates } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const tx = skipLargeUpdates(sgd(0.1, { momentum: 0.9 }), { maxSquaredNorm: 10 });
 * let state = initState(tx, { w: tf.zeros([2]) });
 * let u;
 * [u, state] = runUpdate(tx, { w: tf.tensor1d([3, 4]) }, state);
 * assert.deepEqual(Array.from(u.w!.dataSync()), [0, 0]);
 * assert.equal(state.normSquared.dataSync()[0], 25);
 * [u, state] = runUpdate(tx, { w: tf.tensor1d([1, 2]) }, state);
 * assert.deepEqual(Array.from(u.w!.dataSync()).map((x) => +x.toFixed(6)), [-0.1, -0.2]);
 * ```
 */
export function skipLargeUpdates<S>(
  inner: GradientTransformation<S>,
  options: SkipLargeUpdatesOptions,
): GradientTransformation<SkipLargeUpdatesState<S>> {
  const where = "skipLargeUpdates";
  checkTransformation(`${where}: inner`, inner);
  checkOptions(where, options, { maxSquaredNorm: "hyper" });
  const max = options?.maxSquaredNorm;
  if (max === undefined) {
    throw new TypeError(
      `${where}: maxSquaredNorm is required, got ${show(options)}`,
    );
  }
  checkPlainHyper(where, "maxSquaredNorm", max, { min: 0 });
  return {
    init: (params: Params): SkipLargeUpdatesState<S> => ({
      shouldSkip: tf.scalar(0),
      normSquared: tf.scalar(0),
      inner: inner.init(params),
    }),
    update: (
      updates: Updates,
      state: SkipLargeUpdatesState<S>,
      params?: Params,
    ): [Updates, SkipLargeUpdatesState<S>] => {
      checkState(where, state);
      const [u, s] = inner.update(updates, state.inner, params);
      const normSquared = squaredNorm(updates);
      // not (norm² < max): NaN skips too, as in optax
      const accept = tf.less(normSquared, max);
      const out: Updates = {};
      for (const [name, t] of Object.entries(u)) {
        out[name] = tf.where(
          tf.broadcastTo(accept, t.shape),
          t,
          tf.zerosLike(t),
        );
      }
      return [out, {
        // a float32 0/1, not a cast bool (which saves as one byte on cpu)
        shouldSkip: tf.where(accept, tf.scalar(0), tf.scalar(1)) as tf.Scalar,
        normSquared,
        inner: selectState(
          where,
          accept,
          s,
          state.inner,
          "rolled back on the device; keep every per-step value of the inner state in tensors",
        ),
      }];
    },
  };
}

/** Throws unless `state` has the shape of this transformation's state. */
function checkState(where: string, state: unknown): void {
  if (state === null || typeof state !== "object" || !("inner" in state)) {
    throw new TypeError(
      `${where}: the state does not fit this transformation: expected { shouldSkip, normSquared, inner }, got ${
        show(state)
      }`,
    );
  }
}

/** The squared global norm of `updates`: the sum of every element's square. */
function squaredNorm(updates: Updates): tf.Scalar {
  const sums = Object.values(updates).map((g) => tf.sum(tf.square(g)));
  return (sums.length === 0
    ? tf.scalar(0)
    : sums.length === 1
    ? sums[0]!
    : tf.addN(sums)) as tf.Scalar;
}
