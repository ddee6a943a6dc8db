import * as tf from "@tensorflow/tfjs";
import { checkOptions } from "./_check.ts";
import { checkTransformation } from "./_drive.ts";
import { selectState } from "./_tree.ts";
import { zeroCount } from "./_per_param.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

/** Options of {@linkcode applyIfFinite}. */
export interface ApplyIfFiniteOptions {
  /** After this many non-finite steps in a row, apply the update anyway. Default 5. */
  maxConsecutiveErrors?: number;
}

/** State of {@linkcode applyIfFinite}. */
export interface ApplyIfFiniteState<S = unknown> {
  /** Non-finite steps in a row so far (float32 scalar). */
  notfiniteCount: tf.Scalar;
  /** Non-finite steps in all (float32 scalar). */
  totalNotfinite: tf.Scalar;
  /** 1 if the last step's updates were finite, else 0 (float32 scalar). */
  lastFinite: tf.Scalar;
  /** The inner state; unchanged by a skipped step. */
  inner: S;
}

/**
 * Skips a step whose incoming updates hold NaN or ±Inf: the updates become
 * zeros and the inner state stays as it was; the skip is counted. After
 * `maxConsecutiveErrors` skips in a row the update goes through (optax
 * `apply_if_finite`). Runs on the device, with no readback.
 *
 * The inner state must keep everything that changes per step in tensors
 * (every centra transform does, `multiSteps` included, so the two nest
 * either way); a host-side value that changes cannot be rolled back, and
 * is a `TypeError` naming it.
 *
 * @typeParam S The inner state.
 * @param inner The transformation to guard.
 * @param options How many skips in a row before giving up.
 * @returns A transformation with counters and the inner state.
 *
 * @example A NaN gradient leaves momentum untouched
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { applyIfFinite, initState, runUpdate, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const tx = applyIfFinite(sgd(0.1, { momentum: 0.9 }));
 * let state = initState(tx, { w: tf.zeros([1]) });
 * let u;
 * [u, state] = runUpdate(tx, { w: tf.tensor1d([NaN]) }, state);
 * assert.equal(u.w!.dataSync()[0], 0);
 * assert.equal(state.totalNotfinite.dataSync()[0], 1);
 * ```
 */
export function applyIfFinite<S>(
  inner: GradientTransformation<S>,
  options: ApplyIfFiniteOptions = {},
): GradientTransformation<ApplyIfFiniteState<S>> {
  checkTransformation("applyIfFinite: inner", inner);
  checkOptions("applyIfFinite", options, { maxConsecutiveErrors: "number" });
  const max = options.maxConsecutiveErrors ?? 5;
  if (!Number.isInteger(max) || max < 0) {
    throw new RangeError(
      `applyIfFinite: maxConsecutiveErrors must be a non-negative integer, got ${max}`,
    );
  }
  return {
    init: (params: Params): ApplyIfFiniteState<S> => ({
      notfiniteCount: zeroCount(),
      totalNotfinite: zeroCount(),
      lastFinite: tf.scalar(1),
      inner: inner.init(params),
    }),
    update: (
      updates: Updates,
      state: ApplyIfFiniteState<S>,
      params?: Params,
    ): [Updates, ApplyIfFiniteState<S>] =>
      finiteUpdate(inner, max, updates, state, params),
  };
}

/** One step of `applyIfFinite(inner, { maxConsecutiveErrors: max })`. */
function finiteUpdate<S>(
  inner: GradientTransformation<S>,
  max: number,
  updates: Updates,
  state: ApplyIfFiniteState<S>,
  params?: Params,
): [Updates, ApplyIfFiniteState<S>] {
  const [u, s] = inner.update(updates, state.inner, params);
  const checks = Object.values(updates).map((g) => tf.all(tf.isFinite(g)));
  const finite: tf.Tensor = checks.length === 0
    ? tf.scalar(true, "bool")
    : checks.reduce((a, b) => tf.logicalAnd(a, b));
  const notfiniteCount = tf.where(
    finite,
    tf.zeros([]),
    tf.add(state.notfiniteCount, 1),
  ) as tf.Scalar;
  const accept = tf.logicalOr(finite, tf.greater(notfiniteCount, max));
  const out: Updates = {};
  for (const [name, t] of Object.entries(u)) {
    out[name] = tf.where(tf.broadcastTo(accept, t.shape), t, tf.zerosLike(t));
  }
  const nextInner = selectState(
    "applyIfFinite",
    accept,
    s,
    state.inner,
    "rolled back on the device; keep every per-step value of the inner state in tensors",
  );
  // not tf.cast: on the cpu backend a cast bool scalar keeps a
  // Uint8Array, which model.save writes as one byte (and cannot load)
  const asNumber = tf.where(finite, tf.ones([]), tf.zeros([])) as tf.Scalar;
  return [out, {
    notfiniteCount,
    totalNotfinite: tf.add(
      state.totalNotfinite,
      tf.sub(1, asNumber),
    ) as tf.Scalar,
    lastFinite: asNumber,
    inner: nextInner,
  }];
}
