import * as tf from "@tensorflow/tfjs";
import { checkAgainst } from "./_check.ts";
import { carry, fillLike, type PerParam } from "./_per_param.ts";
import { mapUpdates } from "./identity.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

/** State of {@linkcode multiSteps}. */
export interface MultiStepsState<S = unknown> {
  /** Mini-steps taken since the last real step (a host number: it does not depend on data). */
  miniStep: number;
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
 * @typeParam S The inner state.
 * @param inner The optimizer to run on the accumulated gradient.
 * @param everyK The number of mini-steps per real step (integer >= 1).
 * @returns A transformation with the accumulator and the inner state.
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
 * [u, state] = runUpdate(tx, { w: tf.tensor1d([3]) }, state);
 * assert.equal(u.w!.dataSync()[0], -2);
 * ```
 */
export function multiSteps<S>(
  inner: GradientTransformation<S>,
  everyK: number,
): GradientTransformation<MultiStepsState<S>> {
  if (!Number.isInteger(everyK) || everyK < 1) {
    throw new RangeError(
      `multiSteps: everyK must be an integer >= 1, got ${everyK}`,
    );
  }
  return {
    init: (params: Params): MultiStepsState<S> => ({
      miniStep: 0,
      acc: fillLike(params),
      inner: inner.init(params),
    }),
    update(
      updates: Updates,
      state: MultiStepsState<S>,
      params?: Params,
    ): [Updates, MultiStepsState<S>] {
      checkAgainst("multiSteps", updates, state.acc);
      const summed = mapUpdates(
        updates,
        (g, name) => tf.add(state.acc[name]!, g),
      );
      if (state.miniStep + 1 < everyK) {
        return [
          mapUpdates(updates, (g) => tf.zerosLike(g)),
          {
            miniStep: state.miniStep + 1,
            acc: carry(state.acc, summed),
            inner: state.inner,
          },
        ];
      }
      const mean = mapUpdates(summed, (s) => tf.div(s, everyK));
      const [u, s] = inner.update(mean, state.inner, params);
      const zeros: PerParam = mapUpdates(updates, (g) => tf.zerosLike(g));
      return [u, { miniStep: 0, acc: carry(state.acc, zeros), inner: s }];
    },
  };
}
