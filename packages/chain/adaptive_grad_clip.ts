import { checkOptions } from "./_check.ts";
import { defaultGcAxes } from "./centralize.ts";
import {
  div,
  elementwise,
  type Expr,
  gt,
  max,
  mean,
  mul,
  select,
  sqrt,
  square,
  sumAll,
} from "./expr.ts";
import type { EmptyState } from "./identity.ts";
import type { AxesResolver, GradientTransformation } from "./types.ts";

/** Options of {@linkcode adaptiveGradClip}. */
export interface AdaptiveGradClipOptions {
  /** Lower bound on a unit's weight norm, so fresh zero weights still move. Default 1e-3. */
  eps?: number;
  /**
   * The axes a unit's norm is taken over; `null` means the whole tensor.
   * Default: every axis but the last for rank 2 and up (tfjs layout: one
   * output unit per last-axis index), the whole tensor below that.
   */
  axes?: AxesResolver;
}

/**
 * Adaptive gradient clipping, unit-wise: a unit whose gradient norm exceeds
 * `clipping * max(‖w‖, eps)` is rescaled to that norm (Brock, De, Smith,
 * Simonyan, "High-Performance Large-Scale Image Recognition Without
 * Normalization", ICML 2021, arXiv:2102.06171).
 *
 * Units follow tfjs layouts (output axis last), unlike PyTorch's axis 0.
 *
 * @param clipping The ratio λ (positive).
 * @param options `eps` and the per-parameter unit axes.
 * @returns A stateless transformation that needs `params`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adaptiveGradClip } from "@centra/chain/adaptive-grad-clip";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.tensor2d([[3], [4]]) }; // one unit with norm 5
 * const tx = adaptiveGradClip(0.1);
 * const [u] = tx.update({ w: tf.tensor2d([[0], [2]]) }, tx.init(params), params);
 * assert.deepEqual(Array.from(u.w!.dataSync()).map((x) => +x.toFixed(6)), [0, 0.5]);
 * ```
 */
export function adaptiveGradClip(
  clipping: number,
  options: AdaptiveGradClipOptions = {},
): GradientTransformation<EmptyState> {
  const where = "adaptiveGradClip";
  checkOptions(where, options, { eps: "number", axes: "function" });
  // A unit is a GC unit: the same default axes as `centralize`.
  const resolve = options.axes ?? defaultGcAxes;
  return elementwise({
    where,
    hypers: {
      clipping: [clipping, { min: 0, minOpen: true }],
      eps: [options.eps ?? 1e-3, { min: 0 }],
    },
    math: ({ g, p: w, hypers: h }) => (name, shape) => {
      const axes = resolve(name, shape)?.map((a) =>
        a < 0 ? a + shape.length : a
      ) ?? null;
      const gNorm = sqrt(sumSquares(g, axes, shape));
      const wNorm = sqrt(sumSquares(w, axes, shape));
      const maxNorm = mul(max(wNorm, h.eps), h.clipping);
      const clipped = mul(g, div(maxNorm, max(gNorm, 1e-6)));
      return {
        update: select(gt(maxNorm, gNorm), { then: g, otherwise: clipped }),
      };
    },
  }) as GradientTransformation<EmptyState>;
}

/** `Σ x²` per unit (over `axes`, kept), or over the tensor with `null`. */
function sumSquares(
  x: Expr,
  axes: number[] | null,
  shape: readonly number[],
): Expr {
  if (axes === null) return sumAll(square(x));
  const n = axes.reduce((k, a) => k * shape[a]!, 1);
  return mul(mean(square(x), axes), n);
}
