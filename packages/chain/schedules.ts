/**
 * Learning-rate schedules: functions of the step count (a float32 scalar)
 * computed on the device, so that no step reads data back to the host.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { withBounds } from "./_check.ts";
import {
  cosine,
  decayScheduleOptions,
  finite,
  floorDiv,
  limitOf,
} from "./_schedule_checks.ts";
import { bitProduct, powerFactors } from "./_pow_int.ts";
import type { Schedule } from "./types.ts";

export * from "./_join_schedules.ts";
export * from "./_exponential_schedules.ts";
export * from "./_warmup_schedules.ts";
export * from "./_interpolate_schedules.ts";
export * from "./_polynomial_schedules.ts";

/** Options of {@linkcode stepDecaySchedule}. */
export interface StepDecayOptions {
  /** Steps between two decays. */
  stepSize: number;
  /** Factor per decay. Default 0.1 (the paper: x0.1 every 60 epochs). */
  gamma?: number;
}

/**
 * `initValue * gamma^floor(count / stepSize)` (PyTorch `StepLR`; the paper
 * multiplies the learning rate by 0.1 every 60 epochs).
 *
 * @param initValue The starting value.
 * @param options Step size and factor.
 * @returns The schedule.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { stepDecaySchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = stepDecaySchedule(0.1, { stepSize: 60 });
 * assert.ok(Math.abs(s(tf.scalar(130)).dataSync()[0]! - 0.001) < 1e-9);
 * ```
 */
export function stepDecaySchedule(
  initValue: number,
  options: StepDecayOptions,
): Schedule {
  const where = "stepDecaySchedule";
  decayScheduleOptions(
    where,
    initValue,
    options,
    { stepSize: "number", gamma: "number" },
    "stepSize",
  );
  const gamma = options.gamma ?? 0.1;
  finite(where, "gamma", gamma, { min: 0 });
  // gamma^k by @centra/chain/expr's powInt: the same on every backend
  const factors = powerFactors(gamma);
  return withBounds(
    (count) =>
      tf.mul(
        initValue,
        bitProduct(floorDiv(tf.maximum(count, 0), options.stepSize), factors),
      ) as tf.Scalar,
    initValue,
    limitOf(initValue, gamma),
  );
}

/** Options of {@linkcode cosineDecaySchedule}. */
export interface CosineDecayOptions {
  /** Steps over which to decay. */
  decaySteps: number;
  /** The final value as a fraction of `initValue`. Default 0. */
  alpha?: number;
  /**
   * The power of the cosine factor, `((1 + cos(π t / T)) / 2)^exponent`
   * (optax's `exponent`). Default 1.
   */
  exponent?: number;
}

/**
 * Cosine decay from `initValue` to `alpha * initValue` over `decaySteps`,
 * then constant: `init (α + (1 - α) c^p)` with `c = (1 + cos(π min(t, T) /
 * T)) / 2` and `p` the `exponent` (optax `cosine_decay_schedule`;
 * Loshchilov and Hutter, "SGDR: Stochastic Gradient Descent with Warm
 * Restarts", ICLR 2017, arXiv:1608.03983, without restarts).
 *
 * @param initValue The starting value.
 * @param options Decay steps, final fraction and exponent.
 * @returns The schedule.
 * @throws {TypeError} For an unknown option or one that is not a number.
 * @throws {RangeError} For `decaySteps` not a positive integer, a value not
 * finite in float32, or an `exponent` not above 0.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { cosineDecaySchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = cosineDecaySchedule(1, { decaySteps: 100 });
 * assert.ok(Math.abs(s(tf.scalar(50)).dataSync()[0]! - 0.5) < 1e-6);
 * ```
 */
export function cosineDecaySchedule(
  initValue: number,
  options: CosineDecayOptions,
): Schedule {
  const where = "cosineDecaySchedule";
  decayScheduleOptions(where, initValue, options, {
    decaySteps: "number",
    alpha: "number",
    exponent: "number",
  }, "decaySteps");
  const alpha = options.alpha ?? 0;
  finite(where, "alpha", alpha);
  const exponent = options.exponent ?? 1;
  finite(where, "exponent", exponent, { min: 0, minOpen: true });
  // the numbers the schedule computes with, as float32 values too
  finite(where, "alpha * initValue", alpha * initValue);
  finite(where, "initValue - alpha * initValue", initValue - alpha * initValue);
  return withBounds(
    (count) =>
      cosine(count, initValue, alpha * initValue, options.decaySteps, exponent),
    initValue,
    alpha * initValue,
  );
}
