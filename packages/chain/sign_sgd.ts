/**
 * signSGD: descent along the sign of each gradient component, as a
 * transform ({@linkcode scaleBySign}) and as an optimizer
 * ({@linkcode signSgd}).
 *
 * @module
 */
import type { OptionKind } from "./_check.ts";
import { alias, type GcOptions, withGc } from "./_optimizer.ts";
import { elementwise, sign } from "./expr.ts";
import type { EmptyState } from "./identity.ts";
import type { GradientTransformation, ScalarOrSchedule } from "./types.ts";

/**
 * Replaces each update by its sign, elementwise: `u = sign(g)`, which is
 * `-1`, `0` or `1` (0 stays 0). Stateless; optax's `scale_by_sign`.
 *
 * @returns A stateless transformation.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleBySign } from "@centra/chain/sign-sgd";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleBySign();
 * const [u] = tx.update({ w: tf.tensor1d([-3, 0, 0.5]) }, tx.init({}));
 * assert.deepEqual(Array.from(u.w!.dataSync()), [-1, 0, 1]);
 * ```
 */
export function scaleBySign(): GradientTransformation<EmptyState> {
  return elementwise({
    where: "scaleBySign",
    math: ({ g }) => ({ update: sign(g) }),
  }) as GradientTransformation<EmptyState>;
}

/**
 * The options {@linkcode signSgd} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): only GC's.
 */
export const SIGN_SGD_OPTIONS: Readonly<Record<string, OptionKind>> = withGc(
  {},
);

/** Options of {@linkcode signSgd}: GC only. */
export interface SignSgdOptions extends GcOptions {}

/**
 * signSGD: `w ← w - lr sign(g)`, as `chain(scaleBySign(),
 * scaleByLearningRate(lr))` (optax's `sign_sgd`). With GC on the gradient
 * (default) the sign is taken of the centralized gradient `Pg`; with
 * `gcOn: "update"` the signs themselves are centralized.
 *
 * Reference: J. Bernstein, Y.-X. Wang, K. Azizzadenesheli, A. Anandkumar,
 * "signSGD: Compressed Optimisation for Non-Convex Problems", ICML 2018,
 * arXiv:1802.04434.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode SIGN_SGD_OPTIONS}).
 * @throws {RangeError} For a learning rate out of its range.
 *
 * @example Every coordinate moves by exactly lr
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, runUpdate, signSgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2]) };
 * const tx = signSgd(0.25);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([4, -1e-3]) }, initState(tx, params), params);
 * assert.deepEqual(Array.from(u.w!.dataSync()), [-0.25, 0.25]);
 * ```
 */
export function signSgd(
  learningRate: ScalarOrSchedule,
  options: SignSgdOptions = {},
): GradientTransformation<unknown[]> {
  return alias("signSgd", learningRate, options, SIGN_SGD_OPTIONS, scaleBySign);
}
