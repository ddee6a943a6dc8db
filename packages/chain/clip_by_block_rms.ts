import { blockRms } from "./_block_rms.ts";
import { div, elementwise, max } from "./expr.ts";
import type { EmptyState } from "./identity.ts";
import type { GradientTransformation, Hyper } from "./types.ts";

/**
 * Clips each update tensor (a "block": a kernel, a bias) to a root mean
 * square of at most `threshold`: `u / max(1, rms(u) / threshold)` with
 * `rms(u) = sqrt(mean(u²))` over the whole tensor (optax
 * `clip_by_block_rms`, the update clipping of Adafactor, Shazeer and Stern
 * 2018, section 6). A tensor within the bound is returned as it is.
 *
 * Elementwise with one per-tensor sum: fused with its neighbours on WebGPU.
 * A tensor with no elements passes through.
 *
 * Reference: N. Shazeer, M. Stern, "Adafactor: Adaptive Learning Rates with
 * Sublinear Memory Cost", ICML 2018, arXiv:1804.04235.
 *
 * @param threshold The largest root mean square of a tensor (> 0; a number
 * or a scalar tensor).
 * @returns A stateless transformation.
 * @throws {RangeError} For a threshold that is not > 0 (or not finite in
 * float32).
 * @throws {TypeError} For a threshold that is neither a number nor a scalar
 * tensor.
 *
 * @example An rms of 2 clipped to 1 halves the tensor
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { clipByBlockRms } from "@centra/chain/clip-by-block-rms";
 * import assert from "node:assert/strict";
 *
 * const tx = clipByBlockRms(1);
 * const [u] = tx.update({ a: tf.tensor1d([2, -2]), b: tf.tensor1d([0.5]) }, {});
 * assert.deepEqual(Array.from(u.a!.dataSync()), [1, -1]);
 * assert.deepEqual(Array.from(u.b!.dataSync()), [0.5]);
 * ```
 */
export function clipByBlockRms(
  threshold: Hyper,
): GradientTransformation<EmptyState> {
  return elementwise({
    where: "clipByBlockRms",
    hypers: { threshold: [threshold, { min: 0, minOpen: true }] },
    math: ({ g, hypers: h }) => (_name: string, shape: readonly number[]) => ({
      update: div(g, max(1, div(blockRms(g, shape), h.threshold))),
    }),
  }) as GradientTransformation<EmptyState>;
}
