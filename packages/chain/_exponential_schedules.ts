// Private: the exponential decay schedule, re-exported by `schedules.ts`
// (its own module, so that the warmup schedules built on it import it
// without importing `schedules.ts` back).
import * as tf from "@tensorflow/tfjs";
import { withBounds } from "./_check.ts";
import {
  decayScheduleOptions,
  finite,
  floorDiv,
  limitOf,
  nonNegativeInt,
} from "./_schedule_checks.ts";
import { bitProduct, powerFactors } from "./_pow_int.ts";
import type { Schedule } from "./types.ts";

/** Options of {@linkcode exponentialDecaySchedule}. */
export interface ExponentialDecayOptions {
  /** Steps over which the value is multiplied by `decayRate` once. */
  transitionSteps: number;
  /** The factor per `transitionSteps` steps. */
  decayRate: number;
  /** Steps to hold `initValue` before decaying. Default 0. */
  transitionBegin?: number;
  /** Decay in whole steps of `transitionSteps`. Default false. */
  staircase?: boolean;
  /** A bound the value does not pass (a floor when decaying). */
  endValue?: number;
}

/**
 * `initValue * decayRate^((count - transitionBegin) / transitionSteps)`,
 * with the exponent at least 0. The count is a whole number (a step count);
 * the power is `(decayRate^(1 / transitionSteps))^count` by
 * `@centra/chain/expr`'s `powInt`, the same on every backend.
 *
 * @param initValue The starting value.
 * @param options Rate, steps, start, staircase and bound.
 * @returns The schedule.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { exponentialDecaySchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = exponentialDecaySchedule(1, { transitionSteps: 10, decayRate: 0.5 });
 * assert.ok(Math.abs(s(tf.scalar(20)).dataSync()[0]! - 0.25) < 1e-7);
 * ```
 */
export function exponentialDecaySchedule(
  initValue: number,
  options: ExponentialDecayOptions,
): Schedule {
  const where = "exponentialDecaySchedule";
  decayScheduleOptions(where, initValue, options, {
    transitionSteps: "number",
    decayRate: "number",
    transitionBegin: "number",
    staircase: "boolean",
    endValue: "number",
  }, "transitionSteps");
  finite(where, "decayRate", options.decayRate, { min: 0 });
  const begin = options.transitionBegin ?? 0;
  nonNegativeInt(where, "transitionBegin", begin);
  if (options.endValue !== undefined) {
    finite(where, "endValue", options.endValue);
  }
  // decayRate^(t / steps) as (decayRate^(1 / steps))^t, a whole power, by
  // @centra/chain/expr's powInt: factors from float64, the same on every
  // backend (WGSL's pow is exp2(b * log2(a)), a few ulps off)
  const steps = options.transitionSteps;
  const factors = options.staircase
    ? powerFactors(options.decayRate)
    : powerFactors(options.decayRate, steps);
  const end = options.endValue;
  const clamp = (v: number) =>
    end === undefined
      ? v
      : options.decayRate < 1
      ? Math.max(v, end)
      : Math.min(v, end);
  const schedule: Schedule = (count) => {
    const t = tf.maximum(tf.sub(count, begin), 0);
    let v = tf.mul(
      initValue,
      bitProduct(options.staircase ? floorDiv(t, steps) : t, factors),
    );
    if (options.endValue !== undefined) {
      v = options.decayRate < 1
        ? tf.maximum(v, options.endValue)
        : tf.minimum(v, options.endValue);
    }
    return v as tf.Scalar;
  };
  return withBounds(
    schedule,
    clamp(initValue),
    clamp(limitOf(initValue, options.decayRate)),
  );
}
