/**
 * Resolves a selector against a model.
 *
 * @module
 */
import type { ParamInfo, Selector } from "./types.ts";
import { checkOptionKeys, infosOf, type ParamSource, pick } from "./_infos.ts";

const SELECT_KEYS = ["allowEmpty", "trainableOnly"] as const;

export type { ParamSource } from "./_infos.ts";

/** Options of {@linkcode select}, {@linkcode mask} and `labels`. */
export interface SelectOptions {
  /**
   * Allow a selector that matches no parameter. Default false: an empty
   * selection is a `RangeError` that names the selector, since it is almost
   * always a typo.
   */
  allowEmpty?: boolean;
  /**
   * Consider only trainable parameters (those in `model.trainableWeights`,
   * the ones an optimizer sees now). Default true. `mask` also keeps a
   * frozen layer's parameters, so that a mask built while a layer is frozen
   * still covers it once unfrozen.
   */
  trainableOnly?: boolean;
}

/**
 * The parameters a selector picks, in the model's order.
 *
 * @param source A model, or its description from `describeParams`.
 * @param selector Which parameters.
 * @param options Whether an empty selection is allowed; trainable only.
 * @returns The selected parameters' descriptions.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { select } from "@centra/match/select";
 * import { byRole } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({
 *   layers: [tf.layers.dense({ units: 2, inputShape: [3], name: "fc" })],
 * });
 * assert.deepEqual(select(model, byRole("bias")).map((p) => p.name), ["fc/bias"]);
 * assert.throws(() => select(model, byRole("gamma")), RangeError);
 * ```
 */
export function select(
  source: ParamSource,
  selector: Selector,
  options: SelectOptions = {},
): ParamInfo[] {
  const where = "select";
  checkOptionKeys(where, options, SELECT_KEYS);
  const infos = infosOf(where, source, options.trainableOnly);
  return pick(where, infos, selector, { ...options, source });
}

/**
 * A mask for `masked`, `freeze` and `addDecayedWeights`: `true` for every
 * parameter the selector picks and `false` for every other, keyed by
 * parameter name.
 *
 * @param source A model, or its description from `describeParams`.
 * @param selector Which parameters are `true`.
 * @param options Whether an empty selection is allowed; trainable only.
 * @returns A boolean for every (trainable) parameter.
 *
 * @example Freeze a pretrained backbone
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { mask } from "@centra/match/select";
 * import { byLayer } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.dense({ units: 4, inputShape: [3], name: "backbone_fc" }),
 *     tf.layers.dense({ units: 2, name: "head" }),
 *   ],
 * });
 * const frozen = mask(model, byLayer("backbone*"));
 * assert.deepEqual(frozen, {
 *   "backbone_fc/kernel": true,
 *   "backbone_fc/bias": true,
 *   "head/kernel": false,
 *   "head/bias": false,
 * });
 * // chain(freeze(frozen), sgd(0.01)) trains the head only.
 * ```
 */
export function mask(
  source: ParamSource,
  selector: Selector,
  options: SelectOptions = {},
): Record<string, boolean> {
  const where = "mask";
  checkOptionKeys(where, options, SELECT_KEYS);
  const infos = infosOf(where, source, options.trainableOnly, true);
  const picked = new Set(
    pick(where, infos, selector, { ...options, source }).map((i) => i.name),
  );
  const out: Record<string, boolean> = {};
  for (const i of infos) {
    out[i.name] = picked.has(i.name);
  }
  return out;
}
