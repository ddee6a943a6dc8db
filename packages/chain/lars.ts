/**
 * LARS: layer-wise adaptive rate scaling for large batches (You et al.
 * 2017).
 *
 * @module
 */
import { checkOptions, checkPlainHyper, type OptionKind } from "./_check.ts";
import {
  build,
  checkMomentum,
  DECAY_KINDS,
  decayOptions,
  type GcOptions,
  on,
  withGc,
} from "./_optimizer.ts";
import { addDecayedWeights } from "./add_decayed_weights.ts";
import { scaleByLearningRate } from "./scale.ts";
import { scaleByTrustRatio } from "./scale_by_trust_ratio.ts";
import { trace } from "./trace.ts";
import type {
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "./types.ts";

/**
 * The options {@linkcode lars} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const LARS_OPTIONS: Readonly<Record<string, OptionKind>> = withGc({
  ...DECAY_KINDS,
  trustCoefficient: "hyper",
  eps: "hyper",
  trustRatioMask: "mask",
  momentum: "hyper",
  nesterov: "boolean",
});

/** Options of {@linkcode lars}. */
export interface LarsOptions extends GcOptions {
  /** Weight decay λ added to the gradient (`g + λ w`) before the trust ratio. Default 0. */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
  /** The trust coefficient `η` multiplying `‖w‖ / ‖g + λ w‖`. Default 0.001 (optax, the paper). */
  trustCoefficient?: Hyper;
  /** Added to the update's norm in the trust ratio. Default 0. */
  eps?: Hyper;
  /**
   * Which parameters get the trust ratio; the others take plain momentum
   * SGD steps (optax's `trust_ratio_mask`; exclude biases and norms with
   * `@centra/match` selectors, as the paper's practice does). Default all.
   */
  trustRatioMask?: Mask;
  /** Momentum decay. Default 0.9. */
  momentum?: Hyper;
  /** Nesterov momentum. Default false. */
  nesterov?: boolean;
}

/**
 * LARS: `chain(addDecayedWeights(λ), scaleByTrustRatio({ trustCoefficient:
 * η, eps, mask: trustRatioMask }), scaleByLearningRate(lr), trace(momentum,
 * { nesterov }))`, as optax's `lars`. Per parameter, with `u = g + λ w`,
 * `d = -lr η ‖w‖ / (‖u‖ + eps) u` (the ratio 1 where a norm is 0), then
 * momentum on `d`: `m ← μ m + d`, `w ← w + m` (or `w ← w + d + μ m` with
 * Nesterov). With GC on the gradient (default) `P(g + λ w)` goes into the
 * ratio (the paper's section 3.4 for L2); with `gcOn: "update"` the
 * rescaled update is centralized.
 *
 * Reference: Y. You, I. Gitman, B. Ginsburg, "Large Batch Training of
 * Convolutional Networks", 2017, arXiv:1708.03888 (Algorithm 1).
 *
 * @param learningRate A non-negative number or a schedule (the paper's
 * global rate γ).
 * @param options Weight decay, trust ratio, momentum, their masks and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode LARS_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range, or `nesterov`
 * without momentum.
 *
 * @example The first step has norm lr η ‖w‖
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, lars, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.tensor1d([3, 4]) };
 * const tx = lars(10, { trustCoefficient: 0.01 });
 * const [u] = runUpdate(tx, { w: tf.tensor1d([0, -2]) }, initState(tx, params), params);
 * // the gradient's direction, rescaled to norm 10 * 0.01 * 5
 * const got = u.w!.dataSync();
 * assert.ok(Math.abs(got[0]!) < 1e-6 && Math.abs(got[1]! - 0.5) < 1e-6);
 * ```
 */
export function lars(
  learningRate: ScalarOrSchedule,
  options: LarsOptions = {},
): GradientTransformation<unknown[]> {
  const where = "lars";
  checkOptions(where, options, LARS_OPTIONS);
  const {
    weightDecay = 0,
    weightDecayMask,
    trustCoefficient = 0.001,
    eps = 0,
    trustRatioMask,
    momentum = 0.9,
    nesterov = false,
  } = options;
  checkPlainHyper(where, "weightDecay", weightDecay, { min: 0 });
  checkMomentum(where, momentum, nesterov);
  return build(where, options, {
    before: [
      on(weightDecay) &&
      addDecayedWeights(weightDecay, decayOptions(weightDecayMask)),
    ],
    scaling: [
      scaleByTrustRatio({
        trustCoefficient,
        eps,
        ...(trustRatioMask === undefined ? {} : { mask: trustRatioMask }),
      }),
    ],
    after: [
      scaleByLearningRate(learningRate),
      on(momentum) && trace(momentum, { nesterov }),
    ],
  });
}
