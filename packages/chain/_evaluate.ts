// Private: evaluating expressions of `_expr.ts`: number-only ones folded on
// the host in float32 (`foldNumber`), and per-parameter ones with tf ops, op
// by op (`evaluate`), with the cpu backend's fast per-unit mean.
import "./tfjs_check.ts";
import * as tf from "@tensorflow/tfjs";
import { type Expr, type ExprOp, powTwo } from "./_expr.ts";
import { bitProduct, bitProductHost, onHost } from "./_pow_int.ts";
import { sameShape } from "./_structure.ts";
import type { Hyper } from "./types.ts";

type Value = number | tf.Tensor;

function asTensor(v: Value, like: tf.Tensor): tf.Tensor {
  if (typeof v !== "number") {
    return sameShape(v.shape, like.shape) ? v : tf.broadcastTo(v, like.shape);
  }
  return v === 0
    ? tf.zeros(like.shape, "float32")
    : tf.fill(like.shape, v, "float32");
}

/** The host's ops in float64 (`hostOp` rounds around them). */
export const hostOps: Record<string, (...x: number[]) => number> = {
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
export function hostOp(op: ExprOp, vals: number[], e?: Expr): number {
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
  const run = new Evaluation(outputs, inputs, hypers, options);
  const result: Record<string, Record<string, tf.Tensor>> = {};
  for (const [param, outs] of Object.entries(outputs)) {
    const r: Record<string, tf.Tensor> = {};
    for (const [key, e] of Object.entries(outs)) {
      const v = run.value(e, param);
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

/** The tf op of each elementwise {@linkcode ExprOp} with tensor operands. */
const tensorOps: Partial<Record<ExprOp, (a: Value, b: Value) => tf.Tensor>> = {
  add: (a, b) => tf.add(a, b),
  sub: (a, b) => tf.sub(a, b),
  mul: (a, b) => tf.mul(a, b),
  div: (a, b) => tf.div(a, b),
  max: (a, b) => tf.maximum(a, b),
  min: (a, b) => tf.minimum(a, b),
  pow: (a, b) => tf.pow(a, b),
  gt: (a, b) => tf.greater(a, b),
  neg: (a) => tf.neg(a),
  sqrt: (a) => tf.sqrt(a),
  square: (a) => tf.square(a),
  abs: (a) => tf.abs(a),
  sign: (a) => tf.sign(a),
};

/** One call of {@linkcode evaluate}: its memos and its global sums. */
class Evaluation {
  readonly #shared = new Map<number, Value>();
  readonly #locals = new Map<string, Map<number, Value>>();
  readonly #globals: Map<string, tf.Tensor>;
  /** Every parameter's own argument of each global sum, by tag. */
  readonly #parts = new Map<string, [string, Expr][]>();

  constructor(
    outputs: Readonly<Record<string, Readonly<Record<string, Expr>>>>,
    readonly inputs: (param: string, name: string) => tf.Tensor,
    readonly hypers: Readonly<Record<string, Hyper>>,
    options: EvaluateOptions,
  ) {
    this.#globals = new Map(options.globals ?? []);
    const walked = new Set<string>();
    const collect = (param: string, e: Expr) => {
      const key = `${param}|${e.id}`;
      if (walked.has(key)) return;
      walked.add(key);
      if (e.op === "globalSum") {
        const list = this.#parts.get(e.name) ?? [];
        list.push([param, e.args[0]!]);
        this.#parts.set(e.name, list);
      }
      for (const a of e.args) collect(param, a);
    };
    for (const [param, outs] of Object.entries(outputs)) {
      for (const e of Object.values(outs)) collect(param, e);
    }
  }

  /** `e` for `param`, computed once per parameter (or once, if shared). */
  value(e: Expr, param: string): Value {
    let memo = this.#shared;
    if (e.perParam) {
      memo = this.#locals.get(param) ?? new Map();
      this.#locals.set(param, memo);
    }
    const seen = memo.get(e.id);
    if (seen !== undefined) return seen;
    const v = this.#compute(e, param);
    memo.set(e.id, v);
    return v;
  }

  #compute(e: Expr, param: string): Value {
    switch (e.op) {
      case "input":
        return this.inputs(param, e.name);
      case "hyper":
        return this.#hyper(e.name);
      case "const":
        return e.value;
      case "globalSum":
        return this.#globalSum(e.name);
      case "mean":
        return unitMean(this.value(e.args[0]!, param) as tf.Tensor, e.axes);
      case "sumAll":
        return tf.sum(this.value(e.args[0]!, param) as tf.Tensor);
      case "powTwo":
        return this.#powTwo(e, param);
      case "bitProduct":
        return this.#bitProduct(e, param);
      case "select":
        return this.#select(e, param);
      default:
        return this.#elementwise(e, param);
    }
  }

  #hyper(name: string): Value {
    const h = this.hypers[name];
    if (h === undefined) {
      throw new TypeError(`evaluate: no value for hyperparameter "${name}"`);
    }
    return h;
  }

  #globalSum(tag: string): tf.Tensor {
    const known = this.#globals.get(tag);
    if (known !== undefined) return known;
    const sums = (this.#parts.get(tag) ?? []).map(([q, x]) =>
      tf.sum(this.value(x, q) as tf.Tensor)
    );
    const total = sums.length === 0
      ? tf.scalar(0)
      : sums.length === 1
      ? sums[0]!
      : tf.addN(sums);
    this.#globals.set(tag, total);
    return total;
  }

  #powTwo(e: Expr, param: string): Value {
    const base = this.value(e.args[0]!, param);
    if (typeof base === "number") return hostOp("powTwo", [base], e);
    // k squarings, each step's result shared with the other factors
    if (e.value === 0) return base;
    const half = this.value(powTwo(e.args[0]!, e.value - 1), param);
    return tf.square(half as tf.Tensor);
  }

  #bitProduct(e: Expr, param: string): Value {
    const [n, ...factors] = e.args.map((x) => this.value(x, param));
    const host = onHost(n!, factors);
    if (host !== undefined) return host;
    if (typeof n === "number") {
      if (factors.every((f) => typeof f === "number")) {
        return bitProductHost(n, factors as number[]);
      }
      return bitProduct(tf.scalar(n), factors);
    }
    return bitProduct(n!, factors);
  }

  #select(e: Expr, param: string): Value {
    const [c, a, b] = e.args.map((x) => this.value(x, param)) as [
      Value,
      Value,
      Value,
    ];
    if (typeof c === "number") return c ? a : b;
    // a per-unit condition (AGC) picks between whole tensors, a scalar
    // one (a norm against its bound) between whole tensors too
    const shape = [c, a, b].reduce<number[]>(
      (sh, v) =>
        typeof v === "number"
          ? sh
          : tf.backend_util.assertAndGetBroadcastShape(sh, v.shape),
      [],
    );
    const like = { shape } as tf.Tensor;
    return tf.where(asTensor(c, like), asTensor(a, like), asTensor(b, like));
  }

  #elementwise(e: Expr, param: string): Value {
    const vals = e.args.map((x) => this.value(x, param));
    if (vals.every((v) => typeof v === "number")) {
      return hostOp(e.op, vals as number[], e);
    }
    const op = tensorOps[e.op];
    if (op === undefined) {
      throw new TypeError(`evaluate: unknown op "${e.op}"`);
    }
    return op(vals[0]!, vals[1]!);
  }
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
