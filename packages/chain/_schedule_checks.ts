// Private: checks and exact arithmetic shared by the schedules.
import * as tf from "@tensorflow/tfjs";
import { checkHyper, checkOptions } from "./_check.ts";

export function finite(
  where: string,
  name: string,
  v: number,
  range: Parameters<typeof checkHyper>[3] = {},
): void {
  if (typeof v !== "number") {
    throw new TypeError(`${where}: ${name} must be a number, got ${String(v)}`);
  }
  checkHyper(where, name, v, range);
}

/**
 * `floor(x / y)` for whole float32 numbers `x >= 0` and `y > 0`, exactly:
 * WGSL's division may be off by an ulp, and `floor(120 / 60)` then 1. The
 * quotient is corrected by products of whole numbers, which are exact.
 */
export function floorDiv(x: tf.Tensor, y: number): tf.Tensor {
  const q = tf.floor(tf.div(x, y));
  const up = tf.cast(tf.lessEqual(tf.mul(tf.add(q, 1), y), x), "float32");
  const down = tf.cast(tf.greater(tf.mul(q, y), x), "float32");
  return tf.sub(tf.add(q, up), down);
}

/**
 * Where `init * rate^k` goes as `k` grows: 0 for a rate below 1, `init` for
 * 1, and without bound (`±Infinity`) above.
 */
export function limitOf(init: number, rate: number): number {
  if (rate < 1 || init === 0) return 0;
  return rate === 1 ? init : Math.sign(init) * Infinity;
}

export function positiveInt(where: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) {
    throw new RangeError(
      `${where}: ${name} must be a positive integer, got ${v}`,
    );
  }
}

/** Checks a schedule's (required) options object: a plain object of known keys. */
export function scheduleOptions(
  where: string,
  options: unknown,
  schema: Parameters<typeof checkOptions>[2],
): void {
  if (options === undefined) {
    throw new TypeError(`${where}: options are required`);
  }
  checkOptions(where, options, schema);
}
