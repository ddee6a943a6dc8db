/**
 * Adamax: Adam with the infinity norm (Kingma and Ba 2015, section 7.1), as a
 * transform ({@linkcode scaleByAdamax}) and as an optimizer
 * ({@linkcode adamax}).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { checkOptions, type OptionKind } from "./_check.ts";
import {
  biasCorrection,
  divUnlessZero,
  lerp,
  type PerParam,
} from "./_per_param.ts";
import { alias, type GcOptions, withGc } from "./_optimizer.ts";
import { abs, add, div, elementwise, max, mul, sub } from "./expr.ts";
import type {
  GradientTransformation,
  Hyper,
  ScalarOrSchedule,
} from "./types.ts";

/** Options of {@linkcode scaleByAdamax}. */
export interface ScaleByAdamaxOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: Hyper;
  /** Decay of the infinity norm. Default 0.999. */
  b2?: Hyper;
  /**
   * Added to `|g|` inside the maximum (optax, PyTorch). Default 1e-8 (optax;
   * tfjs and Keras add 1e-7 to the norm outside the maximum).
   */
  eps?: Hyper;
}

/** State of {@linkcode scaleByAdamax}. */
export interface ScaleByAdamaxState {
  /** Steps taken so far (float32 scalar). */
  count: tf.Scalar;
  /** First moments, keyed by parameter name. */
  mu: PerParam;
  /** Exponentially weighted infinity norms, keyed by parameter name. */
  nu: PerParam;
}

/**
 * Rescales updates by Adamax's moments (optax's `scale_by_adamax`): at step
 * `t`, `m = b1 m + (1 - b1) g`, `u = max(b2 u, |g| + eps)` and the update
 * `m / (1 - b1^t) / u`. The infinity norm needs no bias correction.
 *
 * Choices: `eps` enters as in optax and PyTorch, inside the maximum; tfjs
 * and Keras take `m̂ / (max(b2 u, |g|) + eps)`. The two agree exactly for
 * `eps = 0` and differ by at most a relative `eps / u` otherwise.
 *
 * Reference: D. P. Kingma and J. Ba, "Adam: A Method for Stochastic
 * Optimization", ICLR 2015, arXiv:1412.6980, Algorithm 2.
 *
 * @param options Decays and epsilon.
 * @returns A transformation with a count and two tensors per parameter.
 * @throws {TypeError} For an unknown option or one of the wrong kind.
 * @throws {RangeError} For a decay outside `[0, 1)` or a negative epsilon.
 *
 * @example The first step is the sign of `g` (scaled by `|g| / (|g| + eps)`)
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByAdamax } from "@centra/chain/adamax";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByAdamax({ eps: 0 });
 * const [u] = tx.update({ w: tf.tensor1d([-4, 0.5]) }, tx.init({ w: tf.zeros([2]) }));
 * assert.deepEqual(Array.from(u.w!.dataSync()), [-1, 1]);
 * ```
 */
export function scaleByAdamax(
  options: ScaleByAdamaxOptions = {},
): GradientTransformation<ScaleByAdamaxState> {
  const where = "scaleByAdamax";
  checkOptions(where, options, ADAMAX_KINDS);
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8 } = options;
  return elementwise({
    where,
    hypers: {
      b1: [b1, { min: 0, max: 1, maxOpen: true }],
      b2: [b2, { min: 0, max: 1, maxOpen: true }],
      eps: [eps, { min: 0 }],
    },
    slots: { mu: 0, nu: 0 },
    math: ({ g, count, hypers: h, slots: s }) => {
      const m = lerp(h.b1, s.mu, sub(1, h.b1), g);
      const u = max(mul(h.b2, s.nu), add(abs(g), h.eps));
      const mHat = div(m, biasCorrection(h.b1, count));
      return { update: divUnlessZero(mHat, u, eps), slots: { mu: m, nu: u } };
    },
  }) as GradientTransformation<ScaleByAdamaxState>;
}

/** The options of {@linkcode scaleByAdamax} and the kind of each. */
const ADAMAX_KINDS: Readonly<Record<string, OptionKind>> = {
  b1: "hyper",
  b2: "hyper",
  eps: "hyper",
};

/**
 * The options {@linkcode adamax} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const ADAMAX_OPTIONS: Readonly<Record<string, OptionKind>> = withGc(
  ADAMAX_KINDS,
);

/** Options of {@linkcode adamax}. */
export interface AdamaxOptions extends ScaleByAdamaxOptions, GcOptions {}

/**
 * Adamax: `chain(scaleByAdamax(), scaleByLearningRate(lr))`, with GC on the
 * gradient (default) or on the scaled update, as optax's `adamax`. The step
 * is `w ← w - lr m / (1 - b1^t) / u` with `m`, `u` of
 * {@linkcode scaleByAdamax}; with GC on the gradient, `g` is `P g`.
 *
 * Choices: optax's defaults (`b1` 0.9, `b2` 0.999, `eps` 1e-8, inside the
 * maximum). `tf.train.adamax(lr, 0.9, 0.999, 1e-7)` is matched, within a
 * relative `eps / u`, by `adamax(lr, { eps: 1e-7 })` (tfjs's `decay`, a
 * rate `lr / (1 + decay t)`, is a learning-rate schedule here).
 *
 * Reference: D. P. Kingma and J. Ba, "Adam: A Method for Stochastic
 * Optimization", ICLR 2015, arXiv:1412.6980, section 7.1.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, epsilon and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode ADAMAX_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adamax, initState, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2]) };
 * const tx = adamax(0.002);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([3, -0.5]) }, initState(tx, params), params);
 * // the first step is lr in every coordinate, against the gradient's sign
 * assert.ok(u.w!.sub(tf.tensor1d([-0.002, 0.002])).abs().max().dataSync()[0]! < 1e-8);
 * ```
 */
export function adamax(
  learningRate: ScalarOrSchedule,
  options: AdamaxOptions = {},
): GradientTransformation<unknown[]> {
  return alias("adamax", learningRate, options, ADAMAX_OPTIONS, scaleByAdamax);
}
