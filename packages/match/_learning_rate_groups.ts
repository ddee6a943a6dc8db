// Private: per-layer learning rates (PyTorch's parameter groups) as a
// partition of one optimizer per group; re-exported by recipes.ts.
import { partition } from "@centra/chain/partition";
import { sgd } from "@centra/chain/optimizers";
import type {
  GradientTransformation,
  ScalarOrSchedule,
} from "@centra/chain/types";
import { labels } from "./labels.ts";
import type { Selector } from "./types.ts";
import { checkOptionKeys, type ParamSource } from "./_infos.ts";
import { checkSelector } from "./_source.ts";

/** One group of {@linkcode perLayerLearningRates}. */
export interface LearningRateGroup {
  /** The parameters of this group. */
  select: Selector;
  /** Their learning rate: a number or a schedule. */
  learningRate: ScalarOrSchedule;
}

/** Options of {@linkcode perLayerLearningRates}. */
export interface PerLayerLearningRatesOptions {
  /** The groups, by label; they must not overlap. */
  groups: Readonly<Record<string, LearningRateGroup>>;
  /**
   * The learning rate of every parameter no group selects (label
   * `"other"`). Without it every parameter must be in a group.
   */
  otherLearningRate?: ScalarOrSchedule;
  /**
   * Builds a group's optimizer from its learning rate. Default plain SGD,
   * `(lr) => sgd(lr)`.
   */
  optimizer?: (
    learningRate: ScalarOrSchedule,
    label: string,
  ) => GradientTransformation<unknown>;
  /** Groups that may select nothing: `true` for all, or their labels. */
  allowEmpty?: boolean | readonly string[];
}

/**
 * Per-layer learning rates: a `partition` with one optimizer per group,
 * built by `optimizer` from the group's learning rate. Each parameter's
 * optimizer state is its own, so this is exactly PyTorch's parameter groups.
 *
 * @param source A model, or its description from `describeParams`.
 * @param options The groups, the rate of the rest, the optimizer.
 * @returns The partitioned transformation.
 *
 * @example 0.1 for the head, 0.01 for the rest, SGDM + GC
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { gcAxes } from "@centra/match/gc-axes";
 * import { perLayerLearningRates } from "@centra/match/recipes";
 * import { byLayer } from "@centra/match/selectors";
 * import { initState, runUpdate, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.dense({ units: 4, inputShape: [3], name: "plr_body" }),
 *     tf.layers.dense({ units: 2, name: "plr_head" }),
 *   ],
 * });
 * const axes = gcAxes(model);
 * const tx = perLayerLearningRates(model, {
 *   groups: { head: { select: byLayer("plr_head"), learningRate: 0.1 } },
 *   otherLearningRate: 0.01,
 *   optimizer: (lr) => sgd(lr, { momentum: 0.9, gc: axes }),
 * });
 * const params = Object.fromEntries(model.trainableWeights.map((w) => [w.name, w.read()]));
 * const grads = Object.fromEntries(model.trainableWeights.map((w) => [w.name, tf.onesLike(w.read())]));
 * const [updates] = runUpdate(tx, grads, initState(tx, params), params);
 * assert.ok(Math.abs(updates["plr_head/bias"]!.dataSync()[0]! + 0.1) < 1e-6);
 * assert.ok(Math.abs(updates["plr_body/bias"]!.dataSync()[0]! + 0.01) < 1e-6);
 * ```
 */
export function perLayerLearningRates(
  source: ParamSource,
  options: PerLayerLearningRatesOptions,
): GradientTransformation<unknown> {
  const where = "perLayerLearningRates";
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `${where}: options must be an object with groups, got ${String(options)}`,
    );
  }
  checkOptionKeys(where, options, [
    "groups",
    "otherLearningRate",
    "optimizer",
    "allowEmpty",
  ]);
  const { groups, otherLearningRate, optimizer = (lr) => sgd(lr) } = options;
  if (groups === null || typeof groups !== "object" || Array.isArray(groups)) {
    throw new TypeError(
      `${where}: groups must be a record of { select, learningRate } by label, got ${
        String(groups)
      }`,
    );
  }
  if (typeof optimizer !== "function") {
    throw new TypeError(
      `${where}: optimizer must be a function (learningRate, label) => transformation, got ${
        String(optimizer)
      }`,
    );
  }
  const other = "other";
  if (otherLearningRate !== undefined && Object.hasOwn(groups, other)) {
    throw new TypeError(
      `${where}: the group label "${other}" is taken by otherLearningRate`,
    );
  }
  const { selectors, rates } = readGroups(groups);
  if (otherLearningRate !== undefined) rates[other] = otherLearningRate;
  let map: Record<string, string>;
  try {
    map = labels(source, selectors, {
      ...(otherLearningRate === undefined ? {} : { default: other }),
      ...(options.allowEmpty === undefined
        ? {}
        : { allowEmpty: options.allowEmpty }),
    });
  } catch (e) {
    if (e instanceof Error) e.message = `${where}: ${e.message}`;
    throw e;
  }
  const transforms: Record<string, GradientTransformation<unknown>> = {};
  for (const [label, lr] of Object.entries(rates)) {
    transforms[label] = optimizer(lr, label);
  }
  return partition(transforms, map);
}

/** Each group's checked selector and learning rate, by label. */
function readGroups(groups: Readonly<Record<string, LearningRateGroup>>): {
  selectors: Record<string, Selector>;
  rates: Record<string, ScalarOrSchedule>;
} {
  const where = "perLayerLearningRates";
  const selectors: Record<string, Selector> = {};
  const rates: Record<string, ScalarOrSchedule> = {};
  for (const [label, group] of Object.entries(groups)) {
    if (group === null || typeof group !== "object") {
      throw new TypeError(
        `${where}: group "${label}" must be { select, learningRate }, got ${
          String(group)
        }`,
      );
    }
    if (group.learningRate === undefined) {
      throw new TypeError(`${where}: group "${label}" has no learningRate`);
    }
    selectors[label] = checkSelector(
      `${where} (group "${label}")`,
      group.select,
    );
    rates[label] = group.learningRate;
  }
  return { selectors, rates };
}
