/**
 * Noisy SGD: SGD with annealed Gaussian gradient noise (Neelakantan et al.
 * 2015).
 *
 * @module
 */
import type { OptionKind } from "./_check.ts";
import { alias, type GcOptions, withGc } from "./_optimizer.ts";
import { addNoise } from "./add_noise.ts";
import type {
  GradientTransformation,
  Hyper,
  ScalarOrSchedule,
} from "./types.ts";

/**
 * The options {@linkcode noisySgd} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const NOISY_SGD_OPTIONS: Readonly<Record<string, OptionKind>> = withGc({
  eta: "hyper",
  gamma: "hyper",
  seed: "number",
});

/** Options of {@linkcode noisySgd}. */
export interface NoisySgdOptions extends GcOptions {
  /** The noise's initial variance. Default 0.01 (optax). */
  eta?: Hyper;
  /** The variance's annealing exponent: `eta / t^gamma` at step t. Default 0.55 (optax). */
  gamma?: Hyper;
  /** The noise generator's seed, an integer in `[0, 2^32 - 1]`. Default 0 (optax's key). */
  seed?: number;
}

/**
 * Noisy SGD: `chain(addNoise(eta, gamma, seed), scaleByLearningRate(lr))`,
 * as optax's `noisy_sgd`: `w ← w - lr (g + N(0, eta / t^gamma))` at step t
 * (1-based). With GC on the gradient (default) the noise is added to `Pg`
 * (so it is not centralized); with `gcOn: "update"` the noisy gradient
 * `g + noise` is centralized. The noise is a pure function of `seed`, the
 * step count and the parameter's name (see `noiseSample`), so a saved and
 * resumed run draws the same noise.
 *
 * Reference: A. Neelakantan et al., "Adding Gradient Noise Improves
 * Learning for Very Deep Networks", 2015, arXiv:1511.06807.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Noise variance, annealing, seed and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode NOISY_SGD_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example With eta 0 it is plain SGD
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, noisySgd, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2]) };
 * const tx = noisySgd(0.5, { eta: 0 });
 * const [u] = runUpdate(tx, { w: tf.tensor1d([2, -4]) }, initState(tx, params), params);
 * assert.deepEqual(Array.from(u.w!.dataSync()), [-1, 2]);
 * ```
 */
export function noisySgd(
  learningRate: ScalarOrSchedule,
  options: NoisySgdOptions = {},
): GradientTransformation<unknown[]> {
  return alias("noisySgd", learningRate, options, NOISY_SGD_OPTIONS, (o) => {
    const { eta = 0.01, gamma = 0.55, seed = 0 } = o;
    return addNoise(eta, gamma, seed);
  });
}
