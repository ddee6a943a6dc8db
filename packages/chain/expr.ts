/**
 * A small expression language for elementwise optimizer math, written once
 * and run two ways: {@linkcode evaluate} turns it into tf ops (the op-by-op
 * path every centra transform uses), and `@centra/webgpu`'s `fuse` turns it
 * into WGSL kernels.
 *
 * An expression is built from per-parameter tensor inputs ({@linkcode input}:
 * the incoming update `"g"`, the parameter `"p"`, state slots
 * {@linkcode slot}), per-step scalars ({@linkcode hyper}: numbers or scalar
 * tensors bound at each step), constants and elementwise ops, plus three
 * reductions: {@linkcode mean} over axes (kept, broadcast back),
 * {@linkcode sumAll} over one tensor and {@linkcode globalSum} over every
 * tensor of a step. Nodes are interned, so equal expressions are the same
 * object and shared work is done once.
 *
 * Transforms built with {@linkcode elementwise} expose their math through
 * {@linkcode describe}, and so do `chain` and `namedChain` their parts.
 *
 * @example Adam's first moment, evaluated op by op
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { add, evaluate, hyper, input, mul, slot, sub } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * const b1 = hyper("b1");
 * const m = add(mul(b1, slot("mu")), mul(sub(1, b1), input("g")));
 * const out = evaluate(
 *   { w: { mu: m } },
 *   (_param, name) => name === "g" ? tf.tensor1d([1, 2]) : tf.tensor1d([0, 0]),
 *   { b1: 0.5 },
 * );
 * assert.deepEqual(Array.from(out.w!.mu!.dataSync()), [0.5, 1]);
 * ```
 *
 * @module
 */
import "./tfjs_check.ts";
import * as tf from "@tensorflow/tfjs";
import { checkHyperValues } from "./_check.ts";
import type {
  GradientTransformation,
  Hyper,
  Params,
  Updates,
} from "./types.ts";

/** The operations an {@linkcode Expr} node can hold. */
export type ExprOp =
  | "input"
  | "hyper"
  | "const"
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "max"
  | "min"
  | "pow"
  | "gt"
  | "neg"
  | "sqrt"
  | "square"
  | "abs"
  | "sign"
  | "powTwo"
  | "bitProduct"
  | "select"
  | "mean"
  | "sumAll"
  | "globalSum";

/** One node of an expression. Build nodes with the functions of this module. */
export interface Expr {
  /** Unique per distinct expression (nodes are interned). */
  readonly id: number;
  /** The operation. */
  readonly op: ExprOp;
  /** Operands. */
  readonly args: readonly Expr[];
  /** Input or hyperparameter name; a global sum's tag. */
  readonly name: string;
  /** A constant's value; `k` of a `powTwo` (0 otherwise). */
  readonly value: number;
  /** Axes of a `mean` (empty otherwise). */
  readonly axes: readonly number[];
  /** Whether the value differs per parameter (reads an input or reduces one tensor). */
  readonly perParam: boolean;
}

const table = new Map<string, Expr>();

function node(
  op: ExprOp,
  args: readonly Expr[],
  extra: { name?: string; value?: number; axes?: readonly number[] } = {},
): Expr {
  const name = extra.name ?? "";
  const value = extra.value ?? 0;
  const axes = extra.axes ?? [];
  const key = `${op}|${name}|${Object.is(value, -0) ? "-0" : value}|${axes}|${
    args.map((a) => a.id)
  }`;
  const found = table.get(key);
  if (found !== undefined) return found;
  const perParam = op === "input" || op === "mean" || op === "sumAll" ||
    (op !== "globalSum" && args.some((a) => a.perParam));
  const made: Expr = Object.freeze({
    id: table.size,
    op,
    args,
    name,
    value,
    axes,
    perParam,
  });
  table.set(key, made);
  return made;
}

/** An operand: an expression or a number (a constant). */
export type Operand = Expr | number;

function lift(x: Operand): Expr {
  if (typeof x === "number") return constant(x);
  if (x === null || typeof x !== "object" || !("op" in x)) {
    throw new TypeError(`expr: operand must be an Expr or a number, got ${x}`);
  }
  return x;
}

/**
 * A per-parameter tensor input: `"g"` (the incoming update), `"p"` (the
 * parameter) or a state slot (see {@linkcode slot}).
 *
 * @param name The input's name.
 * @returns The input node.
 *
 * @example
 * ```ts
 * import { input } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(input("g"), input("g"));
 * ```
 */
