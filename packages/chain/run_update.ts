import * as tf from "@tensorflow/tfjs";
import { collectTensors } from "./_tree.ts";
import { disposeReplaced } from "./dispose_state.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

/**
 * Builds a transformation's initial state inside `tf.tidy`, so that only the
 * tensors the state holds survive (also when called inside another tidy, as
 * in `model.fit`).
 *
 * @typeParam S The transformation's state.
 * @param tx The transformation.
 * @param params The parameters, keyed by variable name.
 * @returns The initial state; the caller owns its tensors.
 *
 * @example Initialise momentum
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const state = initState(sgd(0.1, { momentum: 0.9 }), { w: tf.ones([2, 2]) });
 * assert.ok(state !== undefined);
 * ```
 */
export function initState<S>(tx: GradientTransformation<S>, params: Params): S {
  return keepAll(() => tx.init(params));
}

/**
 * Runs one `update` the way every driver should: inside `tf.tidy`, keeping
 * the updates and the new state, then disposing the tensors of the old state
 * that the new state no longer holds.
 *
 * The returned updates never alias a tensor of the new state or of the input
 * updates, so the caller may dispose them (and its gradients) once applied.
 * If `update` throws, or returns an update whose name or shape differs from
 * the incoming ones (a `TypeError` naming it), nothing of the old state is
 * disposed and it stays valid.
 *
 * @typeParam S The transformation's state.
 * @param tx The transformation.
 * @param updates Gradients keyed by parameter name.
 * @param state The current state; do not use it after this call.
 * @param params The current parameter values, for transforms that need them.
 * @returns The updates to apply and the new state.
 *
 * @example One step of SGD
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { applyUpdates, initState, runUpdate, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const w = tf.variable(tf.tensor1d([1, 2]), true, "run_update_doc/w");
 * const tx = sgd(0.5);
 * let state = initState(tx, { [w.name]: w });
 * const grads = { [w.name]: tf.tensor1d([2, 2]) };
 * const [updates, next] = runUpdate(tx, grads, state, { [w.name]: w });
 * state = next;
 * applyUpdates({ [w.name]: w }, updates);
 * assert.deepEqual(Array.from(w.dataSync()), [0, 1]);
 * tf.dispose([updates, grads]);
 * ```
 */
export function runUpdate<S>(
  tx: GradientTransformation<S>,
  updates: Updates,
  state: S,
  params?: Params,
): [Updates, S] {
  const inputs = new Set(Object.values(updates));
  const [out, next] = keepAll(() => {
    const [u, s] = tx.update(updates, state, params);
    // A state tensor that is also an input gradient would die with the
    // gradient; clones share the data buffer, so this copies nothing.
    const held = collectTensors(s);
    const ownedState = cloneWhere(s, (t) => inputs.has(t));
    const ownedUpdates: Updates = {};
    for (const [k, t] of Object.entries(u)) {
      ownedUpdates[k] = held.has(t) || inputs.has(t) ? t.clone() : t;
    }
    return [ownedUpdates, ownedState] as [Updates, S];
  });
  const bad = mismatch(updates, out);
  if (bad !== null) {
    const old = collectTensors(state);
    for (const t of [...collectTensors(out), ...collectTensors(next)]) {
      if (!old.has(t) && !inputs.has(t) && !t.isDisposed) t.dispose();
    }
    throw new TypeError(`runUpdate: the transformation returned ${bad}`);
  }
  disposeReplaced(state, next);
  return [out, next];
}

/** Describes the first returned update that does not fit the incoming ones. */
function mismatch(incoming: Updates, returned: Updates): string | null {
  for (const [k, t] of Object.entries(returned)) {
    const g = incoming[k];
    if (g === undefined) return `an update for "${k}", which had no gradient`;
    if (
      t.shape.length !== g.shape.length ||
      t.shape.some((d, i) => d !== g.shape[i])
    ) {
      return `an update of shape [${t.shape}] for "${k}", whose gradient has shape [${g.shape}]`;
    }
  }
  return null;
}

function cloneWhere<T>(x: T, pred: (t: tf.Tensor) => boolean): T {
  if (x instanceof tf.Tensor) return (pred(x) ? x.clone() : x) as T;
  if (Array.isArray(x)) return x.map((v) => cloneWhere(v, pred)) as T;
  if (x !== null && typeof x === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = cloneWhere(v, pred);
    return out as T;
  }
  return x;
}

/** Like `tf.tidy`, but for any result: the tensors inside it are kept. */
function keepAll<T>(fn: () => T): T {
  let result: T | undefined;
  tf.tidy(() => {
    result = fn();
    for (const t of collectTensors(result)) tf.keep(t);
  });
  return result as T;
}
