/**
 * Adafactor (Shazeer and Stern 2018): factored second moments, update
 * clipping and relative step sizes, as a `chain` of transforms
 * ({@linkcode adafactor}).
 *
 * @module
 */
import {
  checkHyper,
  checkOptions,
  checkPlainHyper,
  type OptionKind,
} from "./_check.ts";
import {
  build,
  decayOptions,
  defined,
  GC_KINDS,
  type GcOptions,
} from "./_optimizer.ts";
import { addDecayedWeights } from "./add_decayed_weights.ts";
import { clipByBlockRms } from "./clip_by_block_rms.ts";
import { scale, scaleBySchedule } from "./scale.ts";
import { scaleByFactoredRms } from "./scale_by_factored_rms.ts";
import { scaleByParamBlockRms } from "./scale_by_param_block_rms.ts";
import { ema } from "./trace.ts";
import type {
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "./types.ts";

/**
 * The options {@linkcode adafactor} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const ADAFACTOR_OPTIONS: Readonly<Record<string, OptionKind>> = Object
  .freeze({
    ...GC_KINDS,
    minDimSizeToFactor: "number",
    decayRate: "hyper",
    decayOffset: "number",
    multiplyByParameterScale: "boolean",
    clippingThreshold: "hyper",
    momentum: "hyper",
    weightDecayRate: "hyper",
    weightDecayMask: "mask",
    eps: "hyper",
    factored: "boolean",
  });

/** Options of {@linkcode adafactor} (optax's, camelCased, with its defaults). */
export interface AdafactorOptions extends GcOptions {
  /** Factor tensors whose last two axes are both at least this long. Default 128. */
  minDimSizeToFactor?: number;
  /** The exponent of the second moment's decay `1 - t^(-decayRate)`. Default 0.8. */
  decayRate?: Hyper;
  /** The step the decay schedule starts from, for fine-tuning. Default 0. */
  decayOffset?: number;
  /** Scale the step by each tensor's rms (relative steps). Default true. */
  multiplyByParameterScale?: boolean;
  /**
   * Clip each scaled tensor to this root mean square (> 0). Default 1. (optax
   * turns clipping off with `None`; here a large value such as 1e30 does.)
   */
  clippingThreshold?: Hyper;
  /** Momentum on the update (`ema` without debiasing), off by default. */
  momentum?: Hyper;
  /**
   * Weight decay added to the final step, not scaled by the learning rate
   * (optax): `w ← w - (step + weightDecayRate w)`. Off by default.
   */
  weightDecayRate?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
  /** Added to `g²`. Default 1e-30. */
  eps?: Hyper;
  /** Factor the second moments of rank-2+ tensors. Default true. */
  factored?: boolean;
}

/**
 * Adafactor, as optax builds it: `chain(scaleByFactoredRms(),
 * clipByBlockRms(clippingThreshold), scale(learningRate),
 * scaleByParamBlockRms(), ema(momentum), addDecayedWeights(weightDecayRate),
 * scale(-1))`, the last three only when asked for. So the step of a tensor
 * `W` is `lr · max(rms(W), 1e-3) · clip(g / sqrt(V̂))`, with `V̂` factored
 * over the last two axes of rank-2+ tensors (see
 * {@linkcode scaleByFactoredRms}).
 *
 * GC: `gcOn: "gradient"` (default) centralizes `g` before the statistics;
 * `"update"` centralizes `g / sqrt(V̂)` before the clipping.
 *
 * Not elementwise (the factored statistics are smaller than the
 * parameters): under `fuse` its first stage runs op by op.
 *
 * Reference: N. Shazeer, M. Stern, "Adafactor: Adaptive Learning Rates with
 * Sublinear Memory Cost", ICML 2018, arXiv:1804.04235.
 *
 * @param learningRate A non-negative number or a schedule (optax's example
 * uses 3e-3; with `multiplyByParameterScale` a step is this fraction of the
 * weights' rms).
 * @param options optax's options, camelCased, and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode ADAFACTOR_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example A step is lr times the weights' rms times the clipped direction
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adafactor, initState, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.fill([2], 2) };
 * const tx = adafactor(0.01);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([5, -5]) }, initState(tx, params), params);
 * // g / sqrt(g²) = ±1 (rms 1, not clipped), times lr and rms(w) = 2
 * assert.deepEqual(Array.from(u.w!.dataSync()).map((x) => +x.toFixed(6)), [-0.02, 0.02]);
 * ```
 */
export function adafactor(
  learningRate: ScalarOrSchedule,
  options: AdafactorOptions = {},
): GradientTransformation<unknown[]> {
  const where = "adafactor";
  checkOptions(where, options, ADAFACTOR_OPTIONS);
  checkHyper(where, "learningRate", learningRate, { min: 0 });
  // the options' own names in messages, before the stages check them again
  checkPlainHyper(where, "clippingThreshold", options.clippingThreshold, {
    min: 0,
    minOpen: true,
  });
  checkPlainHyper(where, "momentum", options.momentum, { min: 0, max: 1 });
  checkPlainHyper(where, "weightDecayRate", options.weightDecayRate, {
    min: 0,
  });
  const offset = options.decayOffset;
  if (offset !== undefined && (!Number.isInteger(offset) || offset < 0)) {
    throw new RangeError(
      `${where}: decayOffset must be an integer >= 0, got ${offset}`,
    );
  }
  const {
    clippingThreshold = 1,
    multiplyByParameterScale = true,
    momentum,
    weightDecayRate,
    weightDecayMask,
  } = options;
  const rms = defined(options, ["factored", "decayRate", "eps"]);
  const factoredOptions = {
    ...rms,
    ...defined(options, ["minDimSizeToFactor"]),
    ...(options.decayOffset === undefined
      ? {}
      : { stepOffset: options.decayOffset }),
  };
  return build(where, options, {
    scaling: [scaleByFactoredRms(factoredOptions)],
    after: [
      clipByBlockRms(clippingThreshold),
      // optax scales by +lr and flips the sign last, after the decay
      typeof learningRate === "function"
        ? scaleBySchedule(learningRate)
        : scale(learningRate),
      multiplyByParameterScale && scaleByParamBlockRms(),
      momentum !== undefined && ema(momentum, { debias: false }),
      weightDecayRate !== undefined &&
      addDecayedWeights(weightDecayRate, decayOptions(weightDecayMask)),
      scale(-1),
    ],
  });
}
