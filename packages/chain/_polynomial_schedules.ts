// Private: the schedules of a power or an inverse of the step count
// (polynomial, inverse time decay), re-exported by `schedules.ts`.
import * as tf from "@tensorflow/tfjs";
import { withBounds } from "./_check.ts";
import {
  decayScheduleOptions,
  finite,
  floorDiv,
  nonNegativeInt,
  positiveInt,
  scheduleOptions,
} from "./_schedule_checks.ts";
import type { Schedule } from "./types.ts";

/** Options of {@linkcode polynomialSchedule}. */
export interface PolynomialScheduleOptions {
  /** Value before and at `transitionBegin`. */
  initValue: number;
  /** Value from `transitionBegin + transitionSteps` on. */
  endValue: number;
  /** The power of the transition, above 0 (1 is {@linkcode linearSchedule}). */
  power: number;
  /** Steps of the transition. */
  transitionSteps: number;
  /** Steps to hold `initValue` first. Default 0. */
  transitionBegin?: number;
}

/**
 * A polynomial transition from `initValue` to `endValue` (optax
 * `polynomial_schedule`): with `τ = min(max(t - transitionBegin, 0),
 * transitionSteps) / transitionSteps`, the value is
 * `(initValue - endValue) (1 - τ)^power + endValue`.
 *
 * @param options The values, the power and the step counts.
 * @returns The schedule.
 * @throws {TypeError} For an unknown option or one that is not a number.
 * @throws {RangeError} For a value not finite in float32, `power` not above
 * 0, `transitionSteps` not a positive integer or `transitionBegin` not a
 * non-negative integer.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { polynomialSchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = polynomialSchedule({ initValue: 1, endValue: 0.01, power: 2, transitionSteps: 100, transitionBegin: 5 });
 * assert.ok(Math.abs(s(tf.scalar(6)).dataSync()[0]! - 0.980299) < 1e-6);
 * assert.ok(Math.abs(s(tf.scalar(110)).dataSync()[0]! - 0.01) < 1e-8);
 * ```
 */
export function polynomialSchedule(
  options: PolynomialScheduleOptions,
): Schedule {
  const where = "polynomialSchedule";
  scheduleOptions(where, options, {
    initValue: "number",
    endValue: "number",
    power: "number",
    transitionSteps: "number",
    transitionBegin: "number",
  });
  const { initValue, endValue, power, transitionSteps, transitionBegin = 0 } =
    options;
  finite(where, "initValue", initValue);
  finite(where, "endValue", endValue);
  finite(where, "initValue - endValue", initValue - endValue);
  finite(where, "power", power, { min: 0, minOpen: true });
  positiveInt(where, "transitionSteps", transitionSteps);
  nonNegativeInt(where, "transitionBegin", transitionBegin);
  return withBounds(
    (count) => {
      const t = tf.minimum(
        tf.maximum(tf.sub(count, transitionBegin), 0),
        transitionSteps,
      );
      // at least 0: WGSL's t / t may round a hair above 1
      let frac: tf.Tensor = tf.maximum(
        tf.sub(1, tf.div(t, transitionSteps)),
        0,
      );
      if (power !== 1) frac = tf.pow(frac, power);
      return tf.add(endValue, tf.mul(initValue - endValue, frac)) as tf.Scalar;
    },
    initValue,
    endValue,
  );
}

/** Options of {@linkcode inverseTimeDecaySchedule}. */
export interface InverseTimeDecayOptions {
  /** The steps over which the denominator grows by `decayRate`. */
  decaySteps: number;
  /** How fast the denominator grows, at least 0. */
  decayRate: number;
  /** Grow the denominator in whole steps of `decaySteps`. Default false. */
  staircase?: boolean;
}

/**
 * Inverse time decay, `initValue / (1 + decayRate * t / decaySteps)`, with
 * `t / decaySteps` rounded down for `staircase` (Keras `InverseTimeDecay`;
 * optax has none).
 *
 * @param initValue The value at step 0.
 * @param options The steps, rate and staircase.
 * @returns The schedule.
 * @throws {TypeError} For an unknown option or one of the wrong kind.
 * @throws {RangeError} For a value not finite in float32, a negative
 * `decayRate` or `decaySteps` not a positive integer.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { inverseTimeDecaySchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = inverseTimeDecaySchedule(0.1, { decaySteps: 10, decayRate: 0.5 });
 * assert.ok(Math.abs(s(tf.scalar(20)).dataSync()[0]! - 0.05) < 1e-8);
 * ```
 */
export function inverseTimeDecaySchedule(
  initValue: number,
  options: InverseTimeDecayOptions,
): Schedule {
  const where = "inverseTimeDecaySchedule";
  decayScheduleOptions(where, initValue, options, {
    decaySteps: "number",
    decayRate: "number",
    staircase: "boolean",
  }, "decaySteps");
  finite(where, "decayRate", options.decayRate, { min: 0 });
  const { decaySteps, decayRate, staircase = false } = options;
  return withBounds(
    (count) => {
      const t = tf.maximum(count, 0);
      const p = staircase ? floorDiv(t, decaySteps) : tf.div(t, decaySteps);
      return tf.div(initValue, tf.add(1, tf.mul(decayRate, p))) as tf.Scalar;
    },
    initValue,
    decayRate > 0 ? 0 : initValue,
  );
}
