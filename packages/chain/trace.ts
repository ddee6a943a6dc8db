import * as tf from "@tensorflow/tfjs";
import { checkAgainst, checkPlainHyper } from "./_check.ts";
import {
  biasCorrection,
  carry,
  fillLike,
  lerp,
  type PerParam,
  zeroCount,
} from "./_per_param.ts";
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
  checkPlainHyper("trace", "decay", decay, { min: 0, max: 1 });
  const nesterov = options.nesterov ?? false;
  return {
    init: (params: Params): TraceState => ({ trace: fillLike(params) }),
    update(updates: Updates, state: TraceState): [Updates, TraceState] {
      checkAgainst("trace", updates, state.trace);
      const out: Updates = {};
      const fresh: PerParam = {};
      for (const [name, g] of Object.entries(updates)) {
        const m = tf.add(g, tf.mul(decay, state.trace[name]!));
        fresh[name] = m;
        out[name] = nesterov ? tf.add(g, tf.mul(decay, m)) : m;
      }
      return [out, { trace: carry(state.trace, fresh) }];
    },
  };
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
  checkPlainHyper("ema", "decay", decay, { min: 0, max: 1 });
  const debias = options.debias ?? true;
  return {
    init: (params: Params): EmaState => ({
      count: zeroCount(),
      ema: fillLike(params),
    }),
    update(updates: Updates, state: EmaState): [Updates, EmaState] {
      checkAgainst("ema", updates, state.ema);
      const count = tf.add(state.count, 1) as tf.Scalar;
      const correction = debias ? biasCorrection(decay, count) : null;
      const out: Updates = {};
      const fresh: PerParam = {};
      for (const [name, g] of Object.entries(updates)) {
        const m = lerp(decay, state.ema[name]!, tf.sub(1, decay), g);
        fresh[name] = m;
        out[name] = correction === null ? m : tf.div(m, correction);
      }
      return [out, { count, ema: carry(state.ema, fresh) }];
    },
  };
}
