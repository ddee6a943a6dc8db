/**
 * SGD, nothing but a `chain` of transforms, with Gradient
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
 * The options {@linkcode sgd} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const SGD_OPTIONS: Readonly<Record<string, OptionKind>> = withGc(
  MOMENTUM_KINDS,
);

/** Options of {@linkcode sgd}. */
export interface SgdOptions extends GcOptions {
  /** Momentum factor (tfjs/PyTorch form, `m = βm + g`). Default 0. */
  momentum?: Hyper;
  /** Nesterov momentum. Default false. */
  nesterov?: boolean;
  /** L2 weight decay: adds `λw` to the gradient before GC and momentum (paper 3.4). Default 0. */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * SGD, with momentum, L2 weight decay and GC as options. With `momentum`
 * and `gc: true` this is the paper's SGDM + GC (Algorithm 1, with PyTorch's
 * undampened momentum as in the authors' code); with `weightDecay`, GC acts
 * on `g + λw` (Yong et al. 2020, 3.4). Matches `tf.train.sgd` and
 * `tf.train.momentum` with GC off.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Momentum, Nesterov, weight decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode SGD_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example SGDM + GC
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { applyUpdates, initState, runUpdate, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const w = tf.variable(tf.randomNormal([4, 3]), true, "sgd_doc/kernel");
 * const tx = sgd(0.1, { momentum: 0.9, gc: true });
 * let state = initState(tx, { [w.name]: w });
 * const before = w.mean(0).dataSync();
 * for (let i = 0; i < 3; i++) {
 *   const [u, next] = runUpdate(tx, { [w.name]: tf.randomNormal([4, 3]) }, state, { [w.name]: w });
 *   state = next;
 *   applyUpdates({ [w.name]: w }, u);
 * }
 * // Theorem 4.1: each unit's weight mean is unchanged
 * const after = w.mean(0).dataSync();
 * before.forEach((m, i) => assert.ok(Math.abs(m - after[i]!) < 1e-5));
 * ```
 */
export function sgd(
  learningRate: ScalarOrSchedule,
  options: SgdOptions = {},
): GradientTransformation<unknown[]> {
  return momentumSgd("sgd", learningRate, options, SGD_OPTIONS, "l2");
}