export function input(name: string): Expr {
  return node("input", [], { name });
}

/**
 * The per-parameter state slot `name` (a `PerParam` map in the state), as an
 * input named `"slot:<name>"`.
 *
 * @param name The slot's key in the state.
 * @returns The input node.
 *
 * @example
 * ```ts
 * import { slot } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(slot("mu").name, "slot:mu");
 * ```
 */
export function slot(name: string): Expr {
  return input(`slot:${name}`);
}

/**
 * A per-step scalar, bound at each step to a number or a scalar tensor (a
 * hyperparameter, a step count, a schedule's value). Fused kernels read
 * numbers from uniforms and tensors from a small buffer, so changing a value
 * never recompiles a shader.
 *
 * @param name The hyperparameter's name.
 * @returns The hyper node.
 *
 * @example
 * ```ts
 * import { hyper } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(hyper("lr").op, "hyper");
 * ```
 */
export function hyper(name: string): Expr {
  return node("hyper", [], { name });
}

/**
 * A constant.
 *
 * @param value The number.
 * @returns The constant node.
 *
 * @example
 * ```ts
 * import { constant } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(constant(2).value, 2);
 * ```
 */
export function constant(value: number): Expr {
  if (typeof value !== "number") {
    throw new TypeError(`expr: constant must be a number, got ${value}`);
  }
  return node("const", [], { value });
}

function binary(op: ExprOp) {
  return (a: Operand, b: Operand): Expr => node(op, [lift(a), lift(b)]);
}
function unary(op: ExprOp) {
  return (a: Operand): Expr => node(op, [lift(a)]);
}

/** `a + b`. @param a Left. @param b Right. @returns The sum node. */
export const add: (a: Operand, b: Operand) => Expr = binary("add");
/** `a - b`. @param a Left. @param b Right. @returns The difference node. */
export const sub: (a: Operand, b: Operand) => Expr = binary("sub");
/** `a * b`. @param a Left. @param b Right. @returns The product node. */
export const mul: (a: Operand, b: Operand) => Expr = binary("mul");
/** `a / b`. @param a Left. @param b Right. @returns The quotient node. */
export const div: (a: Operand, b: Operand) => Expr = binary("div");
/** `max(a, b)`. @param a Left. @param b Right. @returns The node. */
export const max: (a: Operand, b: Operand) => Expr = binary("max");
/** `min(a, b)`. @param a Left. @param b Right. @returns The node. */
export const min: (a: Operand, b: Operand) => Expr = binary("min");
/** `a ** b` (`a >= 0`). @param a Base. @param b Exponent. @returns The node. */
export const pow: (a: Operand, b: Operand) => Expr = binary("pow");
/** `a > b`, a condition for {@linkcode select}. @param a Left. @param b Right. @returns The node. */
export const gt: (a: Operand, b: Operand) => Expr = binary("gt");
/** `-a`. @param a Operand. @returns The node. */
export const neg: (a: Operand) => Expr = unary("neg");
/** `sqrt(a)`. @param a Operand. @returns The node. */
export const sqrt: (a: Operand) => Expr = unary("sqrt");
/** `a²`. @param a Operand. @returns The node. */
export const square: (a: Operand) => Expr = unary("square");
/** `|a|`. @param a Operand. @returns The node. */
export const abs: (a: Operand) => Expr = unary("abs");
/** `sign(a)`. @param a Operand. @returns The node. */
export const sign: (a: Operand) => Expr = unary("sign");

/** Bits of a whole-number exponent that {@linkcode powInt} reads (`2^24`, float32's last exact integer, is bit 24). */
export const POW_BITS = 25;

/**
 * `base^(2^k)`: from a number, `Math.pow` in float64 rounded once to
 * float32; from a tensor, `k` float32 squarings (of `powTwo(base, k - 1)`).
 * One factor of {@linkcode powInt}.
 *
 * @param base The base.
 * @param k The power of two of the exponent.
 * @returns The node.
 *
 * @example
 * ```ts
 * import { foldNumber, hyper, powTwo } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(foldNumber(powTwo(hyper("b"), 3), { b: 0.5 }), 0.5 ** 8);
 * ```
 */
export function powTwo(base: Expr, k: number): Expr {
  return node("powTwo", [base], { value: k });
}

