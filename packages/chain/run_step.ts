/**
 * `runStep`, the driver that runs one step of a transformation and writes it
 * into the variables ({@linkcode runStep}, also exported by `@centra/chain`),
 * and, for drivers that own their state and check each step's gradients
 * themselves (as `@centra/tfjs`'s `ChainOptimizer` does), the same step
 * without its entry check ({@linkcode runCheckedStep}) and the count of
 * name-by-name checks of a step's gradients ({@linkcode checkPasses}, the
 * driver's own included; tests assert one per step). Those two are not part
 * of `@centra/chain`'s main entry.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import {
  checkStateLive,
  checkStepInput,
  checkTransformation,
  walkState,
} from "./_drive.ts";
import { checkPasses } from "./_structure.ts";
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
 * @returns The new state.
 * @throws {TypeError} For input that does not fit (see above), or a step
 * that returns values that do not fit the gradients.
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
): S {
  checkTransformation("runStep", tx);
  const facts = checkStepInput("runStep", grads, {
    variables,
    state,
    what: "gradients",
    label: (name) => `the gradient of "${name}"`,
  });
  return stepWith(tx, { grads, state, variables, facts });
}

export { checkPasses };
// Re-exported so that the types the drivers take are documented with them.
export type { GradientTransformation, Params, Updates } from "./types.ts";

/**
 * One step's input for {@linkcode runCheckedStep}, already checked by the
 * driver.
 *
 * @typeParam S The transformation's state.
 */
export interface CheckedStep<S> {
  /**
   * Gradients keyed by variable name: each a live float32 tensor naming a
   * live float32 variable of `variables`, of its shape.
   */
  grads: Updates;
  /**
   * The state, built by the transformation's `init` (or restored tensor by
   * tensor at the same shapes) for parameters that include every name of
   * `grads`, at its variable's shape; do not use it after this call.
   */
  state: S;
  /**
   * The variables, keyed by their names (live `tf.Variable`s, none under
   * two names): those to update, and any others the transformation should
   * see as parameters.
   */
  variables: Readonly<Record<string, tf.Variable>>;
  /** Names the driver in the messages of what is still checked here. */
  where: string;
}

/**
 * `runStep` for a driver that has checked the step's gradients itself, as
 * {@linkcode CheckedStep} says, and counted that check in
 * {@linkcode checkPasses}: the gradients are not checked again, here or by
 * any part of the transformation (the optimizer's guard, a wrapper's state,
 * a stage's state), since the driver built the state for them. What is not
 * a check of the gradients still runs: `tx` is a transformation, every
 * tensor of the state is alive (a `TypeError` naming `where` and the
 * tensor's path otherwise), and a result that does not fit the gradients
 * is refused, changing nothing, as `runStep` refuses it.
 *
 * @typeParam S The transformation's state.
 * @param tx The transformation (a fused one included).
 * @param step The checked gradients, the state and the variables.
 * @returns The new state; the tensors of the old one that it no longer
 * holds are disposed.
 * @throws {TypeError} If `tx` is not a transformation, for a disposed tensor
 * in the state, or a result that does not fit the gradients.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adam, initState } from "@centra/chain";
 * import { runCheckedStep } from "@centra/chain/run-step";
 * import assert from "node:assert/strict";
 *
 * const w = tf.variable(tf.zeros([2]), true, "driver_doc/w2");
 * const variables = { [w.name]: w };
 * const tx = adam(0.1);
 * const grads = { [w.name]: tf.tensor1d([1, -1]) };
 * runCheckedStep(tx, { grads, state: initState(tx, variables), variables, where: "mine" });
 * // Adam's first step is lr times the sign of the gradient
 * const got = Array.from(await w.data());
 * assert.ok(Math.abs(got[0]! + 0.1) < 1e-6 && Math.abs(got[1]! - 0.1) < 1e-6);
 * tf.dispose(grads);
 * ```
 */
export function runCheckedStep<S>(
  tx: GradientTransformation<S>,
  step: CheckedStep<S>,
): S {
  const { grads, state, variables, where } = step;
  checkTransformation(where, tx);
  const walk = walkState(state);
  checkStateLive(where, walk);
  const facts = {
    updates: grads,
    params: variables,
    paramsFit: true,
    fits: true,
    nodes: walk.nodes,
  };
  return stepWith(tx, { grads, state, variables, facts });
}
