// Private helpers shared by the transforms that keep one tensor per parameter.
import * as tf from "@tensorflow/tfjs";
import type { Hyper, Params, ScalarOrSchedule, Updates } from "./types.ts";

/** One tensor per parameter, keyed by parameter name. */
export type PerParam = Record<string, tf.Tensor>;

/** A tensor like each parameter, filled with `value`, in float32. */
export function fillLike(params: Params, value = 0): PerParam {
  const out: PerParam = {};
  for (const [k, p] of Object.entries(params)) {
    out[k] = value === 0
      ? tf.zeros(p.shape, "float32")
      : tf.fill(p.shape, value, "float32");
  }
  return out;
}

/** The old per-parameter map with the entries named in `fresh` replaced. */
export function carry(old: PerParam, fresh: PerParam): PerParam {
  return { ...old, ...fresh };
}

/** A float32 scalar step counter at zero. */
export function zeroCount(): tf.Scalar {
  return tf.scalar(0, "float32");
}

/** A hyperparameter's value at this step. */
export function valueAt(h: ScalarOrSchedule, count: tf.Scalar): Hyper {
  return typeof h === "function" ? h(count) : h;
}

/** `1 - decay^count`: Adam's bias correction, in float32. */
export function biasCorrection(decay: Hyper, count: tf.Tensor): tf.Tensor {
  return tf.sub(1, tf.pow(decay, count));
}

/** `a * x + b * y` with scalar or number weights. */
export function lerp(
  a: number | tf.Tensor,
  x: tf.Tensor,
  b: number | tf.Tensor,
  y: tf.Tensor,
): tf.Tensor {
  return tf.add(tf.mul(a, x), tf.mul(b, y));
}

/** Runs `fn` for every update, collecting the new updates and per-name state. */
export function perName(
  updates: Updates,
  fn: (g: tf.Tensor, name: string, out: Record<string, PerParam>) => tf.Tensor,
  slots: readonly string[],
): [Updates, Record<string, PerParam>] {
  const fresh: Record<string, PerParam> = {};
  for (const s of slots) fresh[s] = {};
  const out: Updates = {};
  for (const [name, g] of Object.entries(updates)) {
    out[name] = fn(g, name, fresh);
  }
  return [out, fresh];
}
