// Private: resolving masks and labels against parameters.
import "./tfjs_check.ts";
import * as tf from "@tensorflow/tfjs";
import type { Labels, Mask, Params } from "./types.ts";

/**
 * Throws if a map names something that is neither a parameter nor a live
 * `tf.Variable`. A map built from a model names all its variables, and an
 * optimizer sees only those with gradients this step (a frozen layer's are
 * not among them), so a variable without a gradient is a valid name; a name
 * that matches no variable at all is a typo.
 */
export function checkMapNames(
  where: string,
  what: string,
  map: object,
  params: Params,
): void {
  const registered = tf.engine().registeredVariables;
  for (const name of Object.keys(map)) {
    if (Object.hasOwn(params, name)) continue;
    const v = Object.hasOwn(registered, name) ? registered[name] : undefined;
    if (v !== undefined && !v.isDisposed) continue;
    throw new TypeError(
      `${where}: the ${what} names "${name}", which is not a parameter`,
    );
  }
}

/** Throws unless `mask` is a record or a function (when it is built). */
export function checkMaskKind(where: string, mask: unknown): void {
  if (typeof mask === "function") return;
  if (mask === null || typeof mask !== "object" || Array.isArray(mask)) {
    throw new TypeError(
      `${where}: mask must be a record of booleans or a function, got ${
        String(mask)
      }`,
    );
  }
}

/** Checks a mask against the parameters it will be used with. */
export function checkMask(where: string, mask: Mask, params: Params): void {
  if (typeof mask === "function") return;
  checkMaskKind(where, mask);
  checkMapNames(where, "mask", mask, params);
  for (const [k, v] of Object.entries(mask)) {
    if (typeof v !== "boolean") {
      throw new TypeError(
        `${where}: mask entry "${k}" must be a boolean, got ${String(v)}`,
      );
    }
  }
}

/** Whether the mask selects this parameter (unnamed map entries do not). */
export function inMask(
  mask: Mask,
  name: string,
  shape: readonly number[],
): boolean {
  if (typeof mask === "function") return mask(name, shape) === true;
  return Object.hasOwn(mask, name) && mask[name] === true;
}

/** The label of one parameter. */
export function labelOf(
  where: string,
  labels: Labels,
  name: string,
  shape: readonly number[],
): string {
  const label = typeof labels === "function"
    ? labels(name, shape)
    : Object.hasOwn(labels, name)
    ? labels[name]
    : undefined;
  if (typeof label !== "string") {
    throw new TypeError(
      `${where}: no label for parameter "${name}" (got ${String(label)})`,
    );
  }
  return label;
}
