import { add, elementwise, gt, neg, select } from "./expr.ts";
import type { EmptyState } from "./identity.ts";
import type { GradientTransformation } from "./types.ts";

/**
 * Keeps parameters non-negative: where `p + u < 0` the update becomes `-p`
 * (the parameter lands on 0), elsewhere it is `u` unchanged (optax
 * `keep_params_nonnegative`). Put it last in a chain, after the learning
 * rate, so that it sees the update that is applied. A parameter that is
 * already negative is moved to 0 by any update that would leave it below
 * 0; a NaN `p + u` is not below 0 and passes through, as in optax.
 *
 * Elementwise: fused with its neighbours on WebGPU.
 *
 * @returns A stateless transformation that needs `params`.
 * @throws {TypeError} At `update`, when `params` is missing or lacks a name
 * of the updates.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { keepParamsNonnegative } from "@centra/chain/keep-params-nonnegative";
 * import assert from "node:assert/strict";
 *
 * const tx = keepParamsNonnegative();
 * const params = { w: tf.tensor1d([1, 1, 0.5]) };
 * const [u] = tx.update({ w: tf.tensor1d([-3, 2, -0.25]) }, tx.init(params), params);
 * assert.deepEqual(Array.from(u.w!.dataSync()), [-1, 2, -0.25]);
 * ```
 */
export function keepParamsNonnegative(): GradientTransformation<EmptyState> {
  return elementwise({
    where: "keepParamsNonnegative",
    math: ({ g, p }) => ({
      update: select(gt(0, add(p, g)), { then: neg(p), otherwise: g }),
    }),
  }) as GradientTransformation<EmptyState>;
}
