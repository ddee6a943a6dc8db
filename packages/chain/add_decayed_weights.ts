import { checkOptions } from "./_check.ts";
import { add, elementwise, mul } from "./expr.ts";
import type { EmptyState } from "./identity.ts";
import type { GradientTransformation, Hyper, Mask } from "./types.ts";

/** Options of {@linkcode addDecayedWeights}. */
export interface AddDecayedWeightsOptions {
  /**
   * Which parameters decay; the others pass through. Default: all. Use
   * `@centra/match` selectors to exclude biases and norms.
   */
  mask?: Mask;
}

/**
 * Adds `weightDecay * params` to the updates.
 *
 * Placed before the optimizer's scaling this is L2 regularisation (the
 * paper's SGDM + GC acts on `P(g + λw)`, Yong et al. 2020, 3.4); placed just
 * before `scaleByLearningRate` it is decoupled weight decay (Loshchilov and
 * Hutter, "Decoupled Weight Decay Regularization", ICLR 2019,
 * arXiv:1711.05101).
 *
 * @param weightDecay The non-negative factor λ.
 * @param options A mask of the parameters that decay.
 * @returns A stateless transformation that needs `params`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { addDecayedWeights } from "@centra/chain/add-decayed-weights";
 * import assert from "node:assert/strict";
 *
 * const tx = addDecayedWeights(0.5, { mask: { w: true, b: false } });
 * const params = { w: tf.tensor1d([2]), b: tf.tensor1d([2]) };
 * const [u] = tx.update({ w: tf.tensor1d([1]), b: tf.tensor1d([1]) }, tx.init(params), params);
 * assert.equal(u.w!.dataSync()[0], 2);
 * assert.equal(u.b!.dataSync()[0], 1);
 * ```
 */
export function addDecayedWeights(
  weightDecay: Hyper,
  options: AddDecayedWeightsOptions = {},
): GradientTransformation<EmptyState> {
  const where = "addDecayedWeights";
  checkOptions(where, options, { mask: "mask" });
  return elementwise({
    where,
    hypers: { weightDecay: [weightDecay, { min: 0 }] },
    mask: options.mask,
    math: ({ g, p, hypers: h }) => ({ update: add(g, mul(h.weightDecay, p)) }),
  }) as GradientTransformation<EmptyState>;
}
