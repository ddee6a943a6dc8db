import * as tf from "@tensorflow/tfjs";
import { checkAgainst, checkOptions, checkPlainHyper } from "./_check.ts";
import {
  biasCorrection,
  fillLike,
  lerp,
  type PerParam,
  zeroCount,
} from "./_per_param.ts";
import { add, div, elementwise, hyper, input, mul, slot, sub } from "./expr.ts";
import type {
  GradientTransformation,
  Hyper,
  Params,
  Updates,
} from "./types.ts";

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
  checkPlainHyper("trace", "decay", decay, { min: 0, max: 1 });
  const nesterov = options.nesterov ?? false;
  const d = hyper("decay");
  const m = add(input("g"), mul(d, slot("trace")));
  const math = {
    update: nesterov ? add(input("g"), mul(d, m)) : m,
    slots: { trace: m },
  };
  return elementwise<TraceState>({
    where: "trace",
    slots: ["trace"],
    init: (params: Params): TraceState => ({ trace: fillLike(params) }),
    check: (updates: Updates, state: TraceState) =>
      checkAgainst("trace", updates, state.trace),
    step: () => ({ hypers: { decay }, rest: {} }),
    math: () => math,
  });
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
  checkPlainHyper("ema", "decay", decay, { min: 0, max: 1 });
  const debias = options.debias ?? true;
  const d = hyper("decay");
  const m = lerp(d, slot("ema"), sub(1, d), input("g"));
  const math = {
    update: debias ? div(m, biasCorrection(d, hyper("count"))) : m,
    slots: { ema: m },
  };
  return elementwise<EmaState>({
    where: "ema",
    slots: ["ema"],
    init: (params: Params): EmaState => ({
      count: zeroCount(),
      ema: fillLike(params),
    }),
    check: (updates: Updates, state: EmaState) =>
      checkAgainst("ema", updates, state.ema),
    step(state: EmaState) {
      const count = tf.add(state.count, 1) as tf.Scalar;
      return { hypers: { decay, count }, rest: { count } };
    },
    math: () => math,
  });
}
