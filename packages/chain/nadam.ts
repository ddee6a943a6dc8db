/**
 * Nadam: Adam with Nesterov momentum (Dozat 2016), as a transform
 * ({@linkcode scaleByNadam}) and as an optimizer ({@linkcode nadam}).
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
import { add, div, elementwise, mul, sqrt, square, sub } from "./expr.ts";
import type { ScaleByAdamState } from "./scale_by_adam.ts";
import type {
  GradientTransformation,
  Hyper,
  ScalarOrSchedule,
} from "./types.ts";

/** Options of {@linkcode scaleByNadam}. */
export interface ScaleByNadamOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: Hyper;
  /** Decay of the second moment. Default 0.999. */
  b2?: Hyper;
  /** Added to the denominator outside the square root. Default 1e-8 (optax, PyTorch). */
  eps?: Hyper;
  /** Added to the second moment inside the square root. Default 0. */
  epsRoot?: Hyper;
}

/**
 * Rescales updates by Nadam's moments: with `m`, `v` Adam's moments after
 * step `t`, `m̂ = b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t)` (the
 * Nesterov look-ahead), `v̂ = v / (1 - b2^t)` and the update
 * `m̂ / (sqrt(v̂ + epsRoot) + eps)`. This is optax's
 * `scale_by_adam(nesterov=True)`; like optax and PyTorch it leaves out the
 * extra factor `b2` on `v̂` of the paper's Algorithm 2. The state has Adam's
 * shape (`count`, `mu`, `nu`; `nuMax` stays empty).
 *
 * Reference: T. Dozat, "Incorporating Nesterov Momentum into Adam", ICLR
 * 2016 workshop.
 *
 * @param options Decays and epsilons.
 * @returns A transformation with a count and two moments per parameter.
 * @throws {TypeError} For an unknown option or one of the wrong kind.
 * @throws {RangeError} For a decay outside `[0, 1)` or a negative epsilon.
 *
 * @example The first step is `(1 + 2 b1) / (1 + b1)` times the sign of `g`
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByNadam } from "@centra/chain/nadam";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByNadam({ b1: 0.5, eps: 0 });
 * const [u] = tx.update({ w: tf.tensor1d([-4, 2]) }, tx.init({ w: tf.zeros([2]) }));
 * const want = [-4 / 3, 4 / 3]; // (1 + 2 * 0.5) / (1 + 0.5)
 * u.w!.dataSync().forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-6));
 * ```
 */
export function scaleByNadam(
  options: ScaleByNadamOptions = {},
): GradientTransformation<ScaleByAdamState> {
  const where = "scaleByNadam";
  checkOptions(where, options, MOMENT_KINDS);
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0 } = options;
  return elementwise({
    where,
    hypers: momentHypers({ b1, b2, eps, epsRoot }),
    // Adam's state shape: nuMax stays empty
    slots: { mu: 0, nu: 0, nuMax: null },
    math: ({ g, count, hypers: h, slots: s }) => {
      const m = lerp(h.b1, s.mu, sub(1, h.b1), g);
      const v = lerp(h.b2, s.nu, sub(1, h.b2), square(g));
      const mHat = add(
        div(mul(h.b1, m), biasCorrection(h.b1, add(count, 1))),
        div(mul(sub(1, h.b1), g), biasCorrection(h.b1, count)),
      );
      const denom = add(
        sqrt(add(div(v, biasCorrection(h.b2, count)), h.epsRoot)),
        h.eps,
      );
      const update = divUnlessZero(mHat, denom, eps);
      return { update, slots: { mu: m, nu: v } };
    },
  }) as GradientTransformation<ScaleByAdamState>;
}

/**
 * The options {@linkcode nadam} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const NADAM_OPTIONS: Readonly<Record<string, OptionKind>> = withGc(
  MOMENT_KINDS,
);

/** Options of {@linkcode nadam}. */
export interface NadamOptions extends ScaleByNadamOptions, GcOptions {}

/**
 * Nadam: `chain(scaleByNadam(), scaleByLearningRate(lr))`, with GC on the
 * gradient (default) or on the scaled update, as optax's `nadam`.
 *
 * Reference: T. Dozat, "Incorporating Nesterov Momentum into Adam", ICLR
 * 2016 workshop.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, epsilons and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode NADAM_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, nadam, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2]) };
 * const tx = nadam(0.01);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([3, -0.5]) }, initState(tx, params), params);
 * // the first step has size lr (1 + 2 b1) / (1 + b1) in every coordinate
 * const size = 0.01 * (1 + 2 * 0.9) / (1 + 0.9);
 * assert.ok(u.w!.abs().sub(size).abs().max().dataSync()[0]! < 1e-6);
 * ```
 */
export function nadam(
  learningRate: ScalarOrSchedule,
  options: NadamOptions = {},
): GradientTransformation<unknown[]> {
  return alias("nadam", learningRate, options, NADAM_OPTIONS, scaleByNadam);
}
