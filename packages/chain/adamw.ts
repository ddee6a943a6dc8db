/**
 * AdamW, nothing but a `chain` of transforms, with Gradient
 * Centralization as an option.
 *
 * @module
 */
import type { OptionKind } from "./_check.ts";
import { ADAM_KINDS, alias, type GcOptions } from "./_optimizer.ts";
import { scaleByAdam, type ScaleByAdamOptions } from "./scale_by_adam.ts";
import type {
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "./types.ts";

/**
 * The options {@linkcode adamw} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const ADAMW_OPTIONS: Readonly<Record<string, OptionKind>> = Object
  .freeze(
    { ...ADAM_KINDS },
  );

/** Options of {@linkcode adamw}. */
export interface AdamwOptions extends ScaleByAdamOptions, GcOptions {
  /** Decoupled weight decay λ: `w ← w - lr (adam(g) + λw)`. Default 1e-4 (optax). */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * AdamW: Adam with decoupled weight decay; GC acts on the raw gradient
 * (Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR
 * 2019, arXiv:1711.05101).
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, eps, decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode ADAMW_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adamw, initState, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.tensor1d([2]) };
 * const tx = adamw(0.1, { weightDecay: 0.5 });
 * const [u] = runUpdate(tx, { w: tf.tensor1d([0]) }, initState(tx, params), params);
 * assert.ok(Math.abs(u.w!.dataSync()[0]! + 0.1) < 1e-6); // -0.1 * 0.5 * 2
 * ```
 */
export function adamw(
  learningRate: ScalarOrSchedule,
  options: AdamwOptions = {},
): GradientTransformation<unknown[]> {
  return alias("adamw", learningRate, options, ADAMW_OPTIONS, scaleByAdam, {
    weightDecay: 1e-4,
  });
}
