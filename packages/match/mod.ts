/**
 * `@centra/match`: say which parameter gets which transform by what it is,
 * and give Gradient Centralization the exact axes of every tfjs layer.
 *
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { byLayer, decayMask, fineTuning, gcAxes, mask } from "@centra/match";
 * import { addDecayedWeights, chain, freeze, sgd } from "@centra/chain";
 *
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.conv2d({ filters: 4, kernelSize: 3, inputShape: [8, 8, 1], name: "mod_conv" }),
 *     tf.layers.flatten({}),
 *     tf.layers.dense({ units: 3, name: "mod_head" }),
 *   ],
 * });
 * // SGDM + GC with each layer's own GC axes, no decay on biases and norms
 * const tx = chain(
 *   addDecayedWeights(5e-4, { mask: decayMask(model) }),
 *   sgd(0.1, { momentum: 0.9, gc: gcAxes(model) }),
 * );
 * // Freeze everything but the head
 * const frozen = freeze(mask(model, byLayer("mod_conv")));
 * // The paper's fine-tuning split: 0.1 for the head, 0.01 for the rest
 * const ft = fineTuning(model, { head: byLayer("mod_head") });
 * ```
 *
 * @module
 */
import "@centra/chain/tfjs-check";
export * from "./describe_params.ts";
export * from "./layouts.ts";
export * from "./gc_axes.ts";
export * from "./selectors.ts";
export * from "./select.ts";
export * from "./labels.ts";
export * from "./recipes.ts";
