// Private helpers shared by the transforms that keep one tensor per parameter.
import * as tf from "@tensorflow/tfjs";
import { add, div, type Expr, gt, mul, powInt, select, sub } from "./_expr.ts";
import type { HyperRange } from "./_check.ts";
import type { Hyper } from "./types.ts";
import type { Params, PerParam } from "./types.ts";

export type { PerParam } from "./types.ts";

/** A tensor like each parameter, filled with `value`, in float32. */
export function fillLike(params: Params, value = 0): PerParam {
  const out: PerParam = {};
  for (const [k, p] of Object.entries(params)) {
    out[k] = value === 0
      ? tf.zeros(p.shape, "float32")
      : tf.fill(p.shape, value, "float32");
  }
  return out;
}

/** The old per-parameter map with the entries named in `fresh` replaced. */
export function carry(old: PerParam, fresh: PerParam): PerParam {
  return { ...old, ...fresh };
}

/** A float32 scalar step counter at zero. */
export function zeroCount(): tf.Scalar {
  return tf.scalar(0, "float32");
}

/**
 * `1 - decay^count`, Adam's bias correction, as an expression to divide by:
 * `decay^count` by `powInt` (the same float32 operations on every backend),
 * and 1 where the correction is 0 (a decay of 1, which only a tensor can
 * bring: numbers are range-checked), so that a moment that never moves is
 * left as it is instead of becoming 0/0.
 */
export function biasCorrection(decay: Expr, count: Expr): Expr {
  const c = sub(1, powInt(decay, count));
  return select(gt(c, 0), { then: c, otherwise: 1 });
}

/** `a * x + b * y`, as an expression. */
export function lerp(a: Expr, x: Expr, b: Expr, y: Expr): Expr {
  return add(mul(a, x), mul(b, y));
}

/**
 * `x / d` for an adaptive method's denominator `d`, which is 0 only when `eps`
 * is 0 (or a tensor) and no gradient has come yet: then `x` is 0 too and the
 * update is 0, not 0/0. A positive number `eps` rules that out, and the
 * select is left out of the expression.
 */
export function divUnlessZero(x: Expr, d: Expr, eps: Hyper): Expr {
  const positive = typeof eps === "number" && Math.fround(eps) > 0;
  return positive
    ? div(x, d)
    : select(gt(d, 0), { then: div(x, d), otherwise: mul(x, 0) });
}

/** The decays and epsilons of Adam-like moments. */
export interface MomentHypers {
  b1: Hyper;
  b2: Hyper;
  eps: Hyper;
  epsRoot: Hyper;
}

/**
 * Adam-like moments' hyperparameters with their ranges, for `elementwise`'s
 * `hypers`: decays in `[0, 1)`, epsilons non-negative.
 */
export function momentHypers(
  h: MomentHypers,
): Record<keyof MomentHypers, readonly [Hyper, HyperRange]> {
  return {
    b1: [h.b1, { min: 0, max: 1, maxOpen: true }],
    b2: [h.b2, { min: 0, max: 1, maxOpen: true }],
    eps: [h.eps, { min: 0 }],
    epsRoot: [h.epsRoot, { min: 0 }],
  };
}
