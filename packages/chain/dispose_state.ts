import { collectTensors } from "./_tree.ts";

/**
 * Disposes every tensor of `oldState` that `newState` no longer holds.
 *
 * Transforms share unchanged tensors between the old and the new state (a
 * frozen parameter's moment, say), so a driver must not dispose the old state
 * whole. {@linkcode runUpdate} calls this after each step.
 *
 * @param oldState The state passed to `update`.
 * @param newState The state `update` returned.
 * @returns The number of tensors disposed.
 *
 * @example Dispose what a new state replaced
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { disposeReplaced } from "@centra/chain/dispose-state";
 * import assert from "node:assert/strict";
 *
 * const kept = tf.zeros([2]);
 * const old = { a: kept, b: tf.ones([2]) };
 * const next = { a: kept, b: tf.fill([2], 2) };
 * assert.equal(disposeReplaced(old, next), 1);
 * assert.equal(kept.isDisposed, false);
 * assert.equal(old.b.isDisposed, true);
 * tf.dispose(next);
 * ```
 */
export function disposeReplaced(oldState: unknown, newState: unknown): number {
  const keep = collectTensors(newState);
  let n = 0;
  for (const t of collectTensors(oldState)) {
    if (!keep.has(t) && !t.isDisposed) {
      t.dispose();
      n++;
    }
  }
  return n;
}

/**
 * Disposes every tensor held anywhere in a state.
 *
 * @param state A state returned by `init` or `update`.
 * @returns The number of tensors disposed.
 *
 * @example Free an optimizer's state
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adam, disposeState, initState } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const before = tf.memory().numTensors;
 * const state = initState(adam(1e-3), { w: tf.zeros([3, 2]) });
 * disposeState(state);
 * assert.equal(tf.memory().numTensors, before + 1); // only the parameter is left
 * ```
 */
export function disposeState(state: unknown): number {
  let n = 0;
  for (const t of collectTensors(state)) {
    if (!t.isDisposed) {
      t.dispose();
      n++;
    }
  }
  return n;
}
