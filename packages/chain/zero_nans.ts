import * as tf from "@tensorflow/tfjs";
import { checkKnown } from "./_structure.ts";
import { show } from "./_check.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

/** State of {@linkcode zeroNans}. */
export interface ZeroNansState {
  /**
   * Per parameter, a float32 scalar: 1 if the last update of that parameter
   * held a NaN, else 0 (optax keeps a bool; a float32 scalar saves and loads
   * on every backend). Read by no one in the chain: it is for the user.
   */
  foundNan: Record<string, tf.Scalar>;
}

/**
 * Replaces every NaN of the updates with 0, and records per parameter
 * whether the last update held one (optax `zero_nans`). `±Infinity` is left
 * as it is (use `applyIfFinite` to skip such steps).
 *
 * Written with tf ops (`tf.isNaN`, `tf.where`), not as an elementwise
 * expression: WGSL lets a shader compiler assume that no NaN occurs, so a
 * fused NaN test could be compiled away. Under `fuse` it runs op by op.
 *
 * @returns A transformation whose state is one flag per parameter.
 * @throws {TypeError} At `update`, for a state of another transformation or
 * a parameter name the state was not built for.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { zeroNans } from "@centra/chain/zero-nans";
 * import assert from "node:assert/strict";
 *
 * const tx = zeroNans();
 * const [u, s] = tx.update({ w: tf.tensor1d([1, NaN, Infinity]) }, tx.init({ w: tf.zeros([3]) }));
 * assert.deepEqual(Array.from(u.w!.dataSync()), [1, 0, Infinity]);
 * assert.equal(s.foundNan.w!.dataSync()[0], 1);
 * ```
 */
export function zeroNans(): GradientTransformation<ZeroNansState> {
  return {
    init: (params: Params): ZeroNansState => {
      const foundNan: Record<string, tf.Scalar> = {};
      for (const name of Object.keys(params)) foundNan[name] = tf.scalar(0);
      return { foundNan };
    },
    update: (
      updates: Updates,
      state: ZeroNansState,
    ): [Updates, ZeroNansState] => {
      if (
        state === null || typeof state !== "object" || !("foundNan" in state)
      ) {
        throw new TypeError(
          `zeroNans: the state does not fit this transformation: expected { foundNan }, got ${
            show(state)
          }`,
        );
      }
      checkKnown("zeroNans", updates, state.foundNan);
      const out: Updates = {};
      const foundNan = { ...state.foundNan };
      for (const [name, u] of Object.entries(updates)) {
        const nan = tf.isNaN(u);
        out[name] = tf.where(nan, tf.zerosLike(u), u);
        // not tf.cast of a bool: a float32 0/1 from tf.where saves everywhere
        foundNan[name] = tf.where(
          tf.any(nan),
          tf.scalar(1),
          tf.scalar(0),
        ) as tf.Scalar;
      }
      return [out, { foundNan }];
    },
  };
}
