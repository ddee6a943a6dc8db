/**
 * Recipes: the parameter splits users ask for most, built from selectors.
 *
 * - No weight decay on biases and norms (Keras `exclude_from_weight_decay`):
 *   `addDecayedWeights(wd, { mask: decayMask(model) })`.
 * - GC on conv layers only (the authors' GCC): `gcConvOnly(model)`.
 * - Freeze by layer: `freeze(mask(model, byLayer("backbone")))`.
 * - Per-layer learning rates: {@linkcode perLayerLearningRates}.
 * - The paper's fine-tuning split: {@linkcode fineTuning}.
 *
 * @module
 */
import { partition } from "@centra/chain/partition";
import { sgd } from "@centra/chain/optimizers";
import type {
  AxesResolver,
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "@centra/chain/types";
import { gcAxes, type GcAxesOptions } from "./gc_axes.ts";
import { labels } from "./labels.ts";
import type { SelectOptions } from "./select.ts";
import {
  and,
  byClass,
  byRank,
  byRole,
  not,
  or,
  type Selector,
} from "./selectors.ts";
import { checkOptionKeys, infosOf, type ParamSource, pick } from "./_infos.ts";
import { checkSelector } from "./_source.ts";
import { CONVOLUTION_CLASSES } from "./_layout_table.ts";

// Re-exported so that this package's documentation is complete.
export type {
  GradientTransformation,
  Hyper,
  Mask,
  Params,
  ScalarOrSchedule,
  Schedule,
  Updates,
} from "@centra/chain/types";

/**
 * The parameters conventionally exempt from weight decay: biases, the gammas,
 * betas and moving statistics of normalization layers, PReLU's alpha (He et
 * al. 2015 train it without decay), and any other tensor of rank 0 or 1.
 *
 * @returns A selector.
 *
 * @example
 * ```ts
 * import { noDecay } from "@centra/match/recipes";
 * import assert from "node:assert/strict";
 *
 * assert.match(noDecay().description, /byRole/);
 * ```
 */
export function noDecay(): Selector {
  return or(
    byRole(["bias", "gamma", "beta", "moving_mean", "moving_variance"]),
    byClass("*Normalization"),
    and(byClass("PReLU"), byRole("alpha")),
    byRank({ max: 1 }),
  );
}

/** Options of {@linkcode decayMask}. */
export interface DecayMaskOptions extends SelectOptions {
  /** The parameters that do not decay. Default {@linkcode noDecay}. */
  exclude?: Selector;
}

/**
 * The mask of the parameters that take weight decay: every trainable
 * parameter but those `exclude` selects (by default biases, norms and PReLU
 * alphas), as Keras's `exclude_from_weight_decay` and the usual AdamW recipe.
 * An empty result (nothing decays) is a `RangeError` unless `allowEmpty`.
 *
 * @param source A model, or its description from `describeParams`.
 * @param options What to exclude.
 * @returns `true` for the parameters that decay, keyed by name.
 *
 * @example No decay on biases and norms
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { decayMask } from "@centra/match/recipes";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.dense({ units: 4, inputShape: [3], name: "dm_fc" }),
 *     tf.layers.layerNormalization({ name: "dm_ln" }),
 *   ],
 * });
 * assert.deepEqual(decayMask(model), {
 *   "dm_fc/kernel": true,
 *   "dm_fc/bias": false,
 *   "dm_ln/gamma": false,
 *   "dm_ln/beta": false,
 * });
 * // addDecayedWeights(1e-4, { mask: decayMask(model) }), or
 * // adamw(1e-3, { weightDecay: 1e-4, weightDecayMask: decayMask(model) })
 * ```
 */
export function decayMask(
  source: ParamSource,
  options: DecayMaskOptions = {},
): Record<string, boolean> {
  const where = "decayMask";
  checkOptionKeys(where, options, ["allowEmpty", "trainableOnly", "exclude"]);
  const { exclude = noDecay(), ...rest } = options;
  const infos = infosOf(where, source, rest.trainableOnly, true);
  const decays = not(checkSelector(where, exclude));
  const picked = new Set(
    pick(where, infos, decays, { ...rest, source }).map((i) => i.name),
  );
  return Object.fromEntries(infos.map((i) => [i.name, picked.has(i.name)]));
}

/**
 * The layers whose kernels are convolutions: Conv1D/2D/3D, their transposes,
 * DepthwiseConv2D, SeparableConv2D and ConvLSTM2D.
 *
 * @returns A selector.
 *
 * @example
 * ```ts
 * import { convLayers } from "@centra/match/recipes";
 * import assert from "node:assert/strict";
 *
 * assert.match(convLayers().description, /Conv2DTranspose/);
 * ```
 */
export function convLayers(): Selector {
  return byClass(CONVOLUTION_CLASSES);
}

/**
 * GC axes for convolution layers only (the authors' "GCC" variant): the exact
 * axes of {@linkcode gcAxes} for the layers {@linkcode convLayers} selects,
 * `null` for every other parameter.
 *
 * @param source A model, or its description from `describeParams`.
 * @param options As for `gcAxes`, without `select`.
 * @returns The resolver `centralize({ axes })` takes.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { gcConvOnly } from "@centra/match/recipes";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [8, 8, 1], name: "gco_conv" }),
 *     tf.layers.flatten({}),
 *     tf.layers.dense({ units: 3, name: "gco_fc" }),
 *   ],
 * });
 * const axes = gcConvOnly(model);
 * assert.deepEqual(axes("gco_conv/kernel", [3, 3, 1, 2]), [0, 1, 2]);
 * assert.equal(axes("gco_fc/kernel", [72, 3]), null);
 * ```
 */
export function gcConvOnly(
  source: ParamSource,
  options: Omit<GcAxesOptions, "select"> = {},
): AxesResolver {
  return gcAxes(source, { ...options, select: convLayers() });
}

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

/** Options of {@linkcode fineTuning}. */
export interface FineTuningOptions {
  /** The new layers (the head); every other trainable parameter is the pretrained backbone. */
  head: Selector;
  /** The head's learning rate. Default 0.1, as in the paper. */
  headLearningRate?: ScalarOrSchedule;
  /** The backbone's learning rate. Default 0.01, as in the paper. */
  backboneLearningRate?: ScalarOrSchedule;
  /** Momentum. Default 0.9, as in the paper. */
  momentum?: Hyper;
  /** Nesterov momentum. Default false. */
  nesterov?: boolean;
  /**
   * L2 weight decay (added to the gradient before GC, paper 3.4). Default 0.
   * It skips biases, norms and PReLU alphas ({@linkcode decayMask}) unless
   * `weightDecayMask` says otherwise.
   */
  weightDecay?: Hyper;
  /** Which parameters decay. Default {@linkcode decayMask}. */
  weightDecayMask?: Mask;
  /**
   * GC: `true` (default, the paper: conv and FC layers) uses
   * {@linkcode gcAxes}, `"conv"` uses {@linkcode gcConvOnly}, `false` turns
   * it off, and a resolver is used as it is.
   */
  gc?: boolean | "conv" | AxesResolver;
}

/**
 * The paper's fine-tuning setup (Yong et al. 2020, 5.5): SGDM (momentum 0.9)
 * with GC on conv and FC layers, learning rate 0.1 for the new head and 0.01
 * for the pretrained layers. The learning rates may be schedules (the paper
 * divides both by 10 at epochs 50 and 80).
 *
 * Reference: H. Yong, J. Huang, X. Hua, L. Zhang, "Gradient Centralization:
 * A New Optimization Technique for Deep Neural Networks", ECCV 2020,
 * arXiv:2004.01461.
 *
 * @param source A model, or its description from `describeParams`.
 * @param options The head; learning rates, momentum, decay and GC.
 * @returns A `partition` of two SGDM + GC optimizers, labels `"head"` and
 *   `"backbone"`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fineTuning } from "@centra/match/recipes";
 * import { byLayer } from "@centra/match/selectors";
 * import { initState } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [8, 8, 1], name: "ft_conv" }),
 *     tf.layers.flatten({}),
 *     tf.layers.dense({ units: 3, name: "ft_head" }),
 *   ],
 * });
 * const tx = fineTuning(model, { head: byLayer("ft_head") });
 * const params = Object.fromEntries(model.trainableWeights.map((w) => [w.name, w.read()]));
 * const state = initState(tx, params) as Record<string, unknown>;
 * assert.deepEqual(Object.keys(state).sort(), ["backbone", "head"]);
 * ```
 */
export function fineTuning(
  source: ParamSource,
  options: FineTuningOptions,
): GradientTransformation<unknown> {
  const where = "fineTuning";
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `${where}: options must be an object with a head selector, got ${
        String(options)
      }`,
    );
  }
  checkOptionKeys(where, options, [
    "head",
    "headLearningRate",
    "backboneLearningRate",
    "momentum",
    "nesterov",
    "weightDecay",
    "weightDecayMask",
    "gc",
  ]);
  const head = checkSelector(`${where} (head)`, options.head);
  const {
    headLearningRate = 0.1,
    backboneLearningRate = 0.01,
    momentum = 0.9,
    nesterov = false,
    weightDecay,
    gc = true,
  } = options;
  let axes: AxesResolver | false;
  if (gc === true) axes = gcAxes(source);
  else if (gc === "conv") axes = gcConvOnly(source);
  else if (gc === false || typeof gc === "function") axes = gc;
  else {
    throw new TypeError(
      `${where}: gc must be true, false, "conv" or an axes resolver, got ${
        String(gc)
      }`,
    );
  }
  let decay: Mask | undefined;
  if (weightDecay !== undefined) {
    const m = options.weightDecayMask ?? decayMask(source);
    // Each group's optimizer sees only its own parameters, so a map that
    // names the whole model becomes a function.
    decay = typeof m === "function"
      ? m
      : (name: string) => Object.hasOwn(m, name) && m[name] === true;
  }
  return perLayerLearningRates(source, {
    groups: {
      head: { select: head, learningRate: headLearningRate },
      backbone: { select: not(head), learningRate: backboneLearningRate },
    },
    optimizer: (lr) =>
      sgd(lr, {
        momentum,
        nesterov,
        gc: axes,
        ...(weightDecay === undefined ? {} : { weightDecay }),
        ...(decay === undefined ? {} : { weightDecayMask: decay }),
      }),
  });
}
