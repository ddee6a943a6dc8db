import { checkOptions, checkPlainHyper } from "./_check.ts";
import {
  add,
  div,
  elementwise,
  gt,
  max,
  select,
  sqrt,
  square,
  sub,
} from "./expr.ts";
import { divUnlessZero, lerp, type PerParam } from "./_per_param.ts";
import type { GradientTransformation, Hyper } from "./types.ts";

/** Options of {@linkcode scaleByRms}. */
export interface ScaleByRmsOptions {
  /** Decay of the mean square. Default 0.9. */
  decay?: Hyper;
  /** Added inside the square root. Default 1e-8 (PyTorch; tfjs and Keras use 1e-7). */
  eps?: Hyper;
  /** Initial mean square. Default 0 (tfjs, PyTorch). */
  initialScale?: number;
  /** Divide by the standard deviation instead (centred RMSProp). Default false. */
  centered?: boolean;
}

/** State of {@linkcode scaleByRms}. */
export interface ScaleByRmsState {
  /** Running mean of squared updates, keyed by parameter name. */
  nu: PerParam;
  /** Running mean of updates (centred only; empty otherwise). */
  mu: PerParam;
}

/**
 * RMSProp's scaling: `g / sqrt(v + eps)` with `v = decay * v + (1 - decay)
 * g²`; centred, `g / sqrt(v - m² + eps)`.
 *
 * Reference: T. Tieleman, G. Hinton, Lecture 6.5 "RMSProp", COURSERA:
 * Neural Networks for Machine Learning, 2012; A. Graves, "Generating
 * Sequences With Recurrent Neural Networks", 2013, arXiv:1308.0850
 * (centred).
 *
 * @param options Decay, eps, initial value and centring.
 * @returns A transformation with one or two buffers per parameter.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByRms } from "@centra/chain/scale-by-rms";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByRms({ decay: 0.75, eps: 0 });
 * const [u] = tx.update({ w: tf.tensor1d([2]) }, tx.init({ w: tf.zeros([1]) }));
 * assert.ok(Math.abs(u.w!.dataSync()[0]! - 2) < 1e-6); // 2 / sqrt(0.25 * 4)
 * ```
 */
export function scaleByRms(
  options: ScaleByRmsOptions = {},
): GradientTransformation<ScaleByRmsState> {
  const where = "scaleByRms";
  checkOptions(where, options, {
    decay: "hyper",
    eps: "hyper",
    initialScale: "number",
    centered: "boolean",
  });
  const { decay = 0.9, eps = 1e-8, initialScale = 0, centered = false } =
    options;
  checkPlainHyper(where, "initialScale", initialScale, { min: 0 });
  return elementwise({
    where,
    hypers: { decay: [decay, { min: 0, max: 1 }], eps: [eps, { min: 0 }] },
    slots: { nu: initialScale, mu: centered ? 0 : null },
    math: ({ g, hypers: h, slots: s }) => {
      const v = lerp(h.decay, s.nu, sub(1, h.decay), square(g));
      const m = centered ? lerp(h.decay, s.mu, sub(1, h.decay), g) : g;
      // v - m² is a variance, but rounding can make it slightly negative
      const denom = centered ? max(sub(v, square(m)), 0) : v;
      const root = sqrt(add(denom, h.eps));
      const update = divUnlessZero(g, root, eps);
      return { update, slots: centered ? { nu: v, mu: m } : { nu: v } };
    },
  }) as GradientTransformation<ScaleByRmsState>;
}

/** Options of {@linkcode scaleByRss}. */
export interface ScaleByRssOptions {
  /** Initial sum of squares. Default 0.1 (tfjs, optax, Keras). */
  initialAccumulatorValue?: number;
  /** Added inside the square root. Default 1e-7 (tfjs, optax). */
  eps?: Hyper;
}

/** State of {@linkcode scaleByRss}. */
export interface ScaleByRssState {
  /** Running sum of squared updates, keyed by parameter name. */
  sumOfSquares: PerParam;
}

/**
 * Adagrad's scaling: `g / sqrt(s + eps)` with `s = s + g²`.
 *
 * Reference: J. Duchi, E. Hazan, Y. Singer, "Adaptive Subgradient Methods
 * for Online Learning and Stochastic Optimization", JMLR 12, 2011.
 *
 * @param options Initial accumulator and eps.
 * @returns A transformation with one sum per parameter.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByRss } from "@centra/chain/scale-by-rms";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByRss({ initialAccumulatorValue: 0, eps: 0 });
 * const [u] = tx.update({ w: tf.tensor1d([-3]) }, tx.init({ w: tf.zeros([1]) }));
 * assert.equal(u.w!.dataSync()[0], -1);
 * ```
 */
export function scaleByRss(
  options: ScaleByRssOptions = {},
): GradientTransformation<ScaleByRssState> {
  const where = "scaleByRss";
  checkOptions(where, options, {
    initialAccumulatorValue: "number",
    eps: "hyper",
  });
  const { initialAccumulatorValue = 0.1, eps = 1e-7 } = options;
  checkPlainHyper(where, "initialAccumulatorValue", initialAccumulatorValue, {
    min: 0,
  });
  return elementwise({
    where,
    hypers: { eps: [eps, { min: 0 }] },
    slots: { sumOfSquares: initialAccumulatorValue },
    math: ({ g, hypers: h, slots: s }) => {
      const sum = add(s.sumOfSquares, square(g));
      const scaled = div(g, sqrt(add(sum, h.eps)));
      return {
        // with a zero start, a parameter whose gradients were all zero so
        // far gets no update
        update: initialAccumulatorValue > 0
          ? scaled
          : select(gt(sum, 0), { then: scaled, otherwise: 0 }),
        slots: { sumOfSquares: sum },
      };
    },
  }) as GradientTransformation<ScaleByRssState>;
}
