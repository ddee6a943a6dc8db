// Private: whole-number powers in float32, the same on every backend. The
// factors `base^(2^k)` of `base^n` for the bits `k` of `n`, multiplied in one
// fixed pairwise order, on the host (float64 factors rounded once) or with tf
// ops; `@centra/chain/expr`'s `powInt` builds the expression, the evaluators
// and `schedules.ts` call these.
import "./tfjs_check.ts";
import * as tf from "@tensorflow/tfjs";

/** Bits of a whole-number exponent that `powInt` reads (`2^24`, float32's last exact integer, is bit 24). */
export const POW_BITS = 25;

/**
 * `base^(2^k / per)` for `k < POW_BITS`, each computed in float64 and
 * rounded once to float32: the factors of `base^(n / per)` for a whole `n`.
 */
export function powerFactors(base: number, per = 1): number[] {
  return Array.from(
    { length: POW_BITS },
    (_, k) => Math.fround(Math.pow(Math.fround(base), 2 ** k / per)),
  );
}

/** `n`, made a whole number in `[0, 2^POW_BITS - 1]`. */
function wholeExponent(n: number): number {
  return Math.min(Math.max(Math.trunc(n), 0), 2 ** POW_BITS - 1) || 0;
}

/** The pairwise order of `powInt`'s product: `f[j] *= f[j + m]` for m = 16, 8, ..., 1. */
function treeProduct<T>(f: T[], mul: (a: T, b: T) => T): T {
  let xs = f;
  for (let m = xs.length / 2; m >= 1; m /= 2) {
    xs = xs.slice(0, m).map((a, j) => mul(a, xs[j + m]!));
  }
  return xs[0]!;
}

/**
 * On the cpu backend, where tensors live on the host, `powInt`'s
 * product from the values of `n` and the factors: the same float32 products
 * in the same order as the tf ops, for 2 ops instead of about 30.
 */
export function onHost(
  n: number | tf.Tensor,
  factors: readonly (number | tf.Tensor)[],
): number | undefined {
  if (tf.getBackend() !== "cpu") return undefined;
  const read = (v: number | tf.Tensor) =>
    typeof v === "number" ? v : v.dataSync()[0]!;
  return bitProductHost(read(n), factors.map(read));
}

/** `powInt`'s product on the host, in float32. */
export function bitProductHost(n: number, factors: readonly number[]): number {
  const whole = wholeExponent(Math.fround(n));
  const f = Array.from(
    { length: 32 },
    (_, k) =>
      k < factors.length && Math.floor(whole / 2 ** k) % 2 === 1
        ? Math.fround(factors[k]!)
        : 1,
  );
  return treeProduct(f, (a, b) => Math.fround(a * b));
}

const BIT_SCALES = Array.from({ length: 32 }, (_, k) => 2 ** -k);

/**
 * `powInt`'s product with tf ops: `n` a float32 scalar tensor,
 * the factors numbers or scalar tensors. The same float32 operations in the
 * same order as the host and WGSL versions.
 */
export function bitProduct(
  n: tf.Tensor,
  factors: readonly (number | tf.Tensor)[],
): tf.Tensor {
  const host = onHost(n, factors);
  if (host !== undefined) return tf.scalar(host, "float32");
  return tf.tidy(() => {
    const whole = tf.floor(
      tf.minimum(tf.maximum(tf.reshape(n, [1]), 0), 2 ** POW_BITS - 1),
    );
    // bit k of n: floor(n / 2^k) mod 2, all exact in float32
    const q = tf.floor(tf.mul(whole, tf.tensor1d(BIT_SCALES)));
    const bits = tf.greater(tf.mod(q, 2), 0.5);
    const table = factors.every((c) => typeof c === "number")
      ? tf.tensor1d([
        ...(factors as number[]).map(Math.fround),
        ...Array(32 - factors.length).fill(1),
      ])
      : tf.concat([
        ...factors.map((c) =>
          typeof c === "number"
            ? tf.tensor1d([c])
            : tf.reshape(tf.cast(c, "float32"), [1])
        ),
        tf.ones([32 - factors.length]),
      ]);
    let f = tf.where(bits, table, tf.onesLike(table));
    for (let m = 16; m >= 1; m /= 2) {
      f = tf.mul(tf.slice(f, 0, m), tf.slice(f, m, m));
    }
    return tf.reshape(f, []);
  });
}
