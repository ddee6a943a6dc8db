// Private validation helpers: every check throws before anything is computed,
// with a message that names the offending value.
import type * as tf from "@tensorflow/tfjs";
import type { Hyper, Params, ScalarOrSchedule, Updates } from "./types.ts";

function isNumber(x: unknown): x is number {
  return typeof x === "number";
}

/** Checks a plain-number hyperparameter; tensors and schedules pass through. */
export function checkHyper(
  where: string,
  name: string,
  value: ScalarOrSchedule | undefined,
  { min = -Infinity, max = Infinity, minOpen = false, maxOpen = false } = {},
): void {
  if (value === undefined) return;
  if (typeof value === "function") return;
  if (!isNumber(value)) {
    if (typeof value === "object" && value !== null && "rank" in value) {
      if ((value as tf.Tensor).rank !== 0) {
        throw new TypeError(
          `${where}: ${name} must be a number, a scalar tensor or a schedule, got a tensor of shape [${
            (value as tf.Tensor).shape
          }]`,
        );
      }
      return;
    }
    throw new TypeError(
      `${where}: ${name} must be a number, a scalar tensor or a schedule, got ${
        String(value)
      }`,
    );
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`${where}: ${name} must be finite, got ${value}`);
  }
  const lowOk = minOpen ? value > min : value >= min;
  const highOk = maxOpen ? value < max : value <= max;
  if (!lowOk || !highOk) {
    const lo = minOpen ? "(" : "[";
    const hi = maxOpen ? ")" : "]";
    throw new RangeError(
      `${where}: ${name} must be in ${lo}${min}, ${max}${hi}, got ${value}`,
    );
  }
}

/** Checks that a hyperparameter is a number or scalar (no schedule). */
export function checkPlainHyper(
  where: string,
  name: string,
  value: Hyper | undefined,
  range: Parameters<typeof checkHyper>[3] = {},
): void {
  if (typeof value === "function") {
    throw new TypeError(`${where}: ${name} cannot be a schedule`);
  }
  checkHyper(where, name, value, range);
}

/**
 * A short description of any value for an error message: a tensor by dtype
 * and shape (and whether it is disposed), a function by name, an object by
 * its keys, anything else by `String`.
 */
export function show(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (
    typeof x === "object" && "dtype" in x && "shape" in x && "isDisposed" in x
  ) {
    const t = x as tf.Tensor;
    return `${
      t.isDisposed ? "a disposed " : "a "
    }${t.dtype} tensor of shape [${t.shape}]`;
  }
  if (typeof x === "function") {
    return `a function${x.name === "" ? "" : ` (${x.name})`}`;
  }
  if (Array.isArray(x)) return `a list of ${x.length}`;
  if (typeof x === "object") {
    const keys = Object.keys(x);
    return `an object with keys {${keys.slice(0, 5).join(", ")}${
      keys.length > 5 ? ", ..." : ""
    }}`;
  }
  if (typeof x === "string") return JSON.stringify(x);
  return String(x);
}

/** Whether `x` is a plain object (a `{...}` literal or `Object.create(null)`). */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object" || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** The kinds of option value {@linkcode checkOptions} knows. */
export type OptionKind =
  | "boolean"
  | "number"
  | "hyper"
  | "schedule"
  | "mask"
  | "function"
  | "gc"
  | "gcOn"
  | "object"
  | "variables";

function fits(kind: OptionKind, v: unknown): boolean {
  const isTensor = typeof v === "object" && v !== null && "dtype" in v &&
    "shape" in v;
  switch (kind) {
    case "boolean":
      return typeof v === "boolean";
    case "number":
      return typeof v === "number";
    case "hyper":
      return typeof v === "number" || isTensor;
    case "schedule":
      return typeof v === "number" || isTensor || typeof v === "function";
    case "mask":
      return typeof v === "function" || isPlainObject(v);
    case "function":
      return typeof v === "function";
    case "gc":
      return typeof v === "boolean" || v === "conv" || typeof v === "function";
    case "gcOn":
      return v === "gradient" || v === "update";
    case "object":
      return isPlainObject(v);
    case "variables":
      return Array.isArray(v);
  }
}

const WANT: Readonly<Record<OptionKind, string>> = {
  boolean: "a boolean",
  number: "a number",
  hyper: "a number or a scalar tensor",
  schedule: "a number, a scalar tensor or a schedule",
  mask: "a record of booleans or a function",
  function: "a function",
  gc: 'true, false, "conv" or an axes resolver',
  gcOn: '"gradient" or "update"',
  object: "a plain object",
  variables: "a list of tf.Variable",
};

/**
 * Checks an options object against a schema: it must be a plain object (or
 * `undefined`), every key must be in `schema` (an own key: `toString` is not
 * an option), and every defined value must be of its kind. A `TypeError`
 * naming the key, or the object, otherwise.
 */
export function checkOptions(
  where: string,
  options: unknown,
  schema: Readonly<Record<string, OptionKind>>,
): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) {
    throw new TypeError(
      `${where}: options must be a plain object, got ${show(options)}`,
    );
  }
  for (const [k, v] of Object.entries(options)) {
    if (!Object.hasOwn(schema, k)) {
      throw new TypeError(
        `${where}: unknown option "${k}" (known: ${
          Object.keys(schema).join(", ") || "none"
        })`,
      );
    }
    if (v === undefined) continue;
    const kind = schema[k]!;
    if (!fits(kind, v)) {
      throw new TypeError(
        `${where}: ${k} must be ${WANT[kind]}, got ${
          typeof v === "string" ? v : show(v)
        }`,
      );
    }
  }
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
  if (
    a.shape.length !== b.shape.length ||
    a.shape.some((d, i) => d !== b.shape[i])
  ) {
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

/**
 * Checks the scalars a step is about to use (hyperparameters given as
 * tensors, schedule results): each a number or a live float32 scalar
 * tensor; a `TypeError` naming it otherwise (a disposed scalar, or a
 * schedule that returned a tensor of another shape), on every backend.
 */
export function checkHyperValues(
  where: string,
  hypers: Readonly<Record<string, unknown>>,
): void {
  for (const [k, v] of Object.entries(hypers)) {
    if (typeof v === "number") continue;
    if (
      v === null || typeof v !== "object" || !("dtype" in v) ||
      !("shape" in v)
    ) {
      throw new TypeError(
        `${where}: hyperparameter "${k}" must be a number or a scalar tensor, got ${
          show(v)
        }`,
      );
    }
    const t = v as tf.Tensor;
    if (t.isDisposed || t.rank !== 0 || t.dtype !== "float32") {
      throw new TypeError(
        `${where}: hyperparameter "${k}" must be a live float32 scalar, got ${
          show(t)
        }${t.isDisposed ? "" : " (a schedule must return a float32 scalar)"}`,
      );
    }
  }
}
