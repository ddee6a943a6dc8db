// Private: one step of a transformation written into the variables, once
// `runStep`'s entry check has passed: the step body `runStep` runs.
import * as tf from "@tensorflow/tfjs";
import {
  addUpdates,
  cloneWhere,
  disposeCreated,
  keepAll,
  mismatch,
  updateOwned,
} from "./_drive.ts";
import { inStep, type StepFacts } from "./_structure.ts";
import { collectTensors } from "./_tree.ts";
import { disposeReplaced } from "./dispose_state.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

/** A step's checked input: gradients, state, variables and what was found. */
export interface CheckedInput<S> {
  grads: Updates;
  state: S;
  variables: Readonly<Record<string, tf.Variable>>;
  facts: StepFacts;
}

/**
 * Runs `tx` on checked input as the step `facts` describe: its `step` in a
 * tidy, the new values assigned to the variables; without one, runUpdate
 * then applyUpdates. Refuses a result that does not fit the gradients,
 * changing nothing; returns the new state.
 */
export function stepWith<S>(
  tx: GradientTransformation<S>,
  input: CheckedInput<S>,
): S {
  const { grads, state, variables, facts } = input;
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
  return ownStep(tx, input);
}

/** `stepWith` for a transformation with a `step` of its own. */
function ownStep<S>(tx: GradientTransformation<S>, input: CheckedInput<S>): S {
  const { grads, state, variables, facts } = input;
  const params = variables as Params;
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
