// The cpu generator's SIMD reductions (`_cpu_wasm_reduce.ts`), run by hand
// over a WebAssembly memory whose bytes past each tensor are NaN, against
// float64 sums of float32 values written here.
import assert from "node:assert/strict";
import {
  type Expr,
  hyper,
  input,
  mean,
  mul,
  square,
  sub,
  sumAll,
} from "./_expr.ts";
import { makeSimdReduction } from "./_cpu_wasm_reduce.ts";
import { SIMD } from "./_cpu_wasm.ts";

const F = Math.fround;

/** Deterministic float32 values in about [-2, 2). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 4 - 2;
  }
  return out;
}

/**
 * Runs the reduction of `task` over `shape`: each input in its own stretch
 * of one memory (padded to 16 bytes with NaN, then 64 more NaN bytes), then
 * `means` float32 per-unit means to read, then `unitSums` float64 sums
 * (first filled with NaN). Gives the result and each per-unit sum.
 */
function run(
  task: Parameters<typeof makeSimdReduction>[0],
  shape: number[],
  ins: Record<string, Float32Array>,
  opts: { means?: Float32Array[]; hypers?: number[] } = {},
): { sum: number; unitSums: Float64Array[] } {
  const k = makeSimdReduction(task, shape);
  assert.ok(k !== null, "a SIMD reduction");
  const n = shape.reduce((p, d) => p * d, 1);
  const units = shape.at(-1)!;
  const stride = Math.ceil(n / 4) * 16 + 64;
  const meanBytes = Math.ceil(units / 4) * 16;
  const memory = new WebAssembly.Memory({ initial: 16 });
  new Float32Array(memory.buffer).fill(NaN);
  const at = k.inputs.map((name, q) => {
    new Float32Array(memory.buffer, q * stride, n).set(ins[name]!);
    return q * stride;
  });
  let next = k.inputs.length * stride;
  const meanAt = k.means.map((_, q) => {
    new Float32Array(memory.buffer, next, units).set(opts.means![q]!);
    next += meanBytes;
    return next - meanBytes;
  });
  const sumAt = Array.from({ length: k.unitSums }, () => {
    next += 2 * meanBytes;
    return next - 2 * meanBytes;
  });
  const instance = new WebAssembly.Instance(k.module, { env: { memory } });
  const fn = instance.exports.run as (...a: number[]) => number;
  const byUnit = k.means.length > 0 || k.unitSums > 0;
  const sum = fn(
    ...at,
    ...meanAt,
    ...sumAt,
    byUnit ? n * 4 : Math.floor(n / 4) * 16,
    units * 4,
    byUnit ? 0 : n % 4,
    ...k.uniforms(opts.hypers ?? [], []),
  );
  const unitSums = sumAt.map((o) =>
    new Float64Array(memory.buffer, o, units).slice()
  );
  return { sum, unitSums };
}

/** Float64 sums of float32 values, per unit (the last axis) and in all. */
function reference(
  n: number,
  units: number,
  value: (i: number) => number,
): { total: number; perUnit: Float64Array } {
  const perUnit = new Float64Array(units);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = value(i);
    total += v;
    perUnit[i % units]! += v;
  }
  return { total, perUnit };
}

const close = (a: number, b: number, what: string) =>
  assert.ok(
    Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)),
    `${what}: ${a} vs ${b}`,
  );

Deno.test({
  name:
    "SIMD reduction: Σ g² over lengths no multiple of 4 ignores the NaN past the tensor",
  ignore: !SIMD,
  fn() {
    for (const n of [1, 3, 4, 5, 4099, 4100]) {
      const g = values(n, n);
      const { sum } = run({ kind: "sum", arg: square(input("g")) }, [n], { g });
      const want = reference(n, 1, (i) => F(g[i]! * g[i]!)).total;
      close(sum, want, `n = ${n}`);
    }
  },
});

Deno.test({
  name:
    "SIMD reduction: a uniform factor is applied per element in float32 (Σ (g·s)²)",
  ignore: !SIMD,
  fn() {
    const n = 4097, s = 0.3;
    const g = values(n, 7);
    const arg = square(mul(input("g"), hyper("s")));
    const { sum } = run({ kind: "sum", arg }, [n], { g }, { hypers: [s] });
    const want = reference(n, 1, (i) => F(F(g[i]! * F(s)) ** 2)).total;
    close(sum, want, "Σ (g·s)²");
  },
});

Deno.test({
  name:
    "SIMD reduction: GC's per-unit sums, alone and in one pass with Σ g², rows then units",
  ignore: !SIMD,
  fn() {
    const shape = [3, 3, 5, 12], units = 12, n = 540;
    const g = values(n, 3);
    const m: Expr = mean(input("g"), [0, 1, 2]);
    const alone = run({ kind: "mean", node: m }, shape, { g });
    const want = reference(n, units, (i) => g[i]!);
    assert.equal(alone.unitSums.length, 1);
    want.perUnit.forEach((v, j) =>
      close(alone.unitSums[0]![j]!, v, `unit ${j}`)
    );
    assert.equal(alone.sum, 0);
    const both = run(
      { kind: "sumAndMeans", arg: square(input("g")), means: [m] },
      shape,
      { g },
    );
    close(both.sum, reference(n, units, (i) => F(g[i]! * g[i]!)).total, "Σ g²");
    want.perUnit.forEach((v, j) =>
      close(both.unitSums[0]![j]!, v, `unit ${j}`)
    );
  },
});

Deno.test({
  name: "SIMD reduction: Σ (g − mean)² reads the per-unit means as float32",
  ignore: !SIMD,
  fn() {
    const shape = [40, 8], units = 8, n = 320;
    const g = values(n, 11);
    const mu = new Float32Array(units).map((_, j) => F(j / 10 - 0.3));
    const m = mean(input("g"), [0]);
    const { sum } = run(
      { kind: "sum", arg: square(sub(input("g"), m)) },
      shape,
      { g },
      { means: [mu] },
    );
    const want = reference(n, units, (i) => F(F(g[i]! - mu[i % units]!) ** 2));
    close(sum, want.total, "Σ (g − mean)²");
  },
});

Deno.test({
  name:
    "SIMD reduction: none where there are no lanes (a mean over units no multiple of 4, a sum of sumAll)",
  ignore: !SIMD,
  fn() {
    const m = mean(input("g"), [0]);
    assert.equal(makeSimdReduction({ kind: "mean", node: m }, [5, 10]), null);
    assert.equal(
      makeSimdReduction({ kind: "sum", arg: sumAll(input("g")) }, [8]),
      null,
    );
  },
});