/**
 * `base^n` for a whole number `n >= 0` held in a float32 (a step count), by
 * binary exponentiation: the product of the factors `base^(2^k)` for the bits
 * `k` of `n`, multiplied in a fixed pairwise order. Every operation is a
 * float32 multiplication, which every backend rounds the same way, so the
 * result is the same on cpu and webgpu (WGSL's `pow` is `exp2(b * log2(a))`,
 * off by 1e-7 relative on llvmpipe, which Adam's `1 - β^t` amplifies). With
 * a number `base` the factors come from float64, so the result is within
 * about 25 float32 roundings of the exact power. `n` is clamped to
 * `[0, 2^25 - 1]` and truncated to a whole number.
 *
 * @param base The base: a number or a per-step scalar (a hyperparameter).
 * @param n The exponent, a per-step scalar such as `hyper("count")`.
 * @returns The node.
 *
 * @example
 * ```ts
 * import { foldNumber, hyper, powInt } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(foldNumber(powInt(hyper("b"), hyper("t")), { b: 0.5, t: 3 }), 0.125);
 * assert.equal(foldNumber(powInt(0, hyper("t")), { t: 0 }), 1);
 * ```
 */
export function powInt(base: Operand, n: Operand): Expr {
  const b = lift(base);
  return node("bitProduct", [
    lift(n),
    ...Array.from({ length: POW_BITS }, (_, k) => powTwo(b, k)),
  ]);
}

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

/** The pairwise order of {@linkcode powInt}'s product: `f[j] *= f[j + m]` for m = 16, 8, ..., 1. */
function treeProduct<T>(f: T[], mul: (a: T, b: T) => T): T {
  let xs = f;
  for (let m = xs.length / 2; m >= 1; m /= 2) {
    xs = xs.slice(0, m).map((a, j) => mul(a, xs[j + m]!));
  }
  return xs[0]!;
}

/**
 * On the cpu backend, where tensors live on the host, {@linkcode powInt}'s
 * product from the values of `n` and the factors: the same float32 products
 * in the same order as the tf ops, for 2 ops instead of about 30.
 */
function onHost(
  n: Value,
  factors: readonly Value[],
): number | undefined {
  if (tf.getBackend() !== "cpu") return undefined;
  const read = (v: Value) => typeof v === "number" ? v : v.dataSync()[0]!;
  return bitProductHost(read(n), factors.map(read));
}

