/**
 * Adam, nothing but a `chain` of transforms, with Gradient
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
 * The options {@linkcode adam} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const ADAM_OPTIONS: Readonly<Record<string, OptionKind>> = Object.freeze(
  { ...ADAM_KINDS },
);

/** Options of {@linkcode adam}. */
export interface AdamOptions extends ScaleByAdamOptions, GcOptions {
  /** L2 weight decay added to the gradient (before GC). Default 0. For decoupled decay use {@linkcode adamw}. */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * Adam (paper Algorithm 2 with `gc: true`). Matches `tf.train.adam` with GC
 * off when given tfjs's `eps: 1e-7`; the default is PyTorch's and optax's
 * 1e-8.
 *
 * Reference: D. Kingma, J. Ba, "Adam: A Method for Stochastic
 * Optimization", ICLR 2015, arXiv:1412.6980.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, eps, AMSGrad, L2 decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode ADAM_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adam, initState, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2]) };
 * const tx = adam(0.01);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([3, -0.5]) }, initState(tx, params), params);
 * // Adam's first step has size lr in every coordinate
 * assert.ok(u.w!.abs().sub(0.01).abs().max().dataSync()[0]! < 1e-6);
 * ```
 */
export function adam(
  learningRate: ScalarOrSchedule,
  options: AdamOptions = {},
): GradientTransformation<unknown[]> {
  return alias("adam", learningRate, options, ADAM_OPTIONS, scaleByAdam, {
    l2: true,
  });
}
