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

/** A non-negative whole number of steps, or a RangeError naming it. */
export function nonNegativeInt(where: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new RangeError(
      `${where}: ${name} must be a non-negative integer, got ${v}`,
    );
  }
}

/**
 * Checks a schedule's (required) options object: a plain object of known
 * keys; the keys of `choices` hold one of the strings listed for them.
 */
export function scheduleOptions(
  where: string,
  options: unknown,
  schema: Parameters<typeof checkOptions>[2],
  choices: Readonly<Record<string, readonly string[]>> = {},
): void {
  if (options === undefined) {
    throw new TypeError(`${where}: options are required`);
  }
  const named = Object.keys(choices);
  const plain = options !== null && typeof options === "object" &&
    [Object.prototype, null].includes(Object.getPrototypeOf(options));
  // the string options are checked here, the rest by kind
  const rest = plain && named.length > 0
    ? Object.fromEntries(
      Object.entries(options).filter(([k]) => !named.includes(k)),
    )
    : options;
  checkOptions(where, rest, {
    ...schema,
    ...Object.fromEntries(named.map((k) => [k, "number" as const])),
  });
  for (const k of named) {
    const v = (options as Record<string, unknown>)[k];
    if (v !== undefined && !choices[k]!.includes(v as string)) {
      throw new TypeError(
        `${where}: ${k} must be ${
          choices[k]!.map((c) => JSON.stringify(c)).join(" or ")
        }, got ${JSON.stringify(v) ?? String(v)}`,
      );
    }
  }
}

/**
 * The checks a decay of `initValue` over a period of whole steps starts
 * with: its options as {@linkcode scheduleOptions} reads them, `initValue`
 * finite in float32, and the period, the option `period`, a positive
 * integer.
 */
export function decayScheduleOptions<
  S extends Parameters<typeof checkOptions>[2],
>(
  where: string,
  initValue: number,
  options: object,
  schema: S,
  period: keyof S & string,
): void {
  scheduleOptions(where, options, schema);
  finite(where, "initValue", initValue);
  positiveInt(where, period, (options as Record<string, number>)[period]!);
}

/**
 * `to + (from - to) c^exponent` with `c = (1 + cos(π min(max(count, 0),
 * steps) / steps)) / 2`: cosine decay from `from` to `to` over `steps`
 * (optax's `cosine_decay_schedule` in terms of its two end values).
 */
export function cosine(
  count: tf.Tensor,
  from: number,
  to: number,
  steps: number,
  exponent = 1,
): tf.Scalar {
  const t = tf.div(tf.minimum(tf.maximum(count, 0), steps), steps);
  let c: tf.Tensor = tf.mul(0.5, tf.add(1, tf.cos(tf.mul(Math.PI, t))));
  // float32's cos(π) may land a hair below -1: a power of a negative c is NaN
  if (exponent !== 1) c = tf.pow(tf.maximum(c, 0), exponent);
  return tf.add(to, tf.mul(from - to, c)) as tf.Scalar;
}
