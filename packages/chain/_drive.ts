// Private helpers shared by the drivers (`runUpdate`, `runStep`): running a
// transformation in a tidy that keeps its result, taking ownership of what it
// returned, checking that against the gradients, and cleaning up after a
// refused result.
import * as tf from "@tensorflow/tfjs";
import { collectTensors } from "./_tree.ts";
import type { Updates } from "./types.ts";

/** Like `tf.tidy`, but for any result: the tensors inside it are kept. */
export function keepAll<T>(fn: () => T): T {
  let result: T | undefined;
  tf.tidy(() => {
    result = fn();
    for (const t of collectTensors(result)) tf.keep(t);
  });
  return result as T;
}

/** A copy of `x` in which every tensor that `pred` picks is cloned. */
export function cloneWhere<T>(x: T, pred: (t: tf.Tensor) => boolean): T {
  if (x instanceof tf.Tensor) return (pred(x) ? x.clone() : x) as T;
  if (Array.isArray(x)) return x.map((v) => cloneWhere(v, pred)) as T;
  if (x !== null && typeof x === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = cloneWhere(v, pred);
    return out as T;
  }
  return x;
}

/**
 * Describes the first returned tensor that does not fit the incoming
 * gradients, or `null` when all fit. `what` names one returned tensor in the
 * message ("an update", "a new value").
 */
export function mismatch(
  incoming: Updates,
  returned: unknown,
  what: string,
): string | null {
  if (returned === null || typeof returned !== "object") {
    return `${String(returned)} where a map of tensors was expected`;
  }
  for (const [k, t] of Object.entries(returned as Record<string, unknown>)) {
    const g = incoming[k];
    if (g === undefined) return `${what} for "${k}", which had no gradient`;
    if (!(t instanceof tf.Tensor) || t.isDisposed) {
      return `${what} for "${k}" that is not a live tensor`;
    }
    const shape: readonly number[] = t.shape;
    if (
      shape.length !== g.shape.length ||
      shape.some((d, i) => d !== g.shape[i])
    ) {
      return `${what} of shape [${shape}] for "${k}", whose gradient has shape [${g.shape}]`;
    }
  }
  return null;
}

/**
 * Disposes every tensor inside `made` that `keep` does not hold: what a
 * refused call created, leaving the old state and the inputs alive.
 */
export function disposeCreated(
  made: unknown,
  keep: ReadonlySet<tf.Tensor>,
): void {
  for (const t of collectTensors(made)) {
    if (!keep.has(t) && !t.isDisposed) t.dispose();
  }
}

/**
 * Checks tensors against the variables they will be added to or assigned
 * (a variable of that name, alive, of the same shape; the tensor alive):
 * a `TypeError` that names it, before anything changes. `label` names a
 * tensor in the message (`update "w"`, `the gradient of "w"`).
 */
export function checkAgainstVariables(
  where: string,
  tensors: Updates,
  variables: Readonly<Record<string, tf.Variable>>,
  label: (name: string) => string,
): void {
  for (const [name, t] of Object.entries(tensors)) {
    const v = variables[name];
    if (v === undefined) {
      throw new TypeError(`${where}: no variable named "${name}"`);
    }
    if (!(v instanceof tf.Variable) || v.isDisposed) {
      throw new TypeError(`${where}: "${name}" is not a live tf.Variable`);
    }
    if (!(t instanceof tf.Tensor) || t.isDisposed) {
      throw new TypeError(`${where}: ${label(name)} is not a live tensor`);
    }
    if (
      t.shape.length !== v.shape.length ||
      t.shape.some((d, i) => d !== v.shape[i])
    ) {
      throw new TypeError(
        `${where}: ${
          label(name)
        } has shape [${t.shape}] but the variable has [${v.shape}]`,
      );
    }
  }
}
