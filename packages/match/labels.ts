/**
 * Label maps for `partition`: which transformation each parameter goes to.
 *
 * @module
 */
import type { Selector } from "./types.ts";
import {
  checkFlag,
  checkOptionKeys,
  infosOf,
  type ParamSource,
  pick,
} from "./_infos.ts";

/** Options of {@linkcode labels}. */
export interface LabelsOptions {
  /**
   * The label of every parameter no group selects. Without it, such a
   * parameter is a `RangeError` that names it.
   */
  default?: string;
  /**
   * Allow groups that select no parameter: `true` for all, or the labels of
   * the groups that may be empty. Default false: an empty group is a
   * `RangeError` that names it.
   */
  allowEmpty?: boolean | readonly string[];
  /**
   * Label only parameters that can be trained: those in
   * `model.trainableWeights` and, for a model, those of frozen layers (so
   * that the map still covers a layer unfrozen later), but not a batch
   * norm's moving statistics. Default true.
   */
  trainableOnly?: boolean;
}

/**
 * A label map for `partition` (optax `multi_transform`): each parameter gets
 * the label of the group whose selector picks it. A parameter two groups
 * pick is a `RangeError` (groups must not overlap; use `not` to carve one out
 * of another), and so is one no group picks unless `default` is given.
 *
 * @param source A model, or its description from `describeParams`.
 * @param groups A selector per label.
 * @param options The label of the rest; which groups may be empty.
 * @returns A label for every (trainable) parameter, keyed by name.
 *
 * @example The paper's fine-tuning split: new head and pretrained backbone
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { labels } from "@centra/match/labels";
 * import { byLayer } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [8, 8, 1], name: "lbl_conv" }),
 *     tf.layers.flatten({}),
 *     tf.layers.dense({ units: 3, name: "lbl_head" }),
 *   ],
 * });
 * const map = labels(model, { head: byLayer("lbl_head") }, { default: "backbone" });
 * assert.deepEqual(map, {
 *   "lbl_conv/kernel": "backbone",
 *   "lbl_conv/bias": "backbone",
 *   "lbl_head/kernel": "head",
 *   "lbl_head/bias": "head",
 * });
 * // partition({ head: sgd(0.1, { momentum: 0.9 }), backbone: sgd(0.01, { momentum: 0.9 }) }, map)
 * ```
 */
export function labels(
  source: ParamSource,
  groups: Readonly<Record<string, Selector>>,
  options: LabelsOptions = {},
): Record<string, string> {
  const where = "labels";
  checkLabelsInput(groups, options);
  const entries = Object.entries(groups);
  const fallback = options.default;
  const allowEmpty = options.allowEmpty ?? false;
  const infos = infosOf(where, source, options.trainableOnly, true);
  const out = new Map<string, string>();
  for (const [label, selector] of entries) {
    if (label === "") throw new TypeError(`${where}: a label is empty`);
    const mayBeEmpty = allowEmpty === true ||
      (Array.isArray(allowEmpty) && allowEmpty.includes(label));
    const picked = pick(`${where} (group "${label}")`, infos, selector, {
      allowEmpty: mayBeEmpty,
      ...(options.trainableOnly === undefined
        ? {}
        : { trainableOnly: options.trainableOnly }),
      source,
    });
    for (const info of picked) {
      const before = out.get(info.name);
      if (before !== undefined) {
        throw new RangeError(
          `${where}: parameter "${info.name}" is in both group "${before}" and group "${label}"`,
        );
      }
      out.set(info.name, label);
    }
  }
  for (const info of infos) {
    if (out.has(info.name)) continue;
    if (fallback === undefined) {
      throw new RangeError(
        `${where}: parameter "${info.name}" (layer "${info.layerName}", role "${info.role}") is in no group; add a group for it or a default label`,
      );
    }
    out.set(info.name, fallback);
  }
  // Keep the model's order, whatever order the groups matched in.
  return Object.fromEntries(infos.map((i) => [i.name, out.get(i.name)!]));
}

/** Checks the groups and options of {@linkcode labels} before any work. */
function checkLabelsInput(
  groups: Readonly<Record<string, Selector>>,
  options: LabelsOptions,
): void {
  const where = "labels";
  checkOptionKeys(where, options, ["default", "allowEmpty", "trainableOnly"]);
  if (groups === null || typeof groups !== "object" || Array.isArray(groups)) {
    throw new TypeError(
      `${where}: groups must be a record of selectors by label, got ${
        String(groups)
      }`,
    );
  }
  const fallback = options.default;
  if (
    fallback !== undefined && (typeof fallback !== "string" || fallback === "")
  ) {
    throw new TypeError(
      `${where}: default must be a non-empty string, got ${String(fallback)}`,
    );
  }
  if (Object.keys(groups).length === 0 && fallback === undefined) {
    throw new TypeError(`${where}: groups is empty and there is no default`);
  }
  const allowEmpty = options.allowEmpty ?? false;
  if (!Array.isArray(allowEmpty)) {
    checkFlag(where, "allowEmpty", allowEmpty);
    return;
  }
  for (const label of allowEmpty) {
    if (!Object.hasOwn(groups, label)) {
      throw new TypeError(
        `${where}: allowEmpty names ${
          JSON.stringify(label)
        }, which is not a group`,
      );
    }
  }
}
