/**
 * AMSGrad (Reddi et al. 2018) as optax defines it, as a transform
 * ({@linkcode scaleByAmsgrad}) and as an optimizer ({@linkcode amsgrad}).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { checkOptions, type OptionKind } from "./_check.ts";
import {
  biasCorrection,
  divUnlessZero,
  lerp,
  momentHypers,
  type PerParam,
} from "./_per_param.ts";
import { alias, type GcOptions, MOMENT_KINDS, withGc } from "./_optimizer.ts";
import { add, div, elementwise, max, sqrt, square, sub } from "./expr.ts";
import type {
  GradientTransformation,
  Hyper,
  ScalarOrSchedule,
} from "./types.ts";

/** Options of {@linkcode scaleByAmsgrad}. */
export interface ScaleByAmsgradOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: Hyper;
  /** Decay of the second moment. Default 0.999. */
  b2?: Hyper;
  /** Added to the denominator outside the square root. Default 1e-8. */
  eps?: Hyper;
  /** Added to the running maximum inside the square root. Default 0. */
  epsRoot?: Hyper;
  /** Divide the first moment by `1 - b1^t`. Default true (false: the paper's Algorithm 2). */
  biasCorrectionMu?: boolean;
  /** Divide the second moment by `1 - b2^t` before the maximum. Default true (false: the paper's). */
  biasCorrectionNu?: boolean;
}

/** State of {@linkcode scaleByAmsgrad}. */
export interface ScaleByAmsgradState {
  /** Steps taken so far (float32 scalar). */
  count: tf.Scalar;
  /** First moments, keyed by parameter name. */
  mu: PerParam;
  /** Second moments, keyed by parameter name. */
  nu: PerParam;
  /** Running maxima of the (bias-corrected) second moments. */
  nuMax: PerParam;
}

/**
 * Rescales updates by AMSGrad's moments, as optax's `scale_by_amsgrad`:
 * `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g²`, `v̂max = max(v̂max,
 * v / (1 - b2^t))` and the update `m / (1 - b1^t) / (sqrt(v̂max + epsRoot) +
 * eps)`.
 *
 * Choices: this is optax's form, the maximum over the bias-corrected second
 * moment. `adam(lr, { amsgrad: true })` is PyTorch's form instead (the
 * maximum over the raw `v`, corrected afterwards), which takes larger steps
 * at first; the two differ from the second step on.
 *
 * Reference: S. J. Reddi, S. Kale and S. Kumar, "On the Convergence of Adam
 * and Beyond", ICLR 2018, arXiv:1904.09237.
 *
 * @param options Decays, epsilons and bias corrections.
 * @returns A transformation with a count and three tensors per parameter.
 * @throws {TypeError} For an unknown option or one of the wrong kind.
 * @throws {RangeError} For a decay outside `[0, 1)` or a negative epsilon.
 *
 * @example A smaller gradient after a large one: the maximum keeps the step small
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByAmsgrad } from "@centra/chain/amsgrad";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByAmsgrad({ b1: 0, b2: 0.5, eps: 0 });
 * let s = tx.init({ w: tf.zeros([1]) });
 * let u;
 * [u, s] = tx.update({ w: tf.tensor1d([4]) }, s); // v̂ = 16: step 1
 * [u, s] = tx.update({ w: tf.tensor1d([1]) }, s); // v̂ = (4 + 0.5) / 0.75 < 16
 * assert.ok(Math.abs(u.w!.dataSync()[0]! - 1 / 4) < 1e-6);
 * ```
 */
export function scaleByAmsgrad(
  options: ScaleByAmsgradOptions = {},
): GradientTransformation<ScaleByAmsgradState> {
  const where = "scaleByAmsgrad";
  checkOptions(where, options, AMSGRAD_KINDS);
  const {
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-8,
    epsRoot = 0,
    biasCorrectionMu = true,
    biasCorrectionNu = true,
  } = options;
  return elementwise({
    where,
    hypers: momentHypers({ b1, b2, eps, epsRoot }),
    slots: { mu: 0, nu: 0, nuMax: 0 },
    // count is read by the bias corrections; the state keeps it either way
    counts: true,
    math: ({ g, count, hypers: h, slots: s }) => {
      const m = lerp(h.b1, s.mu, sub(1, h.b1), g);
      const v = lerp(h.b2, s.nu, sub(1, h.b2), square(g));
      const mHat = biasCorrectionMu ? div(m, biasCorrection(h.b1, count)) : m;
      const vHat = biasCorrectionNu ? div(v, biasCorrection(h.b2, count)) : v;
      const vMax = max(s.nuMax, vHat);
      const denom = add(sqrt(add(vMax, h.epsRoot)), h.eps);
      return {
        update: divUnlessZero(mHat, denom, eps),
        slots: { mu: m, nu: v, nuMax: vMax },
      };
    },
  }) as GradientTransformation<ScaleByAmsgradState>;
}

/** The options of {@linkcode scaleByAmsgrad} and the kind of each. */
const AMSGRAD_KINDS: Readonly<Record<string, OptionKind>> = {
  ...MOMENT_KINDS,
  biasCorrectionMu: "boolean",
  biasCorrectionNu: "boolean",
};

/**
 * The options {@linkcode amsgrad} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const AMSGRAD_OPTIONS: Readonly<Record<string, OptionKind>> = withGc(
  AMSGRAD_KINDS,
);

/** Options of {@linkcode amsgrad}. */
export interface AmsgradOptions extends ScaleByAmsgradOptions, GcOptions {}

/**
 * AMSGrad: `chain(scaleByAmsgrad(), scaleByLearningRate(lr))`, with GC on the
 * gradient (default) or on the scaled update, as optax's `amsgrad`. The step
 * is `w ← w - lr m̂ / (sqrt(v̂max + epsRoot) + eps)` with the moments of
 * {@linkcode scaleByAmsgrad}.
 *
 * Reference: S. J. Reddi, S. Kale and S. Kumar, "On the Convergence of Adam
 * and Beyond", ICLR 2018, arXiv:1904.09237.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, epsilons, bias corrections and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode AMSGRAD_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { amsgrad, initState, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2]) };
 * const tx = amsgrad(0.01);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([3, -0.5]) }, initState(tx, params), params);
 * // the first step is Adam's: lr against the gradient's sign
 * assert.ok(u.w!.sub(tf.tensor1d([-0.01, 0.01])).abs().max().dataSync()[0]! < 1e-6);
 * ```
 */
export function amsgrad(
  learningRate: ScalarOrSchedule,
  options: AmsgradOptions = {},
): GradientTransformation<unknown[]> {
  return alias(
    "amsgrad",
    learningRate,
    options,
    AMSGRAD_OPTIONS,
    scaleByAmsgrad,
  );
}
