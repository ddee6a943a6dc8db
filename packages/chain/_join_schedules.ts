// Private: the schedules that hold or join values (constant, piecewise
// constant, linear, joined), re-exported by `schedules.ts`.
import * as tf from "@tensorflow/tfjs";
import { boundsOf, withBounds } from "./_check.ts";
import {
  finite,
  nonNegativeInt,
  positiveInt,
  scheduleOptions,
} from "./_schedule_checks.ts";
import type { Schedule } from "./types.ts";

/**
 * A schedule that always returns `value`.
 *
 * @param value The value.
 * @returns The schedule.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { constantSchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * assert.ok(Math.abs(constantSchedule(0.1)(tf.scalar(7)).dataSync()[0]! - 0.1) < 1e-8);
 * ```
 */
export function constantSchedule(value: number): Schedule {
  finite("constantSchedule", "value", value);
  return withBounds(() => tf.scalar(value, "float32"), value, value);
}

/**
 * Starts at `initValue`; from step `b` on, multiplies by `boundariesAndScales[b]`.
 *
 * @param initValue The value before the first boundary.
 * @param boundariesAndScales Step boundaries and the factor applied at each.
 * @returns The schedule.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { piecewiseConstantSchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = piecewiseConstantSchedule(1, { 10: 0.1, 20: 0.1 });
 * assert.ok(Math.abs(s(tf.scalar(25)).dataSync()[0]! - 0.01) < 1e-8);
 * ```
 */
export function piecewiseConstantSchedule(
  initValue: number,
  boundariesAndScales: Readonly<Record<number, number>>,
): Schedule {
  const where = "piecewiseConstantSchedule";
  finite(where, "initValue", initValue);
  const steps = Object.entries(boundariesAndScales).map(([b, s]) => {
    const boundary = Number(b);
    if (!Number.isInteger(boundary) || boundary < 0) {
      throw new RangeError(
        `${where}: boundary ${b} must be a non-negative integer`,
      );
    }
    finite(where, `scale at ${b}`, s);
    return [boundary, s] as const;
  }).sort((a, b) => a[0] - b[0]);
  let lo = initValue, hi = initValue, at = initValue;
  for (const [, s] of steps) {
    at *= s;
    lo = Math.min(lo, at);
    hi = Math.max(hi, at);
  }
  return withBounds(
    (count) => {
      let v: tf.Tensor = tf.scalar(initValue, "float32");
      for (const [boundary, s] of steps) {
        v = tf.where(tf.greaterEqual(count, boundary), tf.mul(v, s), v);
      }
      return v as tf.Scalar;
    },
    lo,
    hi,
  );
}

/** Options of {@linkcode linearSchedule}. */
export interface LinearScheduleOptions {
  /** Value before and at `transitionBegin`. */
  initValue: number;
  /** Value from `transitionBegin + transitionSteps` on. */
  endValue: number;
  /** Steps of the linear ramp. */
  transitionSteps: number;
  /** Steps to hold `initValue` first. Default 0. */
  transitionBegin?: number;
}

/**
 * A linear ramp from `initValue` to `endValue` over `transitionSteps`.
 *
 * @param options The values and step counts.
 * @returns The schedule.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { linearSchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = linearSchedule({ initValue: 1, endValue: 0, transitionSteps: 4 });
 * assert.equal(s(tf.scalar(1)).dataSync()[0], 0.75);
 * assert.equal(s(tf.scalar(9)).dataSync()[0], 0);
 * ```
 */
export function linearSchedule(options: LinearScheduleOptions): Schedule {
  const where = "linearSchedule";
  scheduleOptions(where, options, {
    initValue: "number",
    endValue: "number",
    transitionSteps: "number",
    transitionBegin: "number",
  });
  const { initValue, endValue, transitionSteps, transitionBegin = 0 } = options;
  finite(where, "initValue", initValue);
  finite(where, "endValue", endValue);
  finite(where, "endValue - initValue", endValue - initValue);
  positiveInt(where, "transitionSteps", transitionSteps);
  nonNegativeInt(where, "transitionBegin", transitionBegin);
  return withBounds(
    (count) => {
      const t = tf.div(
        tf.minimum(
          tf.maximum(tf.sub(count, transitionBegin), 0),
          transitionSteps,
        ),
        transitionSteps,
      );
      return tf.add(initValue, tf.mul(endValue - initValue, t)) as tf.Scalar;
    },
    initValue,
    endValue,
  );
}

/**
 * Runs `schedules[i]` from `boundaries[i - 1]` on, each counting from 0 at
 * its own start (optax `join_schedules`).
 *
 * @param schedules The schedules, one more than the boundaries.
 * @param boundaries Increasing step boundaries.
 * @returns The joined schedule.
 *
 * @example Hold, then decay
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { constantSchedule, joinSchedules, linearSchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = joinSchedules(
 *   [constantSchedule(1), linearSchedule({ initValue: 1, endValue: 0, transitionSteps: 10 })],
 *   [5],
 * );
 * assert.equal(s(tf.scalar(10)).dataSync()[0], 0.5);
 * ```
 */
export function joinSchedules(
  schedules: readonly Schedule[],
  boundaries: readonly number[],
): Schedule {
  const where = "joinSchedules";
  if (schedules.length !== boundaries.length + 1) {
    throw new RangeError(
      `${where}: needs one more schedule than boundaries, got ${schedules.length} and ${boundaries.length}`,
    );
  }
  boundaries.forEach((b, i) => {
    if (!Number.isInteger(b) || b < 0 || (i > 0 && b <= boundaries[i - 1]!)) {
      throw new RangeError(
        `${where}: boundaries must be increasing non-negative integers, got [${boundaries}]`,
      );
    }
  });
  const joined: Schedule = (count) => {
    let v = schedules[0]!(count) as tf.Tensor;
    boundaries.forEach((b, i) => {
      v = tf.where(
        tf.greaterEqual(count, b),
        schedules[i + 1]!(tf.sub(count, b) as tf.Scalar),
        v,
      );
    });
    return v as tf.Scalar;
  };
  // bounded when every part is
  const parts = schedules.map((x) => boundsOf(x));
  if (parts.some((b) => b === undefined)) return joined;
  const all = parts.flatMap((b) => [...b!]);
  return withBounds(joined, Math.min(...all), Math.max(...all));
}
