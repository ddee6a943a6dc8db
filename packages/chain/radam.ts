/**
 * RAdam: Rectified Adam (Liu et al. 2019), as a transform
 * ({@linkcode scaleByRadam}) and as an optimizer ({@linkcode radam}).
 *
 * @module
 */
import { checkOptions, type OptionKind } from "./_check.ts";
import {
  biasCorrection,
  divUnlessZero,
  lerp,
  momentHypers,
} from "./_per_param.ts";
import { alias, type GcOptions, MOMENT_KINDS, withGc } from "./_optimizer.ts";
import {
  add,
  constant,
  div,
  elementwise,
  type Expr,
  gt,
  min,
  mul,
  powInt,
  select,
  sqrt,
  square,
  sub,
} from "./expr.ts";
import type { ScaleByAdamState } from "./scale_by_adam.ts";
import type {
  GradientTransformation,
  Hyper,
  ScalarOrSchedule,
} from "./types.ts";

/** Options of {@linkcode scaleByRadam}. */
export interface ScaleByRadamOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: Hyper;
  /** Decay of the second moment. Default 0.999. */
  b2?: Hyper;
  /** Added to the denominator outside the square root. Default 1e-8. */
  eps?: Hyper;
  /** Added to the second moment inside the square root. Default 0. */
  epsRoot?: Hyper;
  /**
   * The length `ρ_t` of the approximated SMA from which the step is
   * rectified; below it the step is the bias-corrected momentum alone.
   * Default 5 (optax; the paper uses 4). At least 4: for `2 < ρ_t < 4` the
   * rectification is the square root of a negative number.
   */
  threshold?: Hyper;
  /** Use Nesterov's look-ahead first moment, as `scaleByNadam`. Default false. */
  nesterov?: boolean;
}

/**
 * RAdam's `ρ_t = ρ∞ - 2 t β^t / (1 - β^t)` and `1 - β^t`, for `β = 1 - s`,
 * to float32's relative precision. `ρ_t` is the difference of two numbers
 * near `2 / s`; in float32 that difference (with `1 - β^t` from
 * `1 - powInt(β, t)`) is off by up to 0.03 at `β = 0.999`, and by ~2/s
 * ulps at best. While `t s < 1/2` both come from their binomial series
 * instead, `1 - β^t = s Σ_{k≥1} (-1)^(k+1) C(t,k) s^(k-1)` and
 * `ρ_t = Σ_{k≥2} (-1)^(k+1) (2 C(t,k) - (2t - 1) C(t,k-1)) s^(k-2) /
 * Σ_{k≥1} (-1)^(k+1) C(t,k) s^(k-1)`, whose leading terms `t²` and `t`
 * cancel nothing (10 terms leave a relative error below 1e-9); beyond,
 * `ρ_t` is large and the closed form is accurate.
 */
function rhoAndCorrection(
  b: Expr,
  s: Expr,
  t: Expr,
): { rho: Expr; correction: Expr } {
  // the series is not taken past t s = 1/2; clamping t keeps its terms
  // finite there, since `select` evaluates both branches
  const tc = min(t, div(0.5, s));
  let e: Expr = tc; // C(t, k - 1) s^(k - 2)
  let f = div(mul(tc, sub(tc, 1)), 2); // C(t, k) s^(k - 2)
  let cOverS: Expr = tc;
  let numerator: Expr = constant(0);
  for (let k = 2; k <= 10; k++) {
    const term = sub(mul(2, f), mul(sub(mul(2, tc), 1), e));
    numerator = k % 2 === 1 ? add(numerator, term) : sub(numerator, term);
    e = mul(f, s);
    cOverS = k % 2 === 1 ? add(cOverS, e) : sub(cOverS, e);
    f = mul(mul(f, sub(tc, k)), div(s, k + 1));
  }
  const bt = powInt(b, t);
  const closed = sub(1, bt);
  const series = gt(0.5, mul(t, s));
  return {
    rho: select(series, {
      then: div(numerator, cOverS),
      otherwise: sub(sub(div(2, s), 1), div(mul(mul(2, t), bt), closed)),
    }),
    correction: select(series, { then: mul(cOverS, s), otherwise: closed }),
  };
}

/** The Nesterov form of the corrected first moment (optax's `nesterov`). */
function nesterovMHat(b1: Expr, m: Expr, g: Expr, count: Expr): Expr {
  return add(
    div(mul(b1, m), biasCorrection(b1, add(count, 1))),
    div(mul(sub(1, b1), g), biasCorrection(b1, count)),
  );
}

/**
 * Step `count`'s `ρ_t`, the second moment's bias correction and the
 * rectification `r_t = sqrt((ρ_t - 4)(ρ_t - 2) ρ_∞ / ((ρ_∞ - 4)(ρ_∞ - 2) ρ_t))`.
 */
function rectification(
  b2: Expr,
  count: Expr,
): { rho: Expr; correction: Expr; r: Expr } {
  // b2 < 1 in float32 (its range is checked on the float32 value)
  const oneMinusB2 = sub(1, b2);
  const { rho, correction } = rhoAndCorrection(b2, oneMinusB2, count);
  const rhoInf = sub(div(2, oneMinusB2), 1);
  const r = sqrt(
    div(
      mul(mul(sub(rho, 4), sub(rho, 2)), rhoInf),
      mul(mul(sub(rhoInf, 4), sub(rhoInf, 2)), rho),
    ),
  );
  return { rho, correction, r };
}

