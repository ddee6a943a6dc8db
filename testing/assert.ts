// Float64 comparisons of tensors for every package's tests.
import type * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";

/** Reads a tensor as a float64 array. */
export async function read(t: tf.Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data() as Float32Array);
}

/**
 * Asserts `|a - b| <= atol + rtol * |b|` elementwise, naming the first index
 * that fails.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-6, what = "value" } = {},
): void {
  assert.equal(
    actual.length,
    expected.length,
    `${what}: length ${actual.length} != ${expected.length}`,
  );
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, b = expected[i]!;
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
      assert.fail(
        `${what}[${i}]: got ${a}, expected ${b} (rtol ${rtol}, atol ${atol})`,
      );
    }
  }
}

/**
 * The largest `max|a - b| / max|b|` over the tensors (normwise relative
 * difference; 0 for tensors that are equal, NaN where a NaN or an infinity
 * makes them incomparable).
 */
export function normwiseDiff(
  a: readonly ArrayLike<number>[],
  b: readonly ArrayLike<number>[],
): number {
  let m = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    let diff = 0, size = 0;
    for (let j = 0; j < x.length; j++) {
      diff = Math.max(diff, Math.abs(x[j]! - y[j]!));
      size = Math.max(size, Math.abs(y[j]!));
    }
    m = Math.max(m, diff === 0 ? 0 : diff / size);
  });
  return m;
}
