/**
 * Adagrad, nothing but a `chain` of transforms, with Gradient
 * Centralization as an option.
 *
 * @module
 */
import type { OptionKind } from "./_check.ts";
import { alias, type GcOptions, withGc } from "./_optimizer.ts";
import { scaleByRss } from "./scale_by_rms.ts";
import type {
  GradientTransformation,
  Hyper,
  ScalarOrSchedule,
} from "./types.ts";

/**
 * The options {@linkcode adagrad} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const ADAGRAD_OPTIONS: Readonly<Record<string, OptionKind>> = withGc({
  initialAccumulatorValue: "number",
  eps: "hyper",
});

/** Options of {@linkcode adagrad}. */
export interface AdagradOptions extends GcOptions {
  /** Initial sum of squares. Default 0.1 (tfjs, Keras, optax). */
  initialAccumulatorValue?: number;
  /** Added inside the square root. Default 1e-7 (tfjs, optax). */
  eps?: Hyper;
}

/**
 * Adagrad; matches `tf.train.adagrad` with GC off.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Initial accumulator, eps and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode ADAGRAD_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adagrad, initState, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([1]) };
 * const tx = adagrad(1, { initialAccumulatorValue: 0, eps: 0 });
 * const [u] = runUpdate(tx, { w: tf.tensor1d([5]) }, initState(tx, params), params);
 * assert.equal(u.w!.dataSync()[0], -1);
 * ```
 */
export function adagrad(
  learningRate: ScalarOrSchedule,
  options: AdagradOptions = {},
): GradientTransformation<unknown[]> {
  return alias("adagrad", learningRate, options, ADAGRAD_OPTIONS, scaleByRss);
}
