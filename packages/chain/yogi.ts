/**
 * Yogi (Zaheer et al. 2018), as a transform ({@linkcode scaleByYogi}) and as
 * an optimizer ({@linkcode yogi}).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { checkOptions, checkPlainHyper, type OptionKind } from "./_check.ts";
import {
  biasCorrection,
  divUnlessZero,
  lerp,
  momentHypers,
  type PerParam,
} from "./_per_param.ts";
import { alias, type GcOptions, MOMENT_KINDS, withGc } from "./_optimizer.ts";
import { add, div, elementwise, mul, sign, sqrt, square, sub } from "./expr.ts";
import type {
  GradientTransformation,
  Hyper,
  ScalarOrSchedule,
} from "./types.ts";

/** Options of {@linkcode scaleByYogi}. */
export interface ScaleByYogiOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: Hyper;
  /** Rate of the additive second-moment update. Default 0.999. */
  b2?: Hyper;
  /** Added to the denominator outside the square root. Default 1e-3 (optax, the paper). */
  eps?: Hyper;
  /** Added to the second moment inside the square root. Default 0. */
  epsRoot?: Hyper;
  /** The start of both moments, `m0 = v0`. Default 1e-6 (optax). */
  initialAccumulatorValue?: number;
}

/** State of {@linkcode scaleByYogi}. */
export interface ScaleByYogiState {
  /** Steps taken so far (float32 scalar). */
  count: tf.Scalar;
  /** First moments, keyed by parameter name. */
  mu: PerParam;
  /** Second moments, keyed by parameter name. */
  nu: PerParam;
}

/**
 * Rescales updates by Yogi's moments (optax's `scale_by_yogi`): `m = b1 m +
 * (1 - b1) g`, the additive second moment `v = v - (1 - b2) sign(v - g²) g²`,
 * and the update `m / (1 - b1^t) / (sqrt(v / (1 - b2^t) + epsRoot) + eps)`.
 * Both moments start at `initialAccumulatorValue`, as in optax. `v` moves
 * towards `g²` by at most `(1 - b2) g²` a step, so it never goes negative.
 *
 * Reference: M. Zaheer, S. Reddi, D. Sachan, S. Kale and S. Kumar,
 * "Adaptive Methods for Nonconvex Optimization", NeurIPS 2018, Algorithm 2.
 *
 * @param options Decays, epsilons and the moments' start.
 * @returns A transformation with a count and two moments per parameter.
 * @throws {TypeError} For an unknown option or one of the wrong kind.
 * @throws {RangeError} For a decay outside `[0, 1)`, a negative epsilon or
 * a negative start.
 *
 * @example With `v` above `g²`, `v` falls by `(1 - b2) g²`
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByYogi } from "@centra/chain/yogi";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByYogi({ b1: 0, b2: 0.5, eps: 0, initialAccumulatorValue: 8 });
 * const [u] = tx.update({ w: tf.tensor1d([2]) }, tx.init({ w: tf.zeros([1]) }));
 * // m = 2, v = 8 - 0.5 * 4 = 6, v̂ = 6 / 0.5 = 12
 * assert.ok(Math.abs(u.w!.dataSync()[0]! - 2 / Math.sqrt(12)) < 1e-6);
 * ```
 */
export function scaleByYogi(
  options: ScaleByYogiOptions = {},
): GradientTransformation<ScaleByYogiState> {
  const where = "scaleByYogi";
  checkOptions(where, options, YOGI_KINDS);
  const {
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-3,
    epsRoot = 0,
    initialAccumulatorValue = 1e-6,
  } = options;
  checkPlainHyper(where, "initialAccumulatorValue", initialAccumulatorValue, {
    min: 0,
  });
  return elementwise({
    where,
    hypers: momentHypers({ b1, b2, eps, epsRoot }),
    slots: { mu: initialAccumulatorValue, nu: initialAccumulatorValue },
    math: ({ g, count, hypers: h, slots: s }) => {
      const m = lerp(h.b1, s.mu, sub(1, h.b1), g);
      const g2 = square(g);
      const v = sub(s.nu, mul(mul(sub(1, h.b2), sign(sub(s.nu, g2))), g2));
      const mHat = div(m, biasCorrection(h.b1, count));
      const denom = add(
        sqrt(add(div(v, biasCorrection(h.b2, count)), h.epsRoot)),
        h.eps,
      );
      return {
        update: divUnlessZero(mHat, denom, eps),
        slots: { mu: m, nu: v },
      };
    },
  }) as GradientTransformation<ScaleByYogiState>;
}

/** The options of {@linkcode scaleByYogi} and the kind of each. */
const YOGI_KINDS: Readonly<Record<string, OptionKind>> = {
  ...MOMENT_KINDS,
  initialAccumulatorValue: "number",
};

/**
 * The options {@linkcode yogi} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const YOGI_OPTIONS: Readonly<Record<string, OptionKind>> = withGc(
  YOGI_KINDS,
);

/** Options of {@linkcode yogi}. */
export interface YogiOptions extends ScaleByYogiOptions, GcOptions {}

/**
 * Yogi: `chain(scaleByYogi(), scaleByLearningRate(lr))`, with GC on the
 * gradient (default) or on the scaled update, as optax's `yogi` (whose
 * defaults it takes: `b1` 0.9, `b2` 0.999, `eps` 1e-3, moments from 1e-6).
 * The step is `w ← w - lr m̂ / (sqrt(v̂ + epsRoot) + eps)` with the moments
 * of {@linkcode scaleByYogi}.
 *
 * Reference: M. Zaheer, S. Reddi, D. Sachan, S. Kale and S. Kumar,
 * "Adaptive Methods for Nonconvex Optimization", NeurIPS 2018.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, epsilons, the moments' start and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode YOGI_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, runUpdate, yogi } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2]) };
 * const tx = yogi(0.01);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([3, -0.5]) }, initState(tx, params), params);
 * // v starts below g², so it grows: the first step is close to lr sign(g)
 * const w = u.w!.dataSync();
 * assert.ok(w[0]! < -0.009 && w[0]! > -0.0101 && w[1]! > 0.009 && w[1]! < 0.0101);
 * ```
 */
export function yogi(
  learningRate: ScalarOrSchedule,
  options: YogiOptions = {},
): GradientTransformation<unknown[]> {
  return alias("yogi", learningRate, options, YOGI_OPTIONS, scaleByYogi);
}
