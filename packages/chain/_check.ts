// Private validation helpers: every check throws before anything is computed,
// with a message that names the offending value.
import "./tfjs_check.ts";
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

/** Throws unless every name in `updates` is a key of `known`. */
export function checkKnown(
  where: string,
  updates: Updates,
  known: Readonly<Record<string, unknown>>,
): void {
  for (const name of Object.keys(updates)) {
    if (!(name in known)) {
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
    checkSameShape(where, name, u, known[name]!);
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
    const p = params[name];
    if (p === undefined) {
      throw new TypeError(`${where}: missing parameter "${name}" in params`);
    }
    checkSameShape(where, name, u, p, "parameter");
  }
  return params;
}
