/**
 * `runStep`, the driver that runs one step of a transformation and writes it
 * into the variables ({@linkcode runStep}, also exported by `@centra/chain`).
 * A driver of its own (as `@centra/tfjs`'s `ChainOptimizer`) calls it with
 * its name as `where`, so that what `runStep` refuses names that driver.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { checkStepInput, checkTransformation } from "./_drive.ts";
import { checkOptions } from "./_check.ts";
import { stepWith } from "./_step.ts";
import type { GradientTransformation, Updates } from "./types.ts";

/**
 * Runs one step of a transformation and writes the result into the
 * variables: the driver for code that applies its updates at once, as
 * `ChainOptimizer` and `trainStep` in `@centra/tfjs` do.
 *
 * The input is checked first, before anything runs: `grads` is a map of
 * live float32 tensors, each naming a live float32 variable of `variables`
 * with its shape; no variable sits under two names; every tensor of `state`
 * is alive. A `TypeError` naming the bad value otherwise (int32 and bool
 * variables are not trained: tfjs would truncate their updates). Then,
 * when `tx` has a `step`, it runs inside `tf.tidy` and its new parameter
 * values are assigned to the variables (an assignment takes the tensor's
 * buffer, so nothing is copied); without one, this is {@linkcode runUpdate}
 * followed by {@linkcode applyUpdates}. Either way the tensors of the old
 * state that the new state no longer holds are disposed, and the variables of
 * `variables` without a gradient keep their value.
 *
 * If the transformation throws, or its `step` returns a value whose name,
 * shape or dtype does not fit the gradients (a `TypeError` naming it), or
 * leaves a gradient without a value, the tensors it created are disposed and
 * the old state and the variables are exactly as they were. The gradients
 * stay the caller's to dispose.
 *
 * @typeParam S The transformation's state.
 * @param tx The transformation.
 * @param grads Gradients keyed by variable name.
 * @param state The current state; do not use it after this call.
 * @param variables The variables, keyed by name: those to update, and any
 * others the transformation should see as parameters.
 * @param options `where`, the name every error message begins with
 * (default `"runStep"`; a driver built on `runStep` gives its own).
 * @returns The new state.
 * @throws {TypeError} For input that does not fit (see above), a step
 * that returns values that do not fit the gradients, or an unknown option
 * or a `where` that is not a non-empty string.
 *
 * @example One step of SGD
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, sgd } from "@centra/chain";
 * import { runStep } from "@centra/chain/run-step";
 * import assert from "node:assert/strict";
 *
 * const w = tf.variable(tf.tensor1d([1, 2]), true, "run_step_doc/w");
 * const tx = sgd(0.5, { momentum: 0.9 });
 * let state = initState(tx, { [w.name]: w });
 * const grads = { [w.name]: tf.tensor1d([2, 2]) };
 * state = runStep(tx, grads, state, { [w.name]: w });
 * assert.deepEqual(Array.from(await w.data()), [0, 1]);
 * tf.dispose(grads);
 * ```
 *
 * @example A transformation with a step of its own
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import {
 *   type GradientTransformation,
 *   initState,
 *   type Params,
 *   sgd,
 * } from "@centra/chain";
 * import { runStep } from "@centra/chain/run-step";
 * import assert from "node:assert/strict";
 *
 * let steps = 0;
 * function withStep<S>(inner: GradientTransformation<S>): GradientTransformation<S> {
 *   return {
 *     init: (params) => inner.init(params),
 *     update: (updates, state, params) => inner.update(updates, state, params),
 *     step(updates, state, params) {
 *       steps++;
 *       const [u, next] = inner.update(updates, state, params);
 *       const values: Params = {};
 *       for (const [k, d] of Object.entries(u)) values[k] = tf.add(params[k]!, d);
 *       return [values, next];
 *     },
 *   };
 * }
 *
 * const tx = withStep(sgd(0.5));
 * const w = tf.variable(tf.tensor1d([1, 2]), true, "run_step_doc/w2");
 * let state = initState(tx, { [w.name]: w });
 * const grads = { [w.name]: tf.tensor1d([2, 2]) };
 * state = runStep(tx, grads, state, { [w.name]: w });
 * assert.equal(steps, 1);
 * assert.deepEqual(Array.from(await w.data()), [0, 1]);
 * tf.dispose(grads);
 * ```
 */
export function runStep<S>(
  tx: GradientTransformation<S>,
  grads: Updates,
  state: S,
  variables: Readonly<Record<string, tf.Variable>>,
  options: RunStepOptions = {},
): S {
  checkOptions("runStep", options, { where: "string" });
  const where = options.where ?? "runStep";
  checkTransformation(where, tx);
  const facts = checkStepInput(where, grads, {
    variables,
    state,
    what: "gradients",
    label: (name) => `the gradient of "${name}"`,
  });
  return stepWith(tx, { grads, state, variables, facts });
}

/** Options of {@linkcode runStep}. */
export interface RunStepOptions {
  /**
   * The name that begins every error message (default `"runStep"`): a
   * driver built on `runStep` gives its own, e.g.
   * `"ChainOptimizer.applyGradients"`.
   */
  where?: string;
}

// Re-exported so that the types the drivers take are documented with them.
export type { GradientTransformation, Params, Updates } from "./types.ts";