/**
 * Rescales updates by RAdam's moments, as optax's `scale_by_radam`: Adam's
 * `m`, `v` and `m̂ = m / (1 - b1^t)` (or Nesterov's), `ρ∞ = 2 / (1 - b2) -
 * 1` and `ρ_t = ρ∞ - 2 t b2^t / (1 - b2^t)`; while `ρ_t < threshold` the
 * update is `m̂`, from then on `r_t m̂ / (sqrt(v̂ + epsRoot) + eps)` with
 * `v̂ = v / (1 - b2^t)` and the rectification `r_t = sqrt((ρ_t - 4) (ρ_t -
 * 2) ρ∞ / ((ρ∞ - 4) (ρ∞ - 2) ρ_t))`. The state has Adam's shape (`count`,
 * `mu`, `nu`; `nuMax` stays empty).
 *
 * `ρ_t` and `1 - b2^t` are computed to float32's relative precision from
 * their series in the first steps (`r_t` within 1e-5 of float64), where
 * the closed form in float32 moves `ρ_t` by up to 0.03 and `r_t` by 0.4% at
 * `b2 = 0.999`.
 *
 * Reference: L. Liu, H. Jiang, P. He, W. Chen, X. Liu, J. Gao and J. Han,
 * "On the Variance of the Adaptive Learning Rate and Beyond", ICLR 2020,
 * arXiv:1908.03265, Algorithm 2.
 *
 * @param options Decays, epsilons, threshold and Nesterov.
 * @returns A transformation with a count and two moments per parameter.
 * @throws {TypeError} For an unknown option or one of the wrong kind.
 * @throws {RangeError} For a decay outside `[0, 1)`, a negative epsilon or
 * a threshold below 4.
 *
 * @example The first steps are momentum SGD: `ρ_1 = 1` is below the threshold
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByRadam } from "@centra/chain/radam";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByRadam();
 * const [u] = tx.update({ w: tf.tensor1d([3, -0.5]) }, tx.init({ w: tf.zeros([2]) }));
 * assert.deepEqual(Array.from(u.w!.dataSync()), [3, -0.5]); // m̂ = g
 * ```
 */
export function scaleByRadam(
  options: ScaleByRadamOptions = {},
): GradientTransformation<ScaleByAdamState> {
  const where = "scaleByRadam";
  checkOptions(where, options, RADAM_KINDS);
  const {
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-8,
    epsRoot = 0,
    threshold = 5,
    nesterov = false,
  } = options;
  return elementwise({
    where,
    hypers: {
      ...momentHypers({ b1, b2, eps, epsRoot }),
      threshold: [threshold, { min: 4 }],
    },
    slots: { mu: 0, nu: 0, nuMax: null },
    math: ({ g, count, hypers: h, slots: s }) => {
      const m = lerp(h.b1, s.mu, sub(1, h.b1), g);
      const v = lerp(h.b2, s.nu, sub(1, h.b2), square(g));
      const mHat = nesterov
        ? nesterovMHat(h.b1, m, g, count)
        : div(m, biasCorrection(h.b1, count));
      const { rho, correction: c2, r } = rectification(h.b2, count);
      const denom = add(sqrt(add(div(v, c2), h.epsRoot)), h.eps);
      // ρ_t >= threshold, as optax, as two per-step scalars (1, 0) or (0,
      // r_t): a select on a per-step condition between per-element values
      // is not fusable today, and the sum is exactly the one it would pick
      const early = gt(h.threshold, rho);
      const plain = select(early, { then: 1, otherwise: 0 });
      const rectify = select(early, { then: 0, otherwise: r });
      const update = add(
        mul(plain, mHat),
        mul(rectify, divUnlessZero(mHat, denom, eps)),
      );
      return { update, slots: { mu: m, nu: v } };
    },
  }) as GradientTransformation<ScaleByAdamState>;
}

/** The options of {@linkcode scaleByRadam} and the kind of each. */
const RADAM_KINDS: Readonly<Record<string, OptionKind>> = {
  ...MOMENT_KINDS,
  threshold: "hyper",
  nesterov: "boolean",
};

/**
 * The options {@linkcode radam} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const RADAM_OPTIONS: Readonly<Record<string, OptionKind>> = withGc(
  RADAM_KINDS,
);

/** Options of {@linkcode radam}. */
export interface RadamOptions extends ScaleByRadamOptions, GcOptions {}

/**
 * RAdam: `chain(scaleByRadam(), scaleByLearningRate(lr))`, with GC on the
 * gradient (default) or on the scaled update, as optax's `radam`. The step
 * is `w ← w - lr m̂` while `ρ_t < 5` and `w ← w - lr r_t m̂ / (sqrt(v̂) +
 * eps)` from then on, with the quantities of {@linkcode scaleByRadam}.
 *
 * Choices: optax's threshold 5 (PyTorch's `rho_t > 5` too; the paper's
 * Algorithm 2 uses 4) and optax's defaults otherwise.
 *
 * Reference: L. Liu, H. Jiang, P. He, W. Chen, X. Liu, J. Gao and J. Han,
 * "On the Variance of the Adaptive Learning Rate and Beyond", ICLR 2020,
 * arXiv:1908.03265.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, epsilons, threshold, Nesterov and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode RADAM_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, radam, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2]) };
 * const tx = radam(0.01);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([3, -0.5]) }, initState(tx, params), params);
 * // the first step is -lr m̂ = -lr g: no adaptive scaling yet
 * assert.ok(u.w!.sub(tf.tensor1d([-0.03, 0.005])).abs().max().dataSync()[0]! < 1e-8);
 * ```
 */
export function radam(
  learningRate: ScalarOrSchedule,
  options: RadamOptions = {},
): GradientTransformation<unknown[]> {
  return alias("radam", learningRate, options, RADAM_OPTIONS, scaleByRadam);
}
