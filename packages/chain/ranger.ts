/**
 * Ranger: RAdam inside Lookahead, with Gradient Centralization on
 * ({@linkcode ranger}), as pytorch_optimizer and the GC authors ship it.
 *
 * @module
 */
import { checkOptions, checkPlainHyper, type OptionKind } from "./_check.ts";
import {
  build,
  decayOptions,
  defined,
  GC_KINDS,
  type GcOptions,
  on,
} from "./_optimizer.ts";
import { scaleByRadam } from "./radam.ts";
import { addDecayedWeights } from "./add_decayed_weights.ts";
import { chain } from "./chain.ts";
import { lookahead, type LookaheadOptions } from "./lookahead.ts";
import { scaleByLearningRate } from "./scale.ts";
import type {
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "./types.ts";

/**
 * The options {@linkcode ranger} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const RANGER_OPTIONS: Readonly<Record<string, OptionKind>> = Object
  .freeze({
    ...GC_KINDS,
    b1: "hyper",
    b2: "hyper",
    eps: "hyper",
    epsRoot: "hyper",
    threshold: "hyper",
    weightDecay: "hyper",
    weightDecayMask: "mask",
    syncPeriod: "number",
    alpha: "hyper",
  });

/** Options of {@linkcode ranger} (pytorch_optimizer's defaults). */
export interface RangerOptions extends GcOptions, LookaheadOptions {
  /** Decay of the first moment. Default 0.95 (pytorch_optimizer's Ranger). */
  b1?: Hyper;
  /** Decay of the second moment. Default 0.999. */
  b2?: Hyper;
  /** Added to the denominator. Default 1e-5 (pytorch_optimizer's Ranger). */
  eps?: Hyper;
  /** Added to the second moment inside the square root. Default 0. */
  epsRoot?: Hyper;
  /**
   * RAdam's threshold on the variance's degrees of freedom `ρ_t`, at least
   * 4 (below, the rectification is the root of a negative number for
   * `2 < ρ_t < 4`). Default 5 (optax).
   */
  threshold?: Hyper;
  /**
   * Decoupled weight decay λ, `w ← w - lr (radam(g) + λ w)`
   * (pytorch_optimizer's `weight_decouple`). Default 0 (off).
   */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * Ranger: `lookahead(chain(GC, scaleByRadam(), addDecayedWeights(λ),
 * scaleByLearningRate(lr)), { syncPeriod, alpha })`. RAdam's rule is
 * optax's (`scale_by_radam`, threshold 5: before `ρ_t` reaches it the step
 * is the bias-corrected momentum); the defaults are pytorch_optimizer's
 * Ranger (`lr` 1e-3 there, `b1` 0.95, `b2` 0.999, `eps` 1e-5, `k` 6,
 * `alpha` 0.5, GC on every rank-2+ tensor).
 *
 * Choices: GC is on by default (`gc: true`), since Ranger is RAdam +
 * Lookahead + GC; `gc: false` turns it off. Where pytorch_optimizer's Ranger
 * differs from optax's RAdam, optax is followed: during the first steps
 * (`ρ_t < threshold`) the step is the bias-corrected momentum, as
 * pytorch_optimizer does only with `degenerated_to_sgd` (its default steps
 * with the opposite sign then); `eps` is added to `sqrt(v̂)`, not to
 * `sqrt(v)`.
 *
 * References: L. Liu et al., "On the Variance of the Adaptive Learning Rate
 * and Beyond", ICLR 2020, arXiv:1908.03265; M. R. Zhang et al., "Lookahead
 * Optimizer: k steps forward, 1 step back", NeurIPS 2019, arXiv:1907.08610;
 * H. Yong et al., "Gradient Centralization", ECCV 2020, arXiv:2004.01461;
 * L. Wright, Ranger (2019).
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options RAdam's moments, Lookahead's period and step, decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode RANGER_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example The first step is momentum SGD: lr times the centralized gradient
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, ranger, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2, 1]) };
 * const g = { w: tf.tensor2d([[3], [1]]) };
 * const tx = ranger(0.1);
 * const [u] = runUpdate(tx, g, initState(tx, params), params);
 * // GC removes the mean 2: -0.1 * [1, -1]
 * assert.deepEqual(Array.from(u.w!.dataSync()).map((x) => +x.toFixed(6)), [-0.1, 0.1]);
 * ```
 */
export function ranger(
  learningRate: ScalarOrSchedule,
  options: RangerOptions = {},
): GradientTransformation<unknown[]> {
  const where = "ranger";
  checkOptions(where, options, RANGER_OPTIONS);
  const {
    gc = true,
    b1 = 0.95,
    eps = 1e-5,
    weightDecay,
    weightDecayMask,
  } = options;
  checkPlainHyper(where, "weightDecay", weightDecay, { min: 0 });
  checkPlainHyper(where, "threshold", options.threshold, { min: 4 });
  const inner = build(where, { ...options, gc }, {
    scaling: [
      scaleByRadam({
        ...defined(options, ["b2", "epsRoot", "threshold"]),
        b1,
        eps,
      }),
    ],
    after: [
      on(weightDecay) &&
      addDecayedWeights(weightDecay, decayOptions(weightDecayMask)),
      scaleByLearningRate(learningRate),
    ],
  });
  return chain(lookahead(inner, defined(options, ["syncPeriod", "alpha"])));
}
