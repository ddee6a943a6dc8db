/**
 * NadamW: Nadam with decoupled weight decay ({@linkcode nadamw}), optax's
 * `nadamw` (`adamw` with `nesterov=True`).
 *
 * @module
 */
import type { OptionKind } from "./_check.ts";
import {
  alias,
  DECAY_KINDS,
  type GcOptions,
  MOMENT_KINDS,
  withGc,
} from "./_optimizer.ts";
import { scaleByNadam, type ScaleByNadamOptions } from "./nadam.ts";
import type {
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "./types.ts";

/**
 * The options {@linkcode nadamw} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const NADAMW_OPTIONS: Readonly<Record<string, OptionKind>> = withGc({
  ...MOMENT_KINDS,
  ...DECAY_KINDS,
});

/** Options of {@linkcode nadamw}. */
export interface NadamwOptions extends ScaleByNadamOptions, GcOptions {
  /** Decoupled weight decay λ: `w ← w - lr (nadam(g) + λw)`. Default 1e-4 (optax). */
  weightDecay?: Hyper;
  /** Which parameters decay (default all), as optax's `mask`. */
  weightDecayMask?: Mask;
}

/**
 * NadamW: `chain(scaleByNadam(), addDecayedWeights(λ, { mask }),
 * scaleByLearningRate(lr))`, as optax's `nadamw`. The step is `w ← w - lr
 * (m̂ / (sqrt(v̂ + epsRoot) + eps) + λ w)` with Nadam's Nesterov moment `m̂`
 * (see `scaleByNadam`); GC centralizes the raw gradient (default) or Nadam's
 * scaled update, never the decay term, as in `adamw`.
 *
 * References: T. Dozat, "Incorporating Nesterov Momentum into Adam", ICLR
 * 2016 workshop; I. Loshchilov and F. Hutter, "Decoupled Weight Decay
 * Regularization", ICLR 2019, arXiv:1711.05101.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, epsilons, weight decay and its mask, GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode NADAMW_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example With a zero gradient only the decay moves the weights
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, nadamw, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.tensor1d([2, -4]), b: tf.tensor1d([1]) };
 * const tx = nadamw(0.1, { weightDecay: 0.5, weightDecayMask: { w: true, b: false } });
 * const g = { w: tf.zeros([2]), b: tf.zeros([1]) };
 * const [u] = runUpdate(tx, g, initState(tx, params), params);
 * assert.deepEqual(Array.from(u.w!.dataSync()), [-0.1, 0.2].map(Math.fround)); // -lr λ w
 * assert.ok(u.b!.dataSync()[0] === 0); // masked out
 * ```
 */
export function nadamw(
  learningRate: ScalarOrSchedule,
  options: NadamwOptions = {},
): GradientTransformation<unknown[]> {
  return alias("nadamw", learningRate, options, NADAMW_OPTIONS, scaleByNadam, {
    weightDecay: 1e-4,
  });
}