/** {@linkcode powInt}'s product on the host, in float32. */
function bitProductHost(n: number, factors: readonly number[]): number {
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
 * {@linkcode powInt}'s product with tf ops: `n` a float32 scalar tensor,
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

/**
 * `cond ? a : b` elementwise.
 *
 * @param cond A condition built with {@linkcode gt}.
 * @param branches The values where it holds (`then`) and where not (`otherwise`).
 * @returns The node.
 *
 * @example
 * ```ts
 * import { gt, input, select } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * const relu = select(gt(input("g"), 0), { then: input("g"), otherwise: 0 });
 * assert.equal(relu.op, "select");
 * ```
 */
export function select(
  cond: Expr,
  branches: { then: Operand; otherwise: Operand },
): Expr {
  return node("select", [
    lift(cond),
    lift(branches.then),
    lift(branches.otherwise),
  ]);
}

/**
 * The mean of `x` over `axes` of one tensor, kept as size-1 axes and
 * broadcast back (GC's per-unit mean). A reduction: a fused kernel reads it
 * from a separate dispatch.
 *
 * @param x The expression to average.
 * @param axes Sorted, non-negative axes.
 * @returns The node.
 *
 * @example
 * ```ts
 * import { input, mean, sub } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * const gc = sub(input("g"), mean(input("g"), [0]));
 * assert.equal(gc.args[1]!.op, "mean");
 * ```
 */
export function mean(x: Operand, axes: readonly number[]): Expr {
  return node("mean", [lift(x)], { axes: [...axes] });
}

/**
 * The sum of every element of `x` for one tensor, as a scalar.
 *
 * @param x The expression to sum.
 * @returns The node.
 *
 * @example
 * ```ts
 * import { input, sqrt, square, sumAll } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * const norm = sqrt(sumAll(square(input("g"))));
 * assert.equal(norm.args[0]!.op, "sumAll");
 * ```
 */
export function sumAll(x: Operand): Expr {
  return node("sumAll", [lift(x)]);
}

/**
 * The sum of `x` over every element of every tensor of the step (the global
 * norm's square, say). Nodes with the same `tag` are one value: each
 * parameter contributes its own `x`.
 *
 * @param tag Names this sum; unique per transform instance.
 * @param x The expression to sum, per parameter.
 * @returns The node.
 *
 * @example
 * ```ts
 * import { globalSum, input, square } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(globalSum("clip0", square(input("g"))).perParam, false);
 * ```
 */
export function globalSum(tag: string, x: Operand): Expr {
  return node("globalSum", [lift(x)], { name: tag });
}

/**
 * Rebuilds `e` with inputs and hypers renamed (or replaced by expressions).
 *
 * @param e The expression.
 * @param map Replacements: `input(name)` and `hyper(name)` to new nodes.
 * @returns The rewritten expression (interned).
 *
 * @example Compose two stages: feed one's update into the other's `g`
 * ```ts
 * import { input, mul, substitute } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * const first = mul(input("g"), 2);
 * const second = mul(input("g"), 3);
 * const both = substitute(second, { input: (n) => n === "g" ? first : input(n) });
 * assert.equal(both, mul(mul(input("g"), 2), 3));
 * ```
 */
export function substitute(
  e: Expr,
  map: {
    input?: (name: string) => Expr;
    hyper?: (name: string) => Expr;
    /** A new tag for each `globalSum`. */
    global?: (tag: string) => string;
  },
  memo: Map<Expr, Expr> = new Map(),
): Expr {
  const seen = memo.get(e);
  if (seen !== undefined) return seen;
  let out: Expr;
  if (e.op === "input") out = map.input ? map.input(e.name) : e;
  else if (e.op === "hyper") out = map.hyper ? map.hyper(e.name) : e;
  else if (e.args.length === 0) out = e;
  else {
    const name = e.op === "globalSum" && map.global
      ? map.global(e.name)
      : e.name;
    out = node(e.op, e.args.map((a) => substitute(a, map, memo)), {
      name,
      value: e.value,
      axes: e.axes,
    });
  }
  memo.set(e, out);
  return out;
}

/** A value during evaluation: numbers stay on the host until a tensor meets them. */
type Value = number | tf.Tensor;

function asTensor(v: Value, like: tf.Tensor): tf.Tensor {
  if (typeof v !== "number") {
    return v.shape.length === like.shape.length &&
        v.shape.every((d, i) => d === like.shape[i])
      ? v
      : tf.broadcastTo(v, like.shape);
  }
  return v === 0
    ? tf.zeros(like.shape, "float32")
    : tf.fill(like.shape, v, "float32");
}

const hostOps: Record<string, (...x: number[]) => number> = {
  add: (a, b) => a! + b!,
  sub: (a, b) => a! - b!,
  mul: (a, b) => a! * b!,
  div: (a, b) => a! / b!,
  max: (a, b) => Math.max(a!, b!),
  min: (a, b) => Math.min(a!, b!),
  pow: (a, b) => Math.pow(a!, b!),
  gt: (a, b) => (a! > b! ? 1 : 0),
  neg: (a) => -a!,
  sqrt: (a) => Math.sqrt(a!),
  square: (a) => a! * a!,
  abs: (a) => Math.abs(a!),
  sign: (a) => Math.sign(a!),
  select: (c, a, b) => (c ? a! : b!),
};

/**
 * Evaluates a number-only expression on the host, rounding every operation
 * to float32 as tf would: constants and number-valued hypers. Returns `undefined` when it needs a tensor.
 *
 * @param e The expression.
 * @param hypers Hyperparameter values by name.
 * @returns The value, or `undefined`.
 *
 * @example
 * ```ts
 * import { foldNumber, hyper, sub } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(foldNumber(sub(1, hyper("b")), { b: 0.25 }), 0.75);
 * ```
 */
export function foldNumber(
  e: Expr,
  hypers: Readonly<Record<string, Hyper>>,
): number | undefined {
  if (e.perParam || e.op === "globalSum") return undefined;
  if (e.op === "const") return e.value;
  if (e.op === "hyper") {
    const h = hypers[e.name];
    return typeof h === "number" ? h : undefined;
  }
  const vals: number[] = [];
  for (const a of e.args) {
    const v = foldNumber(a, hypers);
    if (v === undefined) return undefined;
    vals.push(v);
  }
  return hostOp(e.op, vals, e);
}

/** A host op in float32 arithmetic, as tf would compute it on a tensor. */
function hostOp(op: ExprOp, vals: number[], e?: Expr): number {
  if (op === "powTwo") {
    return Math.fround(Math.pow(Math.fround(vals[0]!), 2 ** (e?.value ?? 0)));
  }
  if (op === "bitProduct") return bitProductHost(vals[0]!, vals.slice(1));
  return Math.fround(hostOps[op]!(...vals.map(Math.fround)));
}

/** Options of {@linkcode evaluate}. */
export interface EvaluateOptions {
  /** Values of global sums computed elsewhere, by tag. */
  globals?: ReadonlyMap<string, tf.Tensor>;
}

/**
 * Evaluates expressions with tf ops, per parameter: the op-by-op path.
 * Number-only subexpressions are computed on the host; expressions that do
 * not depend on a parameter (bias corrections, clipping factors) are
 * computed once per call.
 *
 * @param outputs Per parameter name, the expressions to compute, by key.
 * @param inputs Looks up a parameter's tensor input by name (`"g"`, `"p"`, `"slot:mu"`...).
 * @param hypers Per-step scalars by name.
 * @param options Precomputed global sums.
 * @returns Per parameter name, the computed tensors by key.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { evaluate, hyper, input, mul } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * const out = evaluate({ w: { u: mul(input("g"), hyper("lr")) } }, () => tf.tensor1d([2]), { lr: -0.5 });
 * assert.equal(out.w!.u!.dataSync()[0], -1);
 * ```
 */
export function evaluate(
  outputs: Readonly<Record<string, Readonly<Record<string, Expr>>>>,
  inputs: (param: string, name: string) => tf.Tensor,
  hypers: Readonly<Record<string, Hyper>>,
  options: EvaluateOptions = {},
): Record<string, Record<string, tf.Tensor>> {
  const shared = new Map<number, Value>();
  const locals = new Map<string, Map<number, Value>>();
  const globals = new Map<string, tf.Tensor>(options.globals ?? []);
  // every parameter's own argument of each global sum, by tag
  const parts = new Map<string, [string, Expr][]>();
  const walked = new Set<string>();
  const collect = (param: string, e: Expr) => {
    const key = `${param}|${e.id}`;
    if (walked.has(key)) return;
    walked.add(key);
    if (e.op === "globalSum") {
      const list = parts.get(e.name) ?? [];
      list.push([param, e.args[0]!]);
      parts.set(e.name, list);
    }
    for (const a of e.args) collect(param, a);
  };
  for (const [param, outs] of Object.entries(outputs)) {
    for (const e of Object.values(outs)) collect(param, e);
  }

  const run = (e: Expr, param: string): Value => {
    const memo = e.perParam
      ? (locals.get(param) ?? locals.set(param, new Map()).get(param)!)
      : shared;
    const seen = memo.get(e.id);
    if (seen !== undefined) return seen;
    const v = compute(e, param);
    memo.set(e.id, v);
    return v;
  };

  const compute = (e: Expr, param: string): Value => {
    switch (e.op) {
      case "input":
        return inputs(param, e.name);
      case "hyper": {
        const h = hypers[e.name];
        if (h === undefined) {
          throw new TypeError(
            `evaluate: no value for hyperparameter "${e.name}"`,
          );
        }
        return h;
      }
      case "const":
        return e.value;
      case "globalSum": {
        const known = globals.get(e.name);
        if (known !== undefined) return known;
        const sums = (parts.get(e.name) ?? []).map(([q, x]) =>
          tf.sum(run(x, q) as tf.Tensor)
        );
        const total = sums.length === 0
          ? tf.scalar(0)
          : sums.length === 1
          ? sums[0]!
          : tf.addN(sums);
        globals.set(e.name, total);
        return total;
      }
      case "mean":
        return unitMean(run(e.args[0]!, param) as tf.Tensor, e.axes);
      case "sumAll":
        return tf.sum(run(e.args[0]!, param) as tf.Tensor);
      case "powTwo": {
        const base = run(e.args[0]!, param);
        if (typeof base === "number") return hostOp("powTwo", [base], e);
        // k squarings, each step's result shared with the other factors
        return e.value === 0
          ? base
          : tf.square(run(powTwo(e.args[0]!, e.value - 1), param) as tf.Tensor);
      }
      case "bitProduct": {
        const [n, ...factors] = e.args.map((x) => run(x, param));
        const host = onHost(n!, factors);
        if (host !== undefined) return host;
        if (typeof n === "number") {
          if (factors.every((f) => typeof f === "number")) {
            return bitProductHost(n, factors as number[]);
          }
          return bitProduct(tf.scalar(n), factors as (number | tf.Tensor)[]);
        }
        return bitProduct(n!, factors as (number | tf.Tensor)[]);
      }
      case "select": {
        const [c, a, b] = e.args.map((x) => run(x, param));
        if (typeof c === "number") return c ? a! : b!;
        // a per-unit condition (AGC) picks between whole tensors, a scalar
        // one (a norm against its bound) between whole tensors too
        const shape = [c, a, b].reduce<number[]>(
          (sh, v) =>
            typeof v === "number"
              ? sh
              : tf.backend_util.assertAndGetBroadcastShape(sh, v!.shape),
          [],
        );
        const like = { shape } as tf.Tensor;
        return tf.where(
          asTensor(c!, like),
          asTensor(a!, like),
          asTensor(b!, like),
        );
      }
      default: {
        const vals = e.args.map((x) => run(x, param));
        if (vals.every((v) => typeof v === "number")) {
          return hostOp(e.op, vals as number[], e);
        }
        const [a, b] = vals as [Value, Value];
        switch (e.op) {
          case "add":
            return tf.add(a, b);
          case "sub":
            return tf.sub(a, b);
          case "mul":
            return tf.mul(a, b);
          case "div":
            return tf.div(a, b);
          case "max":
            return tf.maximum(a, b);
          case "min":
            return tf.minimum(a, b);
          case "pow":
            return tf.pow(a, b);
          case "gt":
            return tf.greater(a, b);
          case "neg":
            return tf.neg(a);
          case "sqrt":
            return tf.sqrt(a);
          case "square":
            return tf.square(a);
          case "abs":
            return tf.abs(a);
          case "sign":
            return tf.sign(a);
          default:
            throw new TypeError(`evaluate: unknown op "${e.op}"`);
        }
      }
    }
  };

  const result: Record<string, Record<string, tf.Tensor>> = {};
  for (const [param, outs] of Object.entries(outputs)) {
    const r: Record<string, tf.Tensor> = {};
    for (const [key, e] of Object.entries(outs)) {
      const v = run(e, param);
      if (typeof v === "number") {
        throw new TypeError(
          `evaluate: output "${key}" of "${param}" does not depend on a tensor`,
        );
      }
      r[key] = v;
    }
    result[param] = r;
  }
  return result;
}

/** What one elementwise stage computes for one parameter. */
export interface StageMath {
  /** The outgoing update, in terms of `input("g")`, `input("p")`, slots and hypers. */
  update: Expr;
  /** New values of the per-parameter state slots, by slot name. */
  slots?: Readonly<Record<string, Expr>>;
}

/**
 * The description of an elementwise transform: enough for op-by-op
 * evaluation and for a code generator.
 *
 * @typeParam S The transform's state.
 */
export interface ElementwiseSpec<S> {
  /** The transform's name, for error messages. */
  readonly where: string;
  /** Keys of the state holding one tensor per parameter (`PerParam` maps). */
  readonly slots: readonly string[];
  /** Builds the initial state. */
  init(params: Params): S;
  /** Validates a step's inputs; throws before anything is computed. */
  check(updates: Updates, state: S, params?: Params): void;
  /**
   * The step's scalars by name, and the state's non-slot entries for the
   * next step (a step count, say). Called once per step.
   */
  step(state: S): { hypers: Record<string, Hyper>; rest: Partial<S> };
  /** One parameter's math, or `null` to pass its update through unchanged. */
  math(name: string, shape: readonly number[]): StageMath | null;
}

/** What {@linkcode describe} finds in a transformation. */
export type Description =
  | { kind: "elementwise"; spec: ElementwiseSpec<unknown> }
  | {
    kind: "chain";
    parts: readonly GradientTransformation<unknown>[];
    /** State keys of a `namedChain`; absent for `chain` (a list state). */
    names?: readonly string[];
  }
  | {
    /**
     * A transformation that builds an inner one at every step
     * (`injectHyperparams`): `update` is its own update with the inner
     * transformation's update left to `run`, so that a fuser can fuse it.
     */
    kind: "delegate";
    update(
      updates: Updates,
      state: unknown,
      params: Params | undefined,
      run: InnerRun,
    ): [Updates, unknown];
  };

/**
 * Runs an inner transformation's update for a {@linkcode Description} of
 * kind `"delegate"` (by default `tx.update(updates, state, params)`).
 */
export type InnerRun = (
  tx: GradientTransformation<unknown>,
  updates: Updates,
  state: unknown,
  params: Params | undefined,
) => [Updates, unknown];

const registry = new WeakMap<object, Description>();

/**
 * Records what a transformation is, for {@linkcode describe}. `chain` and
 * `namedChain` call it; {@linkcode elementwise} does too.
 *
 * @param tx The transformation.
 * @param description Its description.
 * @returns `tx`.
 *
 * @example
 * ```ts
 * import { describe, register } from "@centra/chain/expr";
 * import { identity } from "@centra/chain/identity";
 * import assert from "node:assert/strict";
 *
 * const tx = register(identity(), { kind: "chain", parts: [] });
 * assert.equal(describe(tx)?.kind, "chain");
 * ```
 */
export function register<T extends object>(
  tx: T,
  description: Description,
): T {
  registry.set(tx, description);
  return tx;
}

/**
 * What a transformation is made of: an elementwise stage with its math, a
 * chain with its parts, or `undefined` for anything else (which a fuser
 * runs op by op).
 *
 * @param tx The transformation.
 * @returns Its description, or `undefined`.
 *
 * @example
 * ```ts
 * import { describe } from "@centra/chain/expr";
 * import { chain } from "@centra/chain/chain";
 * import { scaleByAdam } from "@centra/chain/scale-by-adam";
 * import assert from "node:assert/strict";
 *
 * const tx = chain(scaleByAdam());
 * const d = describe(tx);
 * assert.equal(d?.kind, "chain");
 * assert.equal(d?.kind === "chain" && describe(d.parts[0]!)?.kind, "elementwise");
 * ```
 */
export function describe(tx: object): Description | undefined {
  return registry.get(tx);
}

/**
 * Builds an elementwise transformation from its description. Its `update`
 * validates, takes the step's scalars, evaluates every parameter's math with
 * {@linkcode evaluate}, and carries over the slots of parameters it was not
 * given. {@linkcode describe} returns the spec, so `@centra/webgpu` can fuse
 * it.
 *
 * @typeParam S The state.
 * @param spec The description.
 * @returns The transformation.
 *
 * @example Scale updates by a factor, fusable
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { elementwise, hyper, input, mul } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * const double = elementwise({
 *   where: "double", slots: [],
 *   init: () => ({}), check: () => {},
 *   step: () => ({ hypers: { k: 2 }, rest: {} }),
 *   math: () => ({ update: mul(input("g"), hyper("k")) }),
 * });
 * const [u] = double.update({ w: tf.tensor1d([3]) }, {});
 * assert.equal(u.w!.dataSync()[0], 6);
 * ```
 */
export function elementwise<S>(
  given: ElementwiseSpec<S>,
): GradientTransformation<S> {
  // every driver, op by op or fused, reads the step's scalars through here
  const spec: ElementwiseSpec<S> = {
    ...given,
    step(state: S) {
      const out = given.step(state);
      checkHyperValues(given.where, out.hypers);
      return out;
    },
  };
  const tx: GradientTransformation<S> = {
    init: (params: Params): S => spec.init(params),
    update(updates: Updates, state: S, params?: Params): [Updates, S] {
      spec.check(updates, state, params);
      const { hypers, rest } = spec.step(state);
      const outputs: Record<string, Record<string, Expr>> = {};
      for (const [name, g] of Object.entries(updates)) {
        // a tensor with no elements passes through: its update is itself
        const m = g.size === 0 ? null : spec.math(name, g.shape);
        if (m !== null) outputs[name] = { ...m.slots, "": m.update };
      }
      const values = evaluate(
        outputs,
        (param, name) => stageInput(spec, updates, state, params, param, name),
        hypers,
      );
      const out: Updates = {};
      for (const [name, g] of Object.entries(updates)) {
        out[name] = values[name]?.[""] ?? g;
      }
      return [out, nextState(spec, state, rest, values)];
    },
  };
  registry.set(tx, {
    kind: "elementwise",
    spec: spec as ElementwiseSpec<unknown>,
  });
  return tx;
}

/**
 * Marks a transformation whose `update` only validates (it returns its
 * updates and its state unchanged, and computes nothing) as an elementwise
 * pass-through, so that a fuser can run the stages around it as one.
 *
 * @typeParam S The state.
 * @param tx The validating transformation.
 * @returns `tx`, registered.
 *
 * @example
 * ```ts
 * import { describe, validator } from "@centra/chain/expr";
 * import { identity } from "@centra/chain/identity";
 * import assert from "node:assert/strict";
 *
 * assert.equal(describe(validator(identity()))?.kind, "elementwise");
 * ```
 */
export function validator<S>(
  tx: GradientTransformation<S>,
): GradientTransformation<S> {
  const spec: ElementwiseSpec<S> = {
    where: "validator",
    slots: [],
    init: (params: Params): S => tx.init(params),
    check(updates: Updates, state: S, params?: Params): void {
      tx.update(updates, state, params);
    },
    step: () => ({ hypers: {}, rest: {} }),
    math: () => null,
  };
  registry.set(tx, {
    kind: "elementwise",
    spec: spec as ElementwiseSpec<unknown>,
  });
  return tx;
}

/**
 * Looks up one tensor input of a stage: `"g"`, `"p"` or `"slot:<name>"`.
 *
 * @typeParam S The stage's state.
 * @param spec The stage.
 * @param updates The stage's incoming updates.
 * @param state The stage's state.
 * @param params The parameters.
 * @param param The parameter's name.
 * @param name The input's name.
 * @returns The tensor.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { describe, stageInput } from "@centra/chain/expr";
 * import { trace } from "@centra/chain/trace";
 * import assert from "node:assert/strict";
 *
 * const tx = trace(0.9);
 * const d = describe(tx);
 * const state = tx.init({ w: tf.zeros([1]) });
 * if (d?.kind === "elementwise") {
 *   assert.equal(stageInput(d.spec, {}, state, undefined, "w", "slot:trace"), state.trace.w);
 * }
 * ```
 */
export function stageInput<S>(
  spec: ElementwiseSpec<S>,
  updates: Updates,
  state: S,
  params: Params | undefined,
  param: string,
  name: string,
): tf.Tensor {
  let t: tf.Tensor | undefined;
  if (name === "g") t = updates[param];
  else if (name === "p") t = params?.[param];
  else if (name.startsWith("slot:")) {
    const slots = (state as Record<string, Record<string, tf.Tensor>>)[
      name.slice(5)
    ];
    t = slots?.[param];
  }
  if (t === undefined) {
    throw new TypeError(
      `${spec.where}: no input "${name}" for parameter "${param}"`,
    );
  }
  return t;
}

/**
 * The stage's next state: `rest` over the old state, each slot with the
 * computed parameters replaced and the others carried over.
 *
 * @typeParam S The stage's state.
 * @param spec The stage.
 * @param state The old state.
 * @param rest The non-slot entries from `step`.
 * @param values Per parameter, the computed slot values by slot name.
 * @returns The new state.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { describe, nextState } from "@centra/chain/expr";
 * import { trace } from "@centra/chain/trace";
 * import assert from "node:assert/strict";
 *
 * const tx = trace(0.9);
 * const d = describe(tx);
 * const state = tx.init({ a: tf.zeros([1]), b: tf.zeros([1]) });
 * const fresh = tf.ones([1]);
 * if (d?.kind === "elementwise") {
 *   const next = nextState(d.spec, state, {}, { a: { trace: fresh } }) as typeof state;
 *   assert.equal(next.trace.a, fresh);
 *   assert.equal(next.trace.b, state.trace.b);
 * }
 * ```
 */
export function nextState<S>(
  spec: ElementwiseSpec<S>,
  state: S,
  rest: Partial<S>,
  values: Readonly<Record<string, Readonly<Record<string, tf.Tensor>>>>,
): S {
  const next = { ...state, ...rest } as Record<string, unknown>;
  const old = state as Record<string, Record<string, tf.Tensor>>;
  for (const s of spec.slots) {
    const fresh: Record<string, tf.Tensor> = {};
    for (const [param, v] of Object.entries(values)) {
      if (v[s] !== undefined) fresh[param] = v[s];
    }
    next[s] = Object.keys(fresh).length === 0
      ? old[s]
      : { ...old[s], ...fresh };
  }
  return next as S;
}

/**
 * The mean over `axes`, kept for broadcasting. On the cpu backend, the
 * common GC case (every axis but the last) is a product with a row of
 * ones, divided by `n`: tfjs's cpu reduction first transposes the reduced axes to the end,
 * which costs about as much again as the sum (bench/chain_bench.ts).
 */
function unitMean(x: tf.Tensor, axes: readonly number[]): tf.Tensor {
  const r = x.rank;
  const allButLast = axes.length === r - 1 && r >= 2 &&
    axes.every((a, i) => a === i);
  if (!allButLast || x.size === 0 || tf.getBackend() !== "cpu") {
    return tf.mean(x, [...axes], true);
  }
  const units = x.shape[r - 1]!;
  const n = x.size / units;
  // a sum divided by n, as tf.mean and the fused kernels compute it (a row
  // of 1/n would round 1/n first: a different mean on every backend)
  const row = tf.ones([1, n]);
  const m = tf.div(tf.matMul(row, tf.reshape(x, [n, units])), n);
  return tf.reshape(m, [...x.shape.slice(0, r - 1).map(() => 1), units]);
}
