/**
 * LAMB: layer-wise adaptive moments for large batches (You et al. 2019).
 *
 * @module
 */
import { checkOptions, checkPlainHyper, type OptionKind } from "./_check.ts";
import {
  build,
  DECAY_KINDS,
  decayOptions,
  defined,
  type GcOptions,
  MOMENT_KINDS,
  on,
  withGc,
} from "./_optimizer.ts";
import { addDecayedWeights } from "./add_decayed_weights.ts";
import { scaleByAdam } from "./scale_by_adam.ts";
import { scaleByLearningRate } from "./scale.ts";
import { scaleByTrustRatio } from "./scale_by_trust_ratio.ts";
import type {
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "./types.ts";

/**
 * The options {@linkcode lamb} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const LAMB_OPTIONS: Readonly<Record<string, OptionKind>> = withGc({
  ...MOMENT_KINDS,
  ...DECAY_KINDS,
});

/** Options of {@linkcode lamb}. */
export interface LambOptions extends GcOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: Hyper;
  /** Decay of the second moment. Default 0.999. */
  b2?: Hyper;
  /** Added to the denominator outside the square root. Default 1e-6 (optax, the paper). */
  eps?: Hyper;
  /** Added to the second moment inside the square root. Default 0. */
  epsRoot?: Hyper;
  /** Weight decay λ added to Adam's direction before the trust ratio. Default 0. */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * LAMB: `chain(scaleByAdam({ eps: 1e-6 }), addDecayedWeights(λ),
 * scaleByTrustRatio(), scaleByLearningRate(lr))`, as optax's `lamb`. Per
 * parameter, with `r = m̂ / (sqrt(v̂ + epsRoot) + eps)` Adam's direction and
 * `u = r + λ w`, the step is `w ← w - lr (‖w‖ / ‖u‖) u`, the ratio taken as 1
 * where `‖w‖` or `‖u‖` is 0 (optax's handling of zero norms). With GC on the
 * gradient (default) the moments see `Pg`; with `gcOn: "update"` Adam's
 * direction `r` is centralized before the decay and the trust ratio.
 *
 * Reference: Y. You, J. Li, S. Reddi, J. Hseu, S. Kumar, S. Bhojanapalli,
 * X. Song, J. Demmel, K. Keutzer, C.-J. Hsieh, "Large Batch Optimization for
 * Deep Learning: Training BERT in 76 minutes", ICLR 2020, arXiv:1904.00962
 * (Algorithm 2, with the identity as φ).
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, epsilons, weight decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode LAMB_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example The first step has norm lr ‖w‖ per parameter
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, lamb, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.tensor1d([3, 4]) };
 * const tx = lamb(0.1);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([1, -2]) }, initState(tx, params), params);
 * // Adam's first direction is ±1 (norm √2), rescaled to norm ‖w‖ = 5
 * const want = [-0.1 * 5 / Math.SQRT2, 0.1 * 5 / Math.SQRT2];
 * u.w!.dataSync().forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-5));
 * ```
 */
export function lamb(
  learningRate: ScalarOrSchedule,
  options: LambOptions = {},
): GradientTransformation<unknown[]> {
  const where = "lamb";
  checkOptions(where, options, LAMB_OPTIONS);
  const { eps = 1e-6, weightDecay = 0, weightDecayMask } = options;
  checkPlainHyper(where, "weightDecay", weightDecay, { min: 0 });
  return build(where, options, {
    scaling: [
      scaleByAdam({ ...defined(options, ["b1", "b2", "epsRoot"]), eps }),
    ],
    after: [
      on(weightDecay) &&
      addDecayedWeights(weightDecay, decayOptions(weightDecayMask)),
      scaleByTrustRatio(),
      scaleByLearningRate(learningRate),
    ],
  });
}
