import type * as tf from "@tensorflow/tfjs";
import { checkOptions } from "./_check.ts";
import { add, div, elementwise, max, sqrt, square, sub } from "./expr.ts";
import {
  biasCorrection,
  divUnlessZero,
  lerp,
  momentHypers,
  type PerParam,
} from "./_per_param.ts";
import type { GradientTransformation, Hyper } from "./types.ts";

/** Options of {@linkcode scaleByAdam}. */
export interface ScaleByAdamOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: Hyper;
  /** Decay of the second moment. Default 0.999. */
  b2?: Hyper;
  /** Added to the denominator outside the square root. Default 1e-8 (PyTorch, optax; Keras and tfjs use 1e-7). */
  eps?: Hyper;
  /** Added to the second moment inside the square root. Default 0. */
  epsRoot?: Hyper;
  /** Use the running maximum of the second moment (AMSGrad). Default false. */
  amsgrad?: boolean;
}

/** State of {@linkcode scaleByAdam}. */
export interface ScaleByAdamState {
  /** Steps taken so far (float32 scalar). */
  count: tf.Scalar;
  /** First moments, keyed by parameter name. */
  mu: PerParam;
  /** Second moments, keyed by parameter name. */
  nu: PerParam;
  /** AMSGrad's running maximum of `nu` (empty without AMSGrad). */
  nuMax: PerParam;
}

/**
 * Rescales updates by Adam's bias-corrected moments:
 * `m̂ / (sqrt(v̂ + epsRoot) + eps)` (paper Algorithm 2 without the step size).
 *
 * Reference: D. Kingma, J. Ba, "Adam: A Method for Stochastic
 * Optimization", ICLR 2015, arXiv:1412.6980; AMSGrad: S. Reddi, S. Kale,
 * S. Kumar, "On the Convergence of Adam and Beyond", ICLR 2018,
 * arXiv:1904.09237.
 *
 * @param options Decays, epsilons and AMSGrad.
 * @returns A transformation with a count and two moments per parameter.
 *
 * @example The first step of Adam is `g / (|g| + eps)`
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByAdam } from "@centra/chain/scale-by-adam";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByAdam({ eps: 0 });
 * const [u] = tx.update({ w: tf.tensor1d([-4, 2]) }, tx.init({ w: tf.zeros([2]) }));
 * assert.deepEqual(Array.from(u.w!.dataSync()).map((x) => Math.round(x)), [-1, 1]);
 * ```
 */
export function scaleByAdam(
  options: ScaleByAdamOptions = {},
): GradientTransformation<ScaleByAdamState> {
  const where = "scaleByAdam";
  checkOptions(where, options, {
    b1: "hyper",
    b2: "hyper",
    eps: "hyper",
    epsRoot: "hyper",
    amsgrad: "boolean",
  });
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0, amsgrad = false } =
    options;
  return elementwise({
    where,
    hypers: momentHypers({ b1, b2, eps, epsRoot }),
    slots: { mu: 0, nu: 0, nuMax: amsgrad ? 0 : null },
    math: ({ g, count, hypers: h, slots: s }) => {
      const m = lerp(h.b1, s.mu, sub(1, h.b1), g);
      const v = lerp(h.b2, s.nu, sub(1, h.b2), square(g));
      const second = amsgrad ? max(s.nuMax, v) : v;
      const vHat = div(second, biasCorrection(h.b2, count));
      const denom = add(sqrt(add(vHat, h.epsRoot)), h.eps);
      const mHat = div(m, biasCorrection(h.b1, count));
      const update = divUnlessZero(mHat, denom, eps);
      return {
        update,
        slots: amsgrad ? { mu: m, nu: v, nuMax: second } : { mu: m, nu: v },
      };
    },
  }) as GradientTransformation<ScaleByAdamState>;
}
