// Private: the expression language of `@centra/chain/expr`: interned nodes
// and their constructors, and `substitute`. Nothing here runs a tensor op;
// `_evaluate.ts` runs expressions (on the host or with tf ops) and
// `@centra/webgpu` turns them into WGSL.
import { POW_BITS } from "./_pow_int.ts";

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

/** `e` with its operands replaced (interned; private to the generators). */
export function withArgs(e: Expr, args: readonly Expr[]): Expr {
  return node(e.op, args, { name: e.name, value: e.value, axes: e.axes });
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
