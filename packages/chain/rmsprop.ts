/**
 * RMSProp, nothing but a `chain` of transforms, with Gradient
 * Centralization as an option.
 *
 * @module
 */
import { checkOptions, type OptionKind } from "./_check.ts";
import {
  build,
  checkMomentum,
  defined,
  type GcOptions,
  on,
  withGc,
} from "./_optimizer.ts";
import { scaleByLearningRate } from "./scale.ts";
import { scaleByRms } from "./scale_by_rms.ts";
import { trace } from "./trace.ts";
import type {
  GradientTransformation,
  Hyper,
  ScalarOrSchedule,
} from "./types.ts";

/**
 * The options {@linkcode rmsprop} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const RMSPROP_OPTIONS: Readonly<Record<string, OptionKind>> = withGc({
  decay: "hyper",
  eps: "hyper",
  initialScale: "number",
  centered: "boolean",
  momentum: "hyper",
  nesterov: "boolean",
});

/** Options of {@linkcode rmsprop}. */
export interface RmspropOptions extends GcOptions {
  /** Decay of the mean square. Default 0.9. */
  decay?: Hyper;
  /** Added inside the square root. Default 1e-8 (PyTorch; tfjs uses 1e-7). */
  eps?: Hyper;
  /** Initial mean square. Default 0. */
  initialScale?: number;
  /** Centred RMSProp. Default false. */
  centered?: boolean;
  /** Momentum applied after the learning rate (tfjs's form). Default 0. */
  momentum?: Hyper;
  /** Nesterov momentum. Default false. */
  nesterov?: boolean;
}

/**
 * RMSProp; matches `tf.train.rmsprop` (with `eps: 1e-7`) with GC off: the
 * learning rate is applied before momentum, as tfjs and optax do.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Decay, eps, centring, momentum and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode RMSPROP_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, rmsprop, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([1]) };
 * const tx = rmsprop(0.01, { decay: 0.75, eps: 0 });
 * const [u] = runUpdate(tx, { w: tf.tensor1d([2]) }, initState(tx, params), params);
 * assert.ok(Math.abs(u.w!.dataSync()[0]! + 0.02) < 1e-7);
 * ```
 */
export function rmsprop(
  learningRate: ScalarOrSchedule,
  options: RmspropOptions = {},
): GradientTransformation<unknown[]> {
  const where = "rmsprop";
  checkOptions(where, options, RMSPROP_OPTIONS);
  const { momentum, nesterov = false } = options;
  checkMomentum(where, momentum, nesterov);
  const rms = defined(options, [
    "decay",
    "eps",
    "initialScale",
    "centered",
  ]);
  return build(where, options, {
    scaling: [scaleByRms(rms)],
    after: [
      scaleByLearningRate(learningRate),
      on(momentum) && trace(momentum, { nesterov }),
    ],
  });
}
