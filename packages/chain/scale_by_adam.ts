import * as tf from "@tensorflow/tfjs";
import { checkAgainst, checkOptions, checkPlainHyper } from "./_check.ts";
import {
  biasCorrection,
  fillLike,
  lerp,
  type PerParam,
  zeroCount,
} from "./_per_param.ts";
import {
  add,
  div,
  elementwise,
  gt,
  hyper,
  input,
  max,
  mul,
  select,
  slot,
  sqrt,
  square,
  type StageMath,
  sub,
} from "./expr.ts";
import type {
  GradientTransformation,
  Hyper,
  Params,
  Updates,
} from "./types.ts";

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
  checkPlainHyper(where, "b1", b1, { min: 0, max: 1, maxOpen: true });
  checkPlainHyper(where, "b2", b2, { min: 0, max: 1, maxOpen: true });
  checkPlainHyper(where, "eps", eps, { min: 0 });
  checkPlainHyper(where, "epsRoot", epsRoot, { min: 0 });
  const [hb1, hb2, hc] = [hyper("b1"), hyper("b2"), hyper("count")];
  const g = input("g");
  const m = lerp(hb1, slot("mu"), sub(1, hb1), g);
  const v = lerp(hb2, slot("nu"), sub(1, hb2), square(g));
  const second = amsgrad ? max(slot("nuMax"), v) : v;
  const denom = add(
    sqrt(add(div(second, biasCorrection(hb2, hc)), hyper("epsRoot"))),
    hyper("eps"),
  );
  const mHat = div(m, biasCorrection(hb1, hc));
  // a zero denominator (eps 0, no gradient yet) means a zero first moment:
  // no update rather than 0/0; a positive number eps rules it out
  const positiveEps = typeof eps === "number" && Math.fround(eps) > 0;
  // Annotated so that the two branches of `slots` check without
  // exactOptionalPropertyTypes too (a user's project may not set it).
  const math: StageMath = {
    update: positiveEps ? div(mHat, denom) : select(gt(denom, 0), {
      then: div(mHat, denom),
      otherwise: mul(mHat, 0),
    }),
    slots: amsgrad ? { mu: m, nu: v, nuMax: second } : { mu: m, nu: v },
  };
  return elementwise<ScaleByAdamState>({
    where,
    slots: ["mu", "nu", "nuMax"],
    init: (params: Params): ScaleByAdamState => ({
      count: zeroCount(),
      mu: fillLike(params),
      nu: fillLike(params),
      nuMax: amsgrad ? fillLike(params) : {},
    }),
    check: (updates: Updates, state: ScaleByAdamState) =>
      checkAgainst(where, updates, state.mu),
    step(state: ScaleByAdamState) {
      const count = tf.add(state.count, 1) as tf.Scalar;
      return { hypers: { b1, b2, eps, epsRoot, count }, rest: { count } };
    },
    math: () => math,
  });
}
