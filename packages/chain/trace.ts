import type * as tf from "@tensorflow/tfjs";
import { checkOptions } from "./_check.ts";
import { add, div, elementwise, mul, sub } from "./expr.ts";
import { biasCorrection, lerp, type PerParam } from "./_per_param.ts";
import type { GradientTransformation, Hyper } from "./types.ts";

/** Options of {@linkcode trace}. */
export interface TraceOptions {
  /** Nesterov momentum: the update is `g + decay * m` with the new `m`. Default false. */
  nesterov?: boolean;
}

/** State of {@linkcode trace}: the momentum buffer per parameter. */
export interface TraceState {
  /** The running trace `m`, keyed by parameter name. */
  trace: PerParam;
}

/**
 * Momentum as tfjs and PyTorch compute it: `m = decay * m + g`, update `m`
 * (or `g + decay * m` with Nesterov). Follow it with `scaleByLearningRate`.
 *
 * Reference: I. Sutskever, J. Martens, G. Dahl, G. Hinton, "On the
 * importance of initialization and momentum in deep learning", ICML 2013.
 *
 * @param decay The momentum factor in [0, 1].
 * @param options Nesterov or not.
 * @returns A transformation with one buffer per parameter.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { trace } from "@centra/chain/trace";
 * import assert from "node:assert/strict";
 *
 * const tx = trace(0.5);
 * let s = tx.init({ w: tf.zeros([1]) });
 * let u;
 * [u, s] = tx.update({ w: tf.tensor1d([2]) }, s);
 * [u, s] = tx.update({ w: tf.tensor1d([2]) }, s);
 * assert.equal(u.w!.dataSync()[0], 3); // 0.5 * 2 + 2
 * ```
 */
export function trace(
  decay: Hyper,
  options: TraceOptions = {},
): GradientTransformation<TraceState> {
  checkOptions("trace", options, { nesterov: "boolean" });
  const nesterov = options.nesterov ?? false;
  return elementwise({
    where: "trace",
    hypers: { decay: [decay, { min: 0, max: 1 }] },
    slots: { trace: 0 },
    math: ({ g, hypers: { decay: d }, slots: s }) => {
      const m = add(g, mul(d, s.trace));
      return { update: nesterov ? add(g, mul(d, m)) : m, slots: { trace: m } };
    },
  }) as GradientTransformation<TraceState>;
}

/** Options of {@linkcode ema}. */
export interface EmaOptions {
  /** Divide by `1 - decay^t` (Adam's bias correction). Default true. */
  debias?: boolean;
}

/** State of {@linkcode ema}: step count and the running average per parameter. */
export interface EmaState {
  /** Steps taken so far (float32 scalar). */
  count: tf.Scalar;
  /** The running average, keyed by parameter name. */
  ema: PerParam;
}

/**
 * Exponential moving average of the updates:
 * `m = decay * m + (1 - decay) * g`, optionally debiased. With `debias:
 * false` and `scaleByLearningRate` after it, this is the momentum of the
 * paper's Algorithm 1.
 *
 * @param decay The decay in [0, 1].
 * @param options Whether to debias.
 * @returns A transformation with a count and one average per parameter.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ema } from "@centra/chain/trace";
 * import assert from "node:assert/strict";
 *
 * const tx = ema(0.5, { debias: false });
 * const [u] = tx.update({ w: tf.tensor1d([2]) }, tx.init({ w: tf.zeros([1]) }));
 * assert.equal(u.w!.dataSync()[0], 1);
 * ```
 */
export function ema(
  decay: Hyper,
  options: EmaOptions = {},
): GradientTransformation<EmaState> {
  checkOptions("ema", options, { debias: "boolean" });
  const debias = options.debias ?? true;
  return elementwise({
    where: "ema",
    // optax's ema counts steps also without debiasing: the same state
    counts: true,
    hypers: { decay: [decay, { min: 0, max: 1 }] },
    slots: { ema: 0 },
    math: ({ g, count, hypers: { decay: d }, slots: s }) => {
      const m = lerp(d, s.ema, sub(1, d), g);
      return {
        update: debias ? div(m, biasCorrection(d, count)) : m,
        slots: { ema: m },
      };
    },
  }) as GradientTransformation<EmaState>;
}
