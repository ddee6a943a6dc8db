// Private validation helpers: every check throws before anything is computed,
// with a message that names the offending value.
import "./tfjs_check.ts";
import type * as tf from "@tensorflow/tfjs";
import type { Hyper, ScalarOrSchedule } from "./types.ts";

function isNumber(x: unknown): x is number {
  return typeof x === "number";
}

/** The range a hyperparameter must lie in (float32 values, see `checkHyper`). */
export interface HyperRange {
  min?: number;
  max?: number;
  minOpen?: boolean;
  maxOpen?: boolean;
}

/** What a scalar tensor must hold, recorded by `checkHyper` (see `hostScalar`). */
interface Rule {
  where: string;
  name: string;
  range: HyperRange;
}

/**
 * Host copies of scalar tensors made from numbers (`hostScalar`); `edge`:
 * a schedule's bound, which may reach an open end of a range.
 */
const hostValues = new WeakMap<tf.Tensor, { value: number; edge: boolean }>();
/** The ranges transforms asked of scalar tensors given to them as hyperparameters. */
const rules = new WeakMap<tf.Tensor, Map<string, Rule>>();

/**
 * Records that the scalar `t` was made from the host number `value`: a
 * transform given it as a hyperparameter checks that number as it checks a
 * plain one (`hostScalar` in `inject_hyperparams.ts`).
 */
export function rememberHost(t: tf.Tensor, value: number, edge = false): void {
  hostValues.set(t, { value, edge });
}

/**
 * Checks a number as a float32 hyperparameter: finite in float32 (so `1e39`,
 * which float32 rounds to Infinity, is refused) and, rounded to float32, in
 * `range` (so `0.99999999`, which rounds to 1, is not below 1).
 */
export function checkHyperNumber(
  where: string,
  name: string,
  value: number,
  range: HyperRange = {},
): void {
  const { min = -Infinity, max = Infinity, minOpen = false, maxOpen = false } =
    range;
  if (!Number.isFinite(value)) {
    throw new RangeError(`${where}: ${name} must be finite, got ${value}`);
  }
  const f = Math.fround(value);
  if (!Number.isFinite(f)) {
    throw new RangeError(
      `${where}: ${name} must be finite in float32 (|x| < 3.4028235e38), got ${value}`,
    );
  }
  const lowOk = minOpen ? f > min : f >= min;
  const highOk = maxOpen ? f < max : f <= max;
  if (!lowOk || !highOk) {
    const lo = minOpen ? "(" : "[";
    const hi = maxOpen ? ")" : "]";
    const as32 = f === value ? "" : ` (${f} in float32)`;
    throw new RangeError(
      `${where}: ${name} must be in ${lo}${min}, ${max}${hi}, got ${value}${as32}`,
    );
  }
}

/**
 * Checks `value` against every range that transforms asked of the scalar
 * `like` (the tensor it replaces), and as a float32 number.
 */
export function checkLike(
  where: string,
  name: string,
  value: number,
  like: tf.Tensor | undefined,
): void {
  checkHyperNumber(where, name, value);
  for (
    const r of (like === undefined ? undefined : rules.get(like))?.values() ??
      []
  ) {
    checkHyperNumber(where, `${name} (${r.where}'s ${r.name})`, value, r.range);
  }
}

/** Makes `to` carry the ranges recorded for `from`. */
export function inheritRules(from: tf.Tensor, to: tf.Tensor): void {
  const r = rules.get(from);
  if (r !== undefined) rules.set(to, new Map(r));
}

/** The least and greatest values of centra's schedules, known on the host. */
const scheduleBounds = new WeakMap<object, readonly [number, number]>();

/**
 * Records that `schedule` only takes values in `[lo, hi]` (either may be
 * infinite), so that a transform given it can check them; returns it.
 */
export function withBounds<F extends object>(
  schedule: F,
  lo: number,
  hi: number,
): F {
  scheduleBounds.set(schedule, [Math.min(lo, hi), Math.max(lo, hi)]);
  return schedule;
}

/** The bounds `withBounds` recorded for `schedule`, if any. */
export function boundsOf(
  schedule: object,
): readonly [number, number] | undefined {
  return scheduleBounds.get(schedule);
}

/**
 * A schedule with known bounds must stay in `range`, which it may reach at
 * an open end: the formulas define their value there (docs/chain.md,
 * Boundaries), as they must for a tensor that reaches it at run time.
 */
function checkScheduleBounds(
  where: string,
  name: string,
  schedule: object,
  range: HyperRange,
): void {
  const b = scheduleBounds.get(schedule);
  if (b === undefined) return;
  const closed = { ...range, minOpen: false, maxOpen: false };
  for (const v of b) {
    const f = Math.fround(v);
    // an unbounded schedule (growth) is only refused by a finite bound
    if (Number.isFinite(f)) {
      checkHyperNumber(where, `${name} (a schedule reaching ${v})`, v, closed);
    } else if (
      (f > 0 && (range.max ?? Infinity) < Infinity) ||
      (f < 0 && (range.min ?? -Infinity) > -Infinity)
    ) {
      throw new RangeError(
        `${where}: ${name} is a schedule that grows without bound (to ${f}), past ${
          f > 0 ? range.max : range.min
        }`,
      );
    }
  }
}

/**
 * Checks a hyperparameter: a number as a float32 value in `range`; a scalar
 * tensor made by `hostScalar` the same way, by its host number; any other
 * scalar tensor only by shape (its value lives on the device; the range is
 * recorded, so that `setHyperparam` can check a replacement). A schedule
 * with bounds recorded by `withBounds` (every schedule of `schedules.ts`) is
 * checked by them, reaching an open end allowed; other schedules pass
 * through.
 */
export function checkHyper(
  where: string,
  name: string,
  value: ScalarOrSchedule | undefined,
  range: HyperRange = {},
): void {
  if (value === undefined) return;
  if (typeof value === "function") {
    checkScheduleBounds(where, name, value, range);
    return;
  }
  if (!isNumber(value)) {
    if (typeof value === "object" && value !== null && "rank" in value) {
      const t = value as tf.Tensor;
      if (t.rank !== 0) {
        throw new TypeError(
          `${where}: ${name} must be a number, a scalar tensor or a schedule, got a tensor of shape [${t.shape}]`,
        );
      }
      const host = hostValues.get(t);
      if (host !== undefined) {
        checkHyperNumber(
          where,
          host.edge ? `${name} (a schedule reaching ${host.value})` : name,
          host.value,
          host.edge ? { ...range, minOpen: false, maxOpen: false } : range,
        );
      }
      let mine = rules.get(t);
      if (mine === undefined) {
        mine = new Map();
        rules.set(t, mine);
      }
      mine.set(`${where}|${name}`, { where, name, range });
      return;
    }
    throw new TypeError(
      `${where}: ${name} must be a number, a scalar tensor or a schedule, got ${
        String(value)
      }`,
    );
  }
  checkHyperNumber(where, name, value, range);
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
  | "variables"
  | "string";

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
    case "string":
      return typeof v === "string" && v !== "";
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
  string: "a non-empty string",
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
          typeof v === "string" && v !== "" ? v : show(v)
        }`,
      );
    }
  }
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
