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
 * {@linkcode elementwise} builds a transformation from such math, stated
 * once: it derives the state, `init`, the structural checks and the step
 * count (see its docs). What a fuser reads of a transformation (`describe`,
 * `stageInput`, `nextState`, `register`, `validator` and the description
 * types) is `@centra/chain/fuser`; those were exported from this module
 * before, so import them from there.
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
export {
  abs,
  add,
  constant,
  div,
  type Expr,
  type ExprOp,
  globalSum,
  gt,
  hyper,
  input,
  max,
  mean,
  min,
  mul,
  neg,
  type Operand,
  pow,
  powInt,
  powTwo,
  select,
  sign,
  slot,
  sqrt,
  square,
  sub,
  substitute,
  sumAll,
} from "./_expr.ts";
export { bitProduct, POW_BITS, powerFactors } from "./_pow_int.ts";
export { evaluate, type EvaluateOptions, foldNumber } from "./_evaluate.ts";
export { elementwise } from "./_elementwise.ts";
export type {
  ElementwiseDefinition,
  HyperBounds,
  StageHyper,
  StageInputs,
  StageOutput,
  StageState,
} from "./_stage_spec.ts";
export type { ElementwiseSpec, StageMath } from "./fuser.ts";
export type {
  GradientTransformation,
  Hyper,
  Mask,
  Params,
  Schedule,
  Updates,
} from "./types.ts";
