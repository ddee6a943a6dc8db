// Private helpers for walking states, which are plain objects, arrays,
// numbers, strings, booleans and tensors nested in any way.
import "./tfjs_check.ts";
import * as tf from "@tensorflow/tfjs";

/** Every tensor held anywhere inside `x`. */
export function collectTensors(
  x: unknown,
  into: Set<tf.Tensor> = new Set(),
): Set<tf.Tensor> {
  if (x instanceof tf.Tensor) {
    into.add(x);
  } else if (Array.isArray(x)) {
    for (const v of x) collectTensors(v, into);
  } else if (x !== null && typeof x === "object") {
    for (const v of Object.values(x)) collectTensors(v, into);
  }
  return into;
}

/**
 * The first node of a state tree, depth first (keys and indices in order),
 * that `test` accepts, `x` itself included; tensors are leaves.
 */
export function findInState<T>(
  x: unknown,
  test: (node: unknown) => node is T,
): T | undefined {
  if (test(x)) return x;
  if (x === null || typeof x !== "object" || x instanceof tf.Tensor) {
    return undefined;
  }
  for (const v of Object.values(x)) {
    const found = findInState(v, test);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Maps `fn` over tensors paired by position in two states of the same shape. */
export function zipTensors(
  a: unknown,
  b: unknown,
  fn: (x: tf.Tensor, y: tf.Tensor, path: string) => tf.Tensor,
  onOther: (x: unknown, y: unknown, path: string) => unknown,
  path = "state",
): unknown {
  if (a instanceof tf.Tensor && b instanceof tf.Tensor) return fn(a, b, path);
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.map((v, i) => zipTensors(v, b[i], fn, onOther, `${path}[${i}]`));
  }
  if (
    a !== null && b !== null && typeof a === "object" &&
    typeof b === "object" &&
    !(a instanceof tf.Tensor) && !(b instanceof tf.Tensor) &&
    !Array.isArray(a) && !Array.isArray(b)
  ) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    const keys = Object.keys(ra);
    if (keys.length === Object.keys(rb).length && keys.every((k) => k in rb)) {
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        out[k] = zipTensors(ra[k], rb[k], fn, onOther, `${path}.${k}`);
      }
      return out;
    }
  }
  return onOther(a, b, path);
}

/**
 * The state `next` where `cond` (a bool scalar) is true and `old` where it
 * is false, selected on the device tensor by tensor (`tf.where`), with the
 * tensors the two share kept as they are. A host-side value (a number, a
 * string) that differs between them cannot be selected without reading
 * `cond` back: a `TypeError` that names its path, ending with `hint`.
 */
export function selectState<S>(
  where: string,
  cond: tf.Tensor,
  next: S,
  old: S,
  hint: string,
): S {
  const pick = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
    a === b ? a : tf.where(tf.broadcastTo(cond, a.shape), a, b);
  return zipTensors(next, old, pick, (a, b, path) => {
    if (a !== b && JSON.stringify(a) !== JSON.stringify(b)) {
      throw new TypeError(
        `${where}: the inner state changes a host-side value at ${path} (${
          String(b)
        } -> ${String(a)}), which cannot be ${hint}`,
      );
    }
    return a;
  }) as S;
}
