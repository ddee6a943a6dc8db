import * as tf from "@tensorflow/tfjs";
import { checkPlainHyper, requireParams } from "./_check.ts";
import type { EmptyState } from "./identity.ts";
import type {
  AxesResolver,
  GradientTransformation,
  Params,
  Updates,
} from "./types.ts";

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

function unitAxes(_name: string, shape: readonly number[]): number[] | null {
  return shape.length >= 2 ? shape.slice(0, -1).map((_, i) => i) : null;
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
  checkPlainHyper(where, "clipping", clipping, { min: 0, minOpen: true });
  const eps = options.eps ?? 1e-3;
  checkPlainHyper(where, "eps", eps, { min: 0 });
  const resolve = options.axes ?? unitAxes;
  return {
    init: (_params: Params): EmptyState => ({}),
    update(
      updates: Updates,
      state: EmptyState,
      params?: Params,
    ): [Updates, EmptyState] {
      const p = requireParams(where, updates, params);
      const out: Updates = {};
      for (const [name, g] of Object.entries(updates)) {
        const axes = resolve(name, g.shape) ?? undefined;
        const gNorm = tf.sqrt(tf.sum(tf.square(g), axes, true));
        const wNorm = tf.sqrt(tf.sum(tf.square(p[name]!), axes, true));
        const maxNorm = tf.mul(tf.maximum(wNorm, eps), clipping);
        const clipped = tf.mul(g, tf.div(maxNorm, tf.maximum(gNorm, 1e-6)));
        out[name] = tf.where(tf.less(gNorm, maxNorm), g, clipped);
      }
      return [out, state];
    },
  };
}
