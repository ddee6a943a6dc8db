import "@centra/chain/tfjs-check";
import type * as tf from "@tensorflow/tfjs";

/** Options of {@linkcode countParams}. */
export interface CountParamsOptions {
  /** Count only trainable weights (as PyTorch counts `parameters()`). Default `true`. */
  trainableOnly?: boolean;
}

/**
 * Counts a model's parameters. By default only trainable weights, which is
 * what torchvision's published counts mean (batch norm's moving mean and
 * variance are buffers there); `model.countParams()` counts those too.
 *
 * @param model Any layers model.
 * @param options Whether to count only trainable weights.
 * @returns The number of scalar parameters.
 *
 * @example
 * ```ts
 * import { countParams } from "@centra/zoo/count-params";
 * import { smallCnn } from "@centra/zoo/small-cnn";
 * import assert from "node:assert/strict";
 *
 * const model = smallCnn();
 * assert.equal(countParams(model), 105_914);
 * assert.equal(countParams(model, { trainableOnly: false }), model.countParams());
 * model.dispose();
 * ```
 */
export function countParams(
  model: tf.LayersModel,
  options: CountParamsOptions = {},
): number {
  const weights = options.trainableOnly ?? true
    ? model.trainableWeights
    : model.weights;
  const seen = new Set<string>();
  let total = 0;
  for (const w of weights) {
    if (seen.has(w.name)) continue;
    seen.add(w.name);
    total += w.shape.reduce<number>((a, d) => a * (d ?? 0), 1);
  }
  return total;
}
