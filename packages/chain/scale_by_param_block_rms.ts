import { blockRms } from "./_block_rms.ts";
import { elementwise, max, mul } from "./expr.ts";
import type { EmptyState } from "./identity.ts";
import type { GradientTransformation, Hyper } from "./types.ts";

/**
 * Scales each update tensor by the root mean square of its parameter,
 * `u · max(rms(p), minScale)` with `rms(p) = sqrt(mean(p²))` over the whole
 * tensor (optax `scale_by_param_block_rms`): Adafactor's relative step size
 * (Shazeer and Stern 2018, section 8), which makes a step proportional to
 * the scale of the weights it changes.
 *
 * Elementwise with one per-tensor sum: fused with its neighbours on WebGPU.
 *
 * Reference: N. Shazeer, M. Stern, "Adafactor: Adaptive Learning Rates with
 * Sublinear Memory Cost", ICML 2018, arXiv:1804.04235.
 *
 * @param minScale The least factor, for parameters near 0 (>= 0). Default
 * 1e-3 (optax).
 * @returns A stateless transformation that needs `params`.
 * @throws {RangeError} For a negative or non-finite `minScale`.
 * @throws {TypeError} For a `minScale` that is neither a number nor a
 * scalar tensor; at `update`, when `params` is missing.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByParamBlockRms } from "@centra/chain/scale-by-param-block-rms";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByParamBlockRms();
 * const params = { w: tf.tensor1d([3, -3]), b: tf.zeros([2]) };
 * const [u] = tx.update({ w: tf.ones([2]), b: tf.ones([2]) }, {}, params);
 * assert.deepEqual(Array.from(u.w!.dataSync()), [3, 3]); // rms 3
 * assert.ok(Math.abs(u.b!.dataSync()[0]! - 1e-3) < 1e-9); // minScale
 * ```
 */
export function scaleByParamBlockRms(
  minScale: Hyper = 1e-3,
): GradientTransformation<EmptyState> {
  return elementwise({
    where: "scaleByParamBlockRms",
    hypers: { minScale: [minScale, { min: 0 }] },
    math:
      ({ g, p, hypers: h }) => (_name: string, shape: readonly number[]) => ({
        update: mul(g, max(blockRms(p, shape), h.minScale)),
      }),
  }) as GradientTransformation<EmptyState>;
}
