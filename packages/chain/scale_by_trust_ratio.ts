/**
 * The layer-wise trust ratio of LARS and LAMB: each parameter's update
 * rescaled by `‖w‖ / ‖u‖`.
 *
 * @module
 */
import { checkOptions } from "./_check.ts";
import {
  add,
  div,
  elementwise,
  type Expr,
  gt,
  max,
  mul,
  select,
  sqrt,
  square,
  sumAll,
} from "./expr.ts";
import type { EmptyState } from "./identity.ts";
import type { GradientTransformation, Hyper, Mask } from "./types.ts";

/** Options of {@linkcode scaleByTrustRatio}. */
export interface ScaleByTrustRatioOptions {
  /** Both norms are at least this (`max(‖x‖, minNorm)`). Default 0. */
  minNorm?: Hyper;
  /** Multiplies the ratio. Default 1. */
  trustCoefficient?: Hyper;
  /** Added to the update's norm in the denominator. Default 0. */
  eps?: Hyper;
  /**
   * Which parameters are rescaled; the others pass through unchanged (what
   * optax writes as `masked(scale_by_trust_ratio(), mask)`, in one fusable
   * stage). Default all.
   */
  mask?: Mask;
}

/**
 * Rescales each parameter's update `u` by its trust ratio `r = c ‖w‖ / (‖u‖
 * + eps)`, with `‖·‖` the Euclidean norm of the whole tensor (raised to
 * `minNorm` when below it) and `c` the trust coefficient; where either norm
 * is 0 the ratio is 1, so a parameter at zero (a fresh bias) or without an
 * update still moves as the inner rule says (optax's
 * `scale_by_trust_ratio`, zero norms included). Stateless; needs `params`.
 * The norms are per-tensor sums (`sumAll`), so the stage is fused whole.
 *
 * Reference: Y. You, I. Gitman, B. Ginsburg, "Large Batch Training of
 * Convolutional Networks", 2017, arXiv:1708.03888 (LARS); Y. You et al.,
 * "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes",
 * ICLR 2020, arXiv:1904.00962 (LAMB).
 *
 * @param options Minimum norm, coefficient, eps and mask.
 * @returns A stateless transformation.
 * @throws {TypeError} For an unknown option or one of the wrong kind, or an
 * update without its parameter.
 * @throws {RangeError} For a negative `minNorm`, `trustCoefficient` or `eps`.
 *
 * @example ‖w‖ = 5 and ‖u‖ = 1: the update grows five times
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByTrustRatio } from "@centra/chain/scale-by-trust-ratio";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByTrustRatio();
 * const params = { w: tf.tensor1d([3, 4]), b: tf.zeros([2]) };
 * const g = { w: tf.tensor1d([0.6, -0.8]), b: tf.tensor1d([1, 1]) };
 * const [u] = tx.update(g, tx.init(params), params);
 * const w = u.w!.dataSync();
 * assert.ok(Math.abs(w[0]! - 3) < 1e-6 && Math.abs(w[1]! + 4) < 1e-6);
 * assert.deepEqual(Array.from(u.b!.dataSync()), [1, 1]); // ‖b‖ = 0: ratio 1
 * ```
 */
export function scaleByTrustRatio(
  options: ScaleByTrustRatioOptions = {},
): GradientTransformation<EmptyState> {
  const where = "scaleByTrustRatio";
  checkOptions(where, options, {
    minNorm: "hyper",
    trustCoefficient: "hyper",
    eps: "hyper",
    mask: "mask",
  });
  const { minNorm = 0, trustCoefficient = 1, eps = 0 } = options;
  return elementwise({
    where,
    hypers: {
      minNorm: [minNorm, { min: 0 }],
      trustCoefficient: [trustCoefficient, { min: 0 }],
      eps: [eps, { min: 0 }],
    },
    mask: options.mask,
    math: ({ g, p, hypers: h }) => {
      // a minimum norm of the number 0 changes nothing: left out
      const floor = (x: Expr) =>
        minNorm === 0 ? sqrt(sumAll(square(x))) : max(
          sqrt(sumAll(square(x))),
          h.minNorm,
        );
      const pNorm = floor(p), uNorm = floor(g);
      const ratio = div(mul(h.trustCoefficient, pNorm), add(uNorm, h.eps));
      const safe = select(gt(pNorm, 0), {
        then: select(gt(uNorm, 0), { then: ratio, otherwise: 1 }),
        otherwise: 1,
      });
      return { update: mul(g, safe) };
    },
  }) as GradientTransformation<EmptyState>;
}
