// Private: GC's per-unit means on the cpu generator's side, computed as
// tfjs's cpu backend computes them op by op (`_cpu_codegen.ts` emits the
// per-unit case inline; the others go through `meanAxes`), where each
// element finds its mean, and (default rounding only) means taken out of a
// factor the whole step shares, so that they need no global sum first.
import { type Expr, mean, mul, withArgs } from "./_expr.ts";

/** Whether GC's mean `axes` of `shape` take `unitMean`'s cpu path. */
export function columnMean(
  shape: readonly number[],
  axes: readonly number[],
): boolean {
  const r = shape.length;
  return axes.length === r - 1 && r >= 2 && axes.every((a, i) => a === i);
}

/**
 * tfjs's cpu `Mean` over `axes`, kept: each value divided by the count,
 * summed in float64 over the reduced axes in row-major order (after the
 * transpose that moves them last), rounded once.
 */
export function meanAxes(
  x: Float32Array,
  shape: readonly number[],
  axes: readonly number[],
): Float32Array {
  const reduced = axes.map((a) => shape[a]!);
  const kept = shape.map((_, a) => a).filter((a) => !axes.includes(a));
  const count = Math.fround(reduced.reduce((p, d) => p * d, 1));
  const strides = stridesOf(shape);
  const outSize = kept.reduce((p, a) => p * shape[a]!, 1);
  const inner = reduced.reduce((p, d) => p * d, 1);
  const out = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    let base = 0, rest = o;
    for (let k = kept.length - 1; k >= 0; k--) {
      const d = shape[kept[k]!]!;
      base += (rest % d) * strides[kept[k]!]!;
      rest = Math.floor(rest / d);
    }
    let s = 0;
    for (let q = 0; q < inner; q++) {
      let at = base, left = q;
      for (let k = axes.length - 1; k >= 0; k--) {
        const d = reduced[k]!;
        at += (left % d) * strides[axes[k]!]!;
        left = Math.floor(left / d);
      }
      s += Math.fround(x[at]! / count);
    }
    out[o] = s;
  }
  return out;
}

function stridesOf(shape: readonly number[]): number[] {
  const out = shape.map(() => 1);
  for (let a = shape.length - 2; a >= 0; a--) {
    out[a] = out[a + 1]! * shape[a + 1]!;
  }
  return out;
}

/**
 * For a mean over `axes` of a tensor of `shape` (kept as size-1 axes): the
 * index of each element's mean, or `null` for the per-unit case (`j`).
 */
export function meanIndex(
  shape: readonly number[],
  axes: readonly number[],
): Int32Array | null {
  if (columnMean(shape, axes)) return null;
  const strides = stridesOf(shape);
  const kept = shape.map((_, a) => a).filter((a) => !axes.includes(a));
  const n = shape.reduce((p, d) => p * d, 1);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (const a of kept) {
      o = o * shape[a]! + Math.floor(i / strides[a]!) % shape[a]!;
    }
    out[i] = o;
  }
  return out;
}

const HOISTED = new WeakMap<readonly Expr[], readonly Expr[]>();

/**
 * `exprs` with every mean of a product by a step-wide factor (one that is
 * not per parameter: a clipping factor from a global norm, a
 * hyperparameter) rewritten as the factor times the mean:
 * `mean(c · x) = c · mean(x)`. Equal in exact arithmetic; the default
 * rounding keeps per-unit means in float64, where the two differ by a
 * float64 rounding (a general mean is float32, as tfjs's, and moves one
 * float32 rounding). What it buys: the
 * mean no longer waits for the global sum, so the cpu generator computes it
 * in the same pass over the gradient as the tensor's part of that sum (GC
 * after `clipByGlobalNorm`). Found once per (cached) expression list.
 */
export function hoistSharedFactors(exprs: readonly Expr[]): readonly Expr[] {
  let out = HOISTED.get(exprs);
  if (out === undefined) {
    const memo = new Map<Expr, Expr>();
    out = exprs.map((e) => hoist(e, memo));
    HOISTED.set(exprs, out);
  }
  return out;
}

function hoist(e: Expr, memo: Map<Expr, Expr>): Expr {
  const seen = memo.get(e);
  if (seen !== undefined) return seen;
  let out = e;
  if (e.args.length > 0) {
    const args = e.args.map((a) => hoist(a, memo));
    out = args.every((a, k) => a === e.args[k]) ? e : withArgs(e, args);
    const x = args[0]!;
    if (e.op === "mean" && x.op === "mul") {
      const [a, b] = x.args as [Expr, Expr];
      // the factor's mean goes first, then the product (as written)
      if (!b.perParam && a.perParam) out = mul(hoist(mean(a, e.axes), memo), b);
      else if (!a.perParam && b.perParam) {
        out = mul(a, hoist(mean(b, e.axes), memo));
      }
    }
  }
  memo.set(e, out);
  return out;
}
