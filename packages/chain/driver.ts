/**
 * What a driver reads: the entry for code that runs steps of a chain with a
 * state it owns and checks each step's gradients itself, as `@centra/tfjs`'s
 * `ChainOptimizer` does, so that a step's gradients are checked once, by
 * the driver, with its own messages. Users who train with `runStep`,
 * `runUpdate` or `ChainOptimizer` do not need this module: those check
 * their input themselves.
 *
 * {@linkcode runCheckedStep} is `runStep` without its entry check of the
 * gradients; {@linkcode checkPasses} counts every name-by-name check of a
 * step's gradients, the driver's own included (tests assert one per step).
 *
 * @example A driver that checks its gradients itself
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, sgd } from "@centra/chain";
 * import { checkPasses, runCheckedStep } from "@centra/chain/driver";
 * import assert from "node:assert/strict";
 *
 * const w = tf.variable(tf.tensor1d([1, 2]), true, "driver_doc/w");
 * const tx = sgd(0.5);
 * const state = initState(tx, { [w.name]: w });
 * const grads = { [w.name]: tf.tensor1d([2, 2]) };
 * // the driver's own check: a live float32 gradient of w's shape
 * const g = grads[w.name]!;
 * assert.ok(!g.isDisposed && g.dtype === "float32" && g.size === w.size);
 * checkPasses.count++;
 * const before = checkPasses.count;
 * runCheckedStep(tx, { grads, state, variables: { [w.name]: w }, where: "mine" });
 * assert.equal(checkPasses.count, before); // nothing checked them again
 * assert.deepEqual(Array.from(await w.data()), [0, 1]);
 * tf.dispose(grads);
 * ```
 *
 * @module
 */
import "./tfjs_check.ts";
import type * as tf from "@tensorflow/tfjs";
import { checkStateLive, checkTransformation, walkState } from "./_drive.ts";
import { checkPasses } from "./_structure.ts";
import { stepWith } from "./_step.ts";
import type { GradientTransformation, Updates } from "./types.ts";

export { checkPasses };
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
 * Source: `runStep` (`@centra/chain/run-step`), whose step this is.
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
 * import { runCheckedStep } from "@centra/chain/driver";
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
