import * as tf from "@tensorflow/tfjs";
import {
  div,
  elementwise,
  type Expr,
  globalSum,
  gt,
  max,
  min,
  mul,
  neg,
  select,
  sqrt,
  square,
  sumAll,
} from "./expr.ts";
import type { EmptyState } from "./identity.ts";
import type { GradientTransformation, Hyper, Updates } from "./types.ts";

/**
 * Clips every update element to `[-maxDelta, maxDelta]` (Keras `clipvalue`).
 *
 * @param maxDelta The non-negative bound.
 * @returns A stateless transformation.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { clipByValue } from "@centra/chain/clip";
 * import assert from "node:assert/strict";
 *
 * const [u] = clipByValue(1).update({ w: tf.tensor1d([-3, 0.5, 2]) }, {});
 * assert.deepEqual(Array.from(u.w!.dataSync()), [-1, 0.5, 1]);
 * ```
 */
export function clipByValue(
  maxDelta: number,
): GradientTransformation<EmptyState> {
  return elementwise({
    where: "clipByValue",
    hypers: { maxDelta: [maxDelta, { min: 0 }] },
    math: ({ g, hypers: { maxDelta: m } }) => ({
      update: min(max(g, neg(m)), m),
    }),
  }) as GradientTransformation<EmptyState>;
}

/**
 * Rescales each update tensor whose L2 norm exceeds `maxNorm` to norm
 * `maxNorm` (Keras `clipnorm`: per tensor).
 *
 * @param maxNorm The positive bound.
 * @returns A stateless transformation.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { clipByNorm } from "@centra/chain/clip";
 * import assert from "node:assert/strict";
 *
 * const [u] = clipByNorm(1).update({ w: tf.tensor1d([3, 4]) }, {});
 * assert.deepEqual(Array.from(u.w!.dataSync()).map((x) => +x.toFixed(6)), [0.6, 0.8]);
 * ```
 */
export function clipByNorm(maxNorm: Hyper): GradientTransformation<EmptyState> {
  return elementwise({
    where: "clipByNorm",
    hypers: { maxNorm: [maxNorm, { min: 0, minOpen: true }] },
    math: ({ g, hypers: h }) => ({
      update: clipTo(g, sqrt(sumAll(square(g))), h.maxNorm),
    }),
  }) as GradientTransformation<EmptyState>;
}

/**
 * Rescales all updates together when their global L2 norm exceeds `maxNorm`
 * (PyTorch `clip_grad_norm_`, Keras `global_clipnorm`):
 * `u * maxNorm / max(‖u‖, maxNorm)`.
 *
 * Reference: R. Pascanu, T. Mikolov, Y. Bengio, "On the difficulty of
 * training recurrent neural networks", ICML 2013, arXiv:1211.5063.
 *
 * @param maxNorm The positive bound.
 * @returns A stateless transformation.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { clipByGlobalNorm } from "@centra/chain/clip";
 * import assert from "node:assert/strict";
 *
 * const [u] = clipByGlobalNorm(1).update({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) }, {});
 * assert.ok(Math.abs(u.a!.dataSync()[0]! - 0.6) < 1e-6);
 * assert.ok(Math.abs(u.b!.dataSync()[0]! - 0.8) < 1e-6);
 * ```
 */
export function clipByGlobalNorm(
  maxNorm: Hyper,
): GradientTransformation<EmptyState> {
  return elementwise({
    where: "clipByGlobalNorm",
    hypers: { maxNorm: [maxNorm, { min: 0, minOpen: true }] },
    math: ({ g, hypers: h }) => {
      // one tag for every instance: a fuser renames it per stage
      const norm = sqrt(globalSum("clipByGlobalNorm", square(g)));
      return { update: clipTo(g, norm, h.maxNorm) };
    },
  }) as GradientTransformation<EmptyState>;
}

/**
 * `g` rescaled to norm `maxNorm` where `norm > maxNorm`, else `g` itself: a
 * norm at most the bound leaves `g` unchanged, so a bound of 0 (a tensor
 * scheduled down to it, say) turns a zero gradient into itself, not 0/0. A
 * negative tensor bound (numbers are range-checked) counts as 0.
 */
function clipTo(g: Expr, norm: Expr, maxNorm: Expr): Expr {
  const m = max(maxNorm, 0);
  // g * 1 is g: one factor per tensor, no per-element choice
  return mul(g, select(gt(norm, m), { then: div(m, norm), otherwise: 1 }));
}

/**
 * The L2 norm of all updates taken together, as a float32 scalar.
 *
 * @param updates Updates keyed by parameter name.
 * @returns `sqrt(Σ u²)` over every element of every tensor.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { globalNorm } from "@centra/chain/clip";
 * import assert from "node:assert/strict";
 *
 * assert.equal(globalNorm({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) }).dataSync()[0], 5);
 * ```
 */
export function globalNorm(updates: Updates): tf.Scalar {
  const squares = Object.values(updates).map((u) => tf.sum(tf.square(u)));
  if (squares.length === 0) return tf.scalar(0);
  return tf.sqrt(
    squares.length === 1 ? squares[0]! : tf.addN(squares),
  ) as tf.Scalar;
}
