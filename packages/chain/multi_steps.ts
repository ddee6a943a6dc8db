import * as tf from "@tensorflow/tfjs";
import { show } from "./_check.ts";
import { checkAgainst, checkStateMap, passOn } from "./_structure.ts";
import { checkTransformation } from "./_drive.ts";
import { selectState } from "./_tree.ts";
import { carry, fillLike, type PerParam, zeroCount } from "./_per_param.ts";
import { mapUpdates } from "./identity.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

/** State of {@linkcode multiSteps}. */
export interface MultiStepsState<S = unknown> {
  /**
   * Mini-steps taken since the last real step, `0` to `everyK - 1`
   * (float32 scalar: saved with the rest of the state, and read by no one on
   * the host).
   */
  miniStep: tf.Scalar;
  /** Sum of the gradients since the last real step, keyed by parameter name. */
  acc: PerParam;
  /** The inner state, advanced once every `everyK` mini-steps. */
  inner: S;
}

/**
 * Gradient accumulation: sums gradients over `everyK` mini-steps and runs
 * `inner` on their mean at every `everyK`-th call; the calls in between
 * return zero updates (optax `MultiSteps`). Equivalent to a batch `everyK`
 * times larger for losses that average over the batch.
 *
 * Everything that changes per mini-step is a tensor of the state (the
 * mini-step counter too), so a checkpoint taken between real steps resumes
 * exactly, and no step reads the device: `inner` runs at every mini-step on
 * the running mean, and its result is kept (`tf.where` on the device) only at
 * the last one, as optax does under `jit`. The inner state must keep what
 * changes per step in tensors (every centra transform does); a host-side
 * value that changes is a `TypeError` naming it.
 *
 * @typeParam S The inner state.
 * @param inner The optimizer to run on the accumulated gradient.
 * @param everyK The number of mini-steps per real step (integer >= 1).
 * @returns A transformation with the counter, the accumulator and the inner
 * state.
 * @throws {RangeError} If `everyK` is not an integer >= 1.
 * @throws {TypeError} If `inner` is not a transformation.
 *
 * @example Two mini-steps make one SGD step on their mean
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, multiSteps, runUpdate, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const tx = multiSteps(sgd(1), 2);
 * let state = initState(tx, { w: tf.zeros([1]) });
 * let u;
 * [u, state] = runUpdate(tx, { w: tf.tensor1d([1]) }, state);
 * assert.equal(u.w!.dataSync()[0], 0);
 * assert.equal(state.miniStep.dataSync()[0], 1);
 * [u, state] = runUpdate(tx, { w: tf.tensor1d([3]) }, state);
 * assert.equal(u.w!.dataSync()[0], -2);
 * assert.equal(state.miniStep.dataSync()[0], 0);
 * ```
 */
export function multiSteps<S>(
  inner: GradientTransformation<S>,
  everyK: number,
): GradientTransformation<MultiStepsState<S>> {
  checkTransformation("multiSteps: inner", inner);
  if (!Number.isInteger(everyK) || everyK < 1) {
    throw new RangeError(
      `multiSteps: everyK must be an integer >= 1, got ${everyK}`,
    );
  }
  return {
    init: (params: Params): MultiStepsState<S> => ({
      miniStep: zeroCount(),
      acc: fillLike(params),
      inner: inner.init(params),
    }),
    update: (
      updates: Updates,
      state: MultiStepsState<S>,
      params?: Params,
    ): [Updates, MultiStepsState<S>] =>
      multiStepsUpdate(inner, everyK, updates, state, params),
  };
}

/** One mini-step of `multiSteps(inner, everyK)`. */
function multiStepsUpdate<S>(
  inner: GradientTransformation<S>,
  everyK: number,
  updates: Updates,
  state: MultiStepsState<S>,
  params?: Params,
): [Updates, MultiStepsState<S>] {
  checkStateMap("multiSteps", "the state", state);
  checkAgainst("multiSteps", updates, state.acc);
  const count = state.miniStep;
  if (!(count instanceof tf.Tensor) || count.rank !== 0) {
    throw new TypeError(
      `multiSteps: the state's miniStep must be a scalar tensor, got ${
        show(count)
      } (a state from another transformation, or from an older centra?)`,
    );
  }
  const summed = mapUpdates(
    updates,
    (g, name) => tf.add(state.acc[name]!, g),
  );
  const mean = mapUpdates(summed, (s) => tf.div(s, everyK));
  passOn(updates, mean); // same names and shapes
  const [u, s] = inner.update(mean, state.inner, params);
  const next = tf.add(count, 1);
  // the last mini-step of a window: take the inner step, restart the sum
  const last = tf.greaterEqual(next, everyK);
  const out: Updates = {};
  for (const [name, t] of Object.entries(u)) {
    out[name] = tf.where(tf.broadcastTo(last, t.shape), t, tf.zerosLike(t));
  }
  const acc = mapUpdates(
    summed,
    (t) => tf.where(tf.broadcastTo(last, t.shape), tf.zerosLike(t), t),
  );
  return [out, {
    miniStep: tf.where(last, tf.zerosLike(next), next) as tf.Scalar,
    acc: carry(state.acc, acc),
    inner: selectState(
      "multiSteps",
      last,
      s,
      state.inner,
      "kept for the last mini-step only without reading the device; keep every per-step value of the inner state in tensors",
    ),
  }];
}
