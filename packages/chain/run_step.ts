import * as tf from "@tensorflow/tfjs";
import {
  addUpdates,
  checkStepInput,
  checkTransformation,
  cloneWhere,
  disposeCreated,
  keepAll,
  mismatch,
  updateOwned,
} from "./_drive.ts";
import { inStep } from "./_structure.ts";
import { collectTensors } from "./_tree.ts";
import { disposeReplaced } from "./dispose_state.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

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
  const params = variables as Params;
  if (typeof tx.step !== "function") {
    // runUpdate then applyUpdates, trusting this entry's check: the updates
    // fit the gradients (updateOwned refuses them otherwise), and the
    // gradients the variables. Only their dtype is left to see, before the
    // old state is touched.
    const [updates, next] = updateOwned(
      "runUpdate",
      tx,
      grads,
      state,
      params,
      facts,
      notFloat32,
    );
    disposeReplaced(state, next);
    try {
      addUpdates(variables, updates);
    } finally {
      tf.dispose(Object.values(updates));
    }
    return next;
  }

  const inputs = new Set(Object.values(grads));
  // Tensors the step may hand back that this driver must not dispose.
  const foreign = new Set<tf.Tensor>([
    ...inputs,
    ...Object.values(variables),
    ...collectTensors(state),
  ]);
  const [out, next] = keepAll(() => {
    const [values, s] = inStep(facts, () => tx.step!(grads, state, params));
    const held = collectTensors(s);
    // As in runUpdate, a state tensor that is an input gradient is cloned
    // (the clone shares the buffer: nothing is copied).
    const ownedState = cloneWhere(s, (t) => inputs.has(t));
    const ownedValues = ownValues(
      values,
      (t) => foreign.has(t) || held.has(t) || t instanceof tf.Variable,
    );
    return [ownedValues, ownedState] as [unknown, S];
  });
  const bad = mismatch(grads, out, "a new value") ??
    incomplete(grads, out as Params, variables);
  if (bad !== null) {
    disposeCreated([out, next], foreign);
    throw new TypeError(`runStep: the transformation's step returned ${bad}`);
  }
  // Every tensor of `out` is this driver's alone, so once a variable has
  // taken its buffer it can go.
  const values = out as Params;
  for (const [k, t] of Object.entries(values)) variables[k]!.assign(t);
  tf.dispose(Object.values(values));
  disposeReplaced(state, next);
  return next;
}

/**
 * The step's new values, each tensor the driver does not own alone (`shared`
 * picks them, and a tensor returned for a second name) replaced by a clone,
 * so that every variable can take a buffer of its own and the tensor be
 * disposed. Anything else is passed on for `mismatch` to name.
 */
function ownValues(
  values: unknown,
  shared: (t: tf.Tensor) => boolean,
): unknown {
  if (values === null || typeof values !== "object") return values;
  const taken = new Set<tf.Tensor>();
  const out: Record<string, unknown> = {};
  for (const [k, t] of Object.entries(values)) {
    if (t instanceof tf.Tensor && !t.isDisposed) {
      out[k] = shared(t) || taken.has(t) ? t.clone() : t;
      taken.add(t);
    } else {
      out[k] = t;
    }
  }
  return out;
}

/** Names a gradient left without a new value, or a value of the wrong dtype. */
function incomplete(
  grads: Updates,
  values: Params,
  variables: Readonly<Record<string, tf.Variable>>,
): string | null {
  for (const k of Object.keys(grads)) {
    const t = Object.hasOwn(values, k) ? values[k] : undefined;
    if (t === undefined) return `no new value for "${k}"`;
    const v = variables[k]!;
    if (t.dtype !== v.dtype) {
      return `a new value of dtype ${t.dtype} for "${k}", whose variable is ${v.dtype}`;
    }
  }
  return null;
}

/** Names the first update that is not float32, as `applyUpdates` would. */
function notFloat32(updates: Updates): string | null {
  for (const [k, u] of Object.entries(updates)) {
    if (u.dtype !== "float32") {
      return `applyUpdates: update "${k}" is ${u.dtype}; only float32 is trained`;
    }
  }
  return null;
}
