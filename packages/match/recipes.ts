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
import { sgd } from "@centra/chain/optimizers";
import type {
  AxesResolver,
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "@centra/chain/types";
import { gcAxes, type GcAxesOptions } from "./gc_axes.ts";
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
import { perLayerLearningRates } from "./_learning_rate_groups.ts";

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

export {
  type LearningRateGroup,
  perLayerLearningRates,
  type PerLayerLearningRatesOptions,
} from "./_learning_rate_groups.ts";

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
  const axes = gcOf(source, gc);
  const decay = weightDecay === undefined
    ? undefined
    : decayOf(source, options.weightDecayMask);
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

/** The GC axes `fineTuning`'s `gc` option asks for. */
function gcOf(
  source: ParamSource,
  gc: NonNullable<FineTuningOptions["gc"]>,
): AxesResolver | false {
  if (gc === true) return gcAxes(source);
  if (gc === "conv") return gcConvOnly(source);
  if (gc === false || typeof gc === "function") return gc;
  throw new TypeError(
    `fineTuning: gc must be true, false, "conv" or an axes resolver, got ${
      String(gc)
    }`,
  );
}

/**
 * The decay mask as a function: each group's optimizer sees only its own
 * parameters, so a map that names the whole model becomes a function.
 */
function decayOf(source: ParamSource, mask: Mask | undefined): Mask {
  const m = mask ?? decayMask(source);
  return typeof m === "function"
    ? m
    : (name: string) => Object.hasOwn(m, name) && m[name] === true;
}
