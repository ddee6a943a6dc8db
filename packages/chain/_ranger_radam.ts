// Private, until helper c-adam's packages/chain/radam.ts is merged: optax's
// scale_by_radam (Liu et al. 2019) as an elementwise stage, for ranger. Once
// radam.ts lands, ranger.ts imports its scaleByRadam instead (same rule, same
// option names) and this file goes.
import { checkOptions } from "./_check.ts";
import { biasCorrection, divUnlessZero, lerp } from "./_per_param.ts";
import {
  add,
  div,
  elementwise,
  gt,
  max,
  mul,
  powInt,
  select,
  sqrt,
  square,
  sub,
} from "./expr.ts";
import type { ScaleByAdamState } from "./scale_by_adam.ts";
import type { GradientTransformation, Hyper } from "./types.ts";

/** Options of {@linkcode scaleByRadam} (optax's names, camelCased). */
export interface RadamStageOptions {
  b1?: Hyper;
  b2?: Hyper;
  eps?: Hyper;
  epsRoot?: Hyper;
  threshold?: Hyper;
}

/**
 * optax's `scale_by_radam`: Adam's moments; with `ρ∞ = 2 / (1 - b2) - 1`
 * and `ρ_t = ρ∞ - 2 t b2^t / (1 - b2^t)`, the update is
 * `r_t m̂ / (sqrt(v̂ + epsRoot) + eps)` where `ρ_t >= threshold`,
 * `r_t = sqrt((ρ_t - 4)(ρ_t - 2) ρ∞ / ((ρ∞ - 4)(ρ∞ - 2) ρ_t))`, and `m̂`
 * (momentum SGD) before.
 */
export function scaleByRadam(
  options: RadamStageOptions = {},
): GradientTransformation<ScaleByAdamState> {
  const where = "scaleByRadam";
  checkOptions(where, options, {
    b1: "hyper",
    b2: "hyper",
    eps: "hyper",
    epsRoot: "hyper",
    threshold: "hyper",
  });
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0, threshold = 5 } =
    options;
  return elementwise({
    where,
    hypers: {
      b1: [b1, { min: 0, max: 1, maxOpen: true }],
      b2: [b2, { min: 0, max: 1, maxOpen: true }],
      eps: [eps, { min: 0 }],
      epsRoot: [epsRoot, { min: 0 }],
      // r_t is the root of a negative number for 2 < ρ_t < 4
      threshold: [threshold, { min: 4 }],
    },
    slots: { mu: 0, nu: 0, nuMax: null },
    math: ({ g, count, hypers: h, slots: s }) => {
      const m = lerp(h.b1, s.mu, sub(1, h.b1), g);
      const v = lerp(h.b2, s.nu, sub(1, h.b2), square(g));
      const roInf = sub(div(2, sub(1, h.b2)), 1);
      const b2t = powInt(h.b2, count);
      const ro = sub(roInf, div(mul(mul(2, count), b2t), sub(1, b2t)));
      const mHat = div(m, biasCorrection(h.b1, count));
      const vHat = div(v, biasCorrection(h.b2, count));
      // ρ_t >= threshold, a per-step 0 or 1 (a select between per-element
      // values on a per-step condition is not valid WGSL); r_t's radicand is
      // clamped at 0 so that the branch not taken is finite, not NaN
      const on = select(gt(h.threshold, ro), { then: 0, otherwise: 1 });
      const r = sqrt(
        max(
          div(
            mul(mul(sub(ro, 4), sub(ro, 2)), roInf),
            mul(mul(sub(roInf, 4), sub(roInf, 2)), ro),
          ),
          0,
        ),
      );
      const denom = add(sqrt(add(vHat, h.epsRoot)), h.eps);
      const rectified = divUnlessZero(mul(r, mHat), denom, eps);
      // exactly m̂ or exactly the rectified step: x · 0 + y is y
      const update = add(mul(mHat, sub(1, on)), mul(rectified, on));
      return { update, slots: { mu: m, nu: v } };
    },
  }) as GradientTransformation<ScaleByAdamState>;
}
