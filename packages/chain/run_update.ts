import * as tf from "@tensorflow/tfjs";
import { show } from "./_check.ts";
import {
  checkStepInput,
  checkTransformation,
  keepAll,
  updateOwned,
} from "./_drive.ts";
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
 * @throws {TypeError} If `tx` is not a transformation or `params` not a map
 * of live tensors.
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
  checkTransformation("initState", tx);
  if (
    params === null || typeof params !== "object" || Array.isArray(params) ||
    params instanceof tf.Tensor
  ) {
    throw new TypeError(
      `initState: params must be a map of tensors keyed by name, got ${
        show(params)
      }`,
    );
  }
  for (const [name, p] of Object.entries(params)) {
    if (!(p instanceof tf.Tensor) || p.isDisposed) {
      throw new TypeError(
        `initState: parameter "${name}" must be a live tensor, got ${show(p)}`,
      );
    }
  }
  return keepAll(() => tx.init(params));
}

/**
 * Runs one `update` the way every driver should: inside `tf.tidy`, keeping
 * the updates and the new state, then disposing the tensors of the old state
 * that the new state no longer holds.
 *
 * The returned updates never alias a tensor of the new state, of the input
 * updates or of `params`, so the caller may dispose them (and its gradients)
 * once applied; {@linkcode runStep} runs a step and applies it in one call.
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
 * @throws {TypeError} If `updates` is not a map of live float32 tensors (of
 * the shapes of `params`, where given), a tensor of `state` is disposed, or
 * the transformation returns updates that do not fit.
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
  checkTransformation("runUpdate", tx);
  const facts = checkStepInput("runUpdate", updates, {
    params,
    state,
    what: "updates",
    label: (name) => `update "${name}"`,
  });
  const [out, next] = updateOwned(
    "runUpdate",
    tx,
    updates,
    state,
    params,
    facts,
  );
  disposeReplaced(state, next);
  return [out, next];
}
