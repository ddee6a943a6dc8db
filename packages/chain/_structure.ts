// Private: the structural checks of a step's input, in one place: names
// against a state or parameters, shapes against each other. The drivers'
// `checkStepInput` (`_drive.ts`), the optimizers' guard and every elementwise
// stage (`_stage_spec.ts`) use these; nothing else compares shapes by hand.
import "./tfjs_check.ts";
import type * as tf from "@tensorflow/tfjs";
import { show } from "./_check.ts";
import type { Params, Updates } from "./types.ts";

/** Whether two shapes are equal, axis by axis. */
export function sameShape(
  a: readonly number[],
  b: readonly number[],
): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Throws unless `state` is a record of per-parameter tensors: a state that
 * belongs to another transformation is named, not read.
 */
export function checkStateMap(
  where: string,
  what: string,
  state: unknown,
): asserts state is Record<string, unknown> {
  if (state === null || typeof state !== "object" || Array.isArray(state)) {
    throw new TypeError(
      `${where}: the state does not fit this transformation: ${what} should be a map of per-parameter tensors, got ${
        show(state)
      } (a state from another transformation?)`,
    );
  }
}

/** Throws unless every name in `updates` is a key of `known`. */
export function checkKnown(
  where: string,
  updates: Updates,
  known: Readonly<Record<string, unknown>>,
): void {
  checkStateMap(where, "its per-parameter part", known);
  for (const name of Object.keys(updates)) {
    if (!Object.hasOwn(known, name)) {
      const some = Object.keys(known).slice(0, 5).join(", ");
      throw new TypeError(
        `${where}: unknown parameter name "${name}" (the state was built for: ${some}${
          Object.keys(known).length > 5 ? ", ..." : ""
        })`,
      );
    }
  }
}

/** Throws unless `a` and `b` have the same shape. */
export function checkSameShape(
  where: string,
  name: string,
  a: tf.Tensor,
  b: tf.Tensor,
  what = "state",
): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new TypeError(
      `${where}: update "${name}" has shape [${a.shape}] but its ${what} has shape [${b.shape}]`,
    );
  }
}

/** Checks names and shapes of `updates` against a per-parameter map. */
export function checkAgainst(
  where: string,
  updates: Updates,
  known: Readonly<Record<string, tf.Tensor>>,
): void {
  checkKnown(where, updates, known);
  for (const [name, u] of Object.entries(updates)) {
    const k = known[name];
    if (!(k instanceof Object) || !("shape" in k)) {
      throw new TypeError(
        `${where}: the state of "${name}" should be a tensor, got ${
          show(k)
        } (a state from another transformation?)`,
      );
    }
    checkSameShape(where, name, u, k);
  }
}

/** Returns `params`, or throws if it is missing or lacks a name of `updates`. */
export function requireParams(
  where: string,
  updates: Updates,
  params: Params | undefined,
): Params {
  if (params === undefined) {
    throw new TypeError(
      `${where}: needs params, but update() was called without them`,
    );
  }
  for (const [name, u] of Object.entries(updates)) {
    const p = Object.hasOwn(params, name) ? params[name] : undefined;
    if (p === undefined) {
      throw new TypeError(`${where}: missing parameter "${name}" in params`);
    }
    checkSameShape(where, name, u, p, "parameter");
  }
  return params;
}
