/**
 * SGDW, nothing but a `chain` of transforms, with Gradient
 * Centralization as an option.
 *
 * @module
 */
import type { OptionKind } from "./_check.ts";
import {
  type GcOptions,
  MOMENTUM_KINDS,
  momentumSgd,
  withGc,
} from "./_optimizer.ts";
import type {
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "./types.ts";

/**
 * The options {@linkcode sgdw} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const SGDW_OPTIONS: Readonly<Record<string, OptionKind>> = withGc(
  MOMENTUM_KINDS,
);

/** Options of {@linkcode sgdw}. */
export interface SgdwOptions extends GcOptions {
  /** Momentum factor. Default 0. */
  momentum?: Hyper;
  /** Nesterov momentum. Default false. */
  nesterov?: boolean;
  /** Decoupled weight decay λ: `w ← w - lr (m + λw)`. Default 1e-4. */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * SGD with decoupled weight decay (SGDW): GC acts on the raw gradient, and
 * `λw` is added after momentum (Loshchilov and Hutter, "Decoupled Weight
 * Decay Regularization", ICLR 2019, arXiv:1711.05101).
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Momentum, decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode SGDW_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, runUpdate, sgdw } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.tensor1d([10]) };
 * const tx = sgdw(0.1, { weightDecay: 0.5 });
 * const [u] = runUpdate(tx, { w: tf.tensor1d([0]) }, initState(tx, params), params);
 * assert.ok(Math.abs(u.w!.dataSync()[0]! + 0.5) < 1e-6); // -0.1 * 0.5 * 10
 * ```
 */
export function sgdw(
  learningRate: ScalarOrSchedule,
  options: SgdwOptions = {},
): GradientTransformation<unknown[]> {
  return momentumSgd("sgdw", learningRate, options, SGDW_OPTIONS, {
    weightDecay: 1e-4,
  });
}
