// Private: the schedules that interpolate between values at boundaries
// (piecewise interpolation and the one-cycle schedules built on it),
// re-exported by `schedules.ts`.
import * as tf from "@tensorflow/tfjs";
import { withBounds } from "./_check.ts";
import { finite, positiveInt, scheduleOptions } from "./_schedule_checks.ts";
import type { Schedule } from "./types.ts";

/** Options of {@linkcode piecewiseInterpolateSchedule}. */
export interface PiecewiseInterpolateOptions {
  /** `"linear"` or `"cosine"` interpolation between the boundaries' values. */
  interpolateType: "linear" | "cosine";
  /** The value at step 0. */
  initValue: number;
  /**
   * `{ step: scale }`: the value at `step` is the value at the boundary
   * before times `scale` (scales non-negative). Default none.
   */
  boundariesAndScales?: Readonly<Record<number, number>>;
}

/**
 * Interpolates, linearly or along a half cosine, between the values
 * `v_0 = initValue`, `v_i = v_(i-1) * s_i` at the boundaries `b_i` (with
 * `b_0 = 0`), and holds the last from the last boundary on (optax
 * `piecewise_interpolate_schedule`). Between `b_i` and `b_(i+1)`, with
 * `τ = (t - b_i) / max(b_(i+1) - b_i, 1)`: linear `v_i + (v_(i+1) - v_i) τ`,
 * cosine `v_(i+1) + (v_i - v_(i+1)) (1 + cos(π τ)) / 2`.
 *
 * @param options The interpolation, the value at 0 and the boundaries.
 * @returns The schedule.
 * @throws {TypeError} For an unknown option, an `interpolateType` other than
 * `"linear"` or `"cosine"`, or a scale that is not a number.
 * @throws {RangeError} For a boundary that is not a non-negative integer, a
 * negative scale, or a value not finite in float32.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { piecewiseInterpolateSchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = piecewiseInterpolateSchedule({
 *   interpolateType: "linear", initValue: 1, boundariesAndScales: { 4: 0.1, 8: 0.01 },
 * });
 * assert.ok(Math.abs(s(tf.scalar(2)).dataSync()[0]! - 0.55) < 1e-7);
 * assert.ok(Math.abs(s(tf.scalar(6)).dataSync()[0]! - 0.0505) < 1e-8);
 * assert.ok(Math.abs(s(tf.scalar(10)).dataSync()[0]! - 0.001) < 1e-9);
 * ```
 */
export function piecewiseInterpolateSchedule(
  options: PiecewiseInterpolateOptions,
): Schedule {
  return interpolate("piecewiseInterpolateSchedule", options);
}

function interpolate(
  where: string,
  options: PiecewiseInterpolateOptions,
): Schedule {
  scheduleOptions(where, options, {
    initValue: "number",
    boundariesAndScales: "object",
  }, { interpolateType: ["linear", "cosine"] });
  const { interpolateType, initValue, boundariesAndScales = {} } = options;
  if (interpolateType === undefined) {
    throw new TypeError(
      `${where}: interpolateType must be "linear" or "cosine", got undefined`,
    );
  }
  finite(where, "initValue", initValue);
  const { bounds, values } = boundaryValues(
    where,
    initValue,
    boundariesAndScales,
  );
  const between = interpolateType === "linear"
    ? (a: number, b: number, tau: tf.Tensor) => tf.add(a, tf.mul(b - a, tau))
    : (a: number, b: number, tau: tf.Tensor) =>
      tf.add(
        b,
        tf.mul((a - b) / 2, tf.add(tf.cos(tf.mul(Math.PI, tau)), 1)),
      );
  const n = bounds.length - 1;
  return withBounds(
    (count) => {
      let v: tf.Tensor = tf.scalar(initValue, "float32");
      for (let i = 0; i < n; i++) {
        const size = Math.max(bounds[i + 1]! - bounds[i]!, 1);
        const tau = tf.div(tf.sub(count, bounds[i]!), size);
        v = tf.where(
          tf.greaterEqual(count, bounds[i]!),
          between(values[i]!, values[i + 1]!, tau),
          v,
        );
      }
      return tf.where(
        tf.greaterEqual(count, bounds[n]!),
        values[n]!,
        v,
      ) as tf.Scalar;
    },
    Math.min(...values),
    Math.max(...values),
  );
}

/**
 * The boundaries (0 first) in order and the value at each, checked:
 * boundaries non-negative integers, scales and values finite.
 */
function boundaryValues(
  where: string,
  initValue: number,
  boundariesAndScales: Readonly<Record<number, number>>,
): { bounds: number[]; values: number[] } {
  const entries = Object.entries(boundariesAndScales).map(([b, s]) => {
    const boundary = Number(b);
    if (!Number.isInteger(boundary) || boundary < 0) {
      throw new RangeError(
        `${where}: boundary ${b} must be a non-negative integer`,
      );
    }
    finite(where, `scale at ${b}`, s, { min: 0 });
    return [boundary, s] as const;
  }).sort((a, b) => a[0] - b[0]);
  const bounds = [0, ...entries.map(([b]) => b)];
  const values = [initValue];
  for (const [b, s] of entries) {
    const v = values.at(-1)! * s;
    finite(where, `the value at ${b}`, v);
    values.push(v);
  }
  return { bounds, values };
}

/** Options of {@linkcode cosineOnecycleSchedule}. */
export interface CosineOnecycleOptions {
  /** Steps of the whole cycle. */
  transitionSteps: number;
  /** The value at the top of the cycle. */
  peakValue: number;
  /** The fraction of the cycle spent rising, in `[0, 1)`. Default 0.3. */
  pctStart?: number;
  /** The value at step 0 is `peakValue / divFactor`. Default 25. */
  divFactor?: number;
  /** The final value is `peakValue / (divFactor * finalDivFactor)`. Default 1e4. */
  finalDivFactor?: number;
}

/** A one-cycle schedule's options, checked, with their defaults. */
interface Onecycle {
  steps: number;
  peakValue: number;
  pctStart: number;
  divFactor: number;
  finalDivFactor: number;
}

/**
 * Checks the options both one-cycle schedules share (and the names of
 * `extra`, the linear one's `pctFinal`) and fills in their defaults.
 */
function onecycleOptions(
  where: string,
  options: CosineOnecycleOptions,
  extra: Readonly<Record<string, "number">> = {},
): Onecycle {
  scheduleOptions(where, options, {
    transitionSteps: "number",
    peakValue: "number",
    pctStart: "number",
    ...extra,
    divFactor: "number",
    finalDivFactor: "number",
  });
  const {
    transitionSteps: steps,
    peakValue,
    pctStart = 0.3,
    divFactor = 25,
    finalDivFactor = 1e4,
  } = options;
  positiveInt(where, "transitionSteps", steps);
  finite(where, "peakValue", peakValue);
  finite(where, "pctStart", pctStart, { min: 0, max: 1, maxOpen: true });
  finite(where, "divFactor", divFactor, { min: 0, minOpen: true });
  finite(where, "finalDivFactor", finalDivFactor, { min: 0, minOpen: true });
  return { steps, peakValue, pctStart, divFactor, finalDivFactor };
}

/**
 * {@linkcode piecewiseInterpolateSchedule} for a one-cycle schedule, its
 * errors addressed to `where`.
 */
function onecycleInterpolate(
  where: string,
  options: PiecewiseInterpolateOptions,
): Schedule {
  try {
    return interpolate("piecewiseInterpolateSchedule", options);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new RangeError(
      e.message.replace("piecewiseInterpolateSchedule:", `${where}:`),
    );
  }
}

/**
 * The one-cycle schedule (Smith and Topin, "Super-Convergence: Very Fast
 * Training of Neural Networks Using Large Learning Rates", 2017,
 * arXiv:1708.07120) with cosine phases, as optax's
 * `cosine_onecycle_schedule`: from `peakValue / divFactor` up to `peakValue`
 * at step `floor(pctStart * transitionSteps)`, then down to
 * `peakValue / (divFactor * finalDivFactor)` at `transitionSteps`, each
 * along a half cosine ({@linkcode piecewiseInterpolateSchedule}), then held.
 *
 * @param options The cycle's length, peak, and shape.
 * @returns The schedule.
 * @throws {TypeError} For an unknown option or one that is not a number.
 * @throws {RangeError} For `transitionSteps` not a positive integer,
 * `pctStart` outside `[0, 1)`, a factor not above 0, or a value not finite
 * in float32.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { cosineOnecycleSchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = cosineOnecycleSchedule({ transitionSteps: 100, peakValue: 1 });
 * assert.ok(Math.abs(s(tf.scalar(0)).dataSync()[0]! - 0.04) < 1e-7);
 * assert.ok(Math.abs(s(tf.scalar(30)).dataSync()[0]! - 1) < 1e-6);
 * assert.ok(Math.abs(s(tf.scalar(100)).dataSync()[0]! - 4e-6) < 1e-10);
 * ```
 */
export function cosineOnecycleSchedule(
  options: CosineOnecycleOptions,
): Schedule {
  const where = "cosineOnecycleSchedule";
  const { steps, peakValue, pctStart, divFactor, finalDivFactor } =
    onecycleOptions(where, options);
  return onecycleInterpolate(where, {
    interpolateType: "cosine",
    initValue: peakValue / divFactor,
    boundariesAndScales: {
      [Math.floor(pctStart * steps)]: divFactor,
      [steps]: 1 / (divFactor * finalDivFactor),
    },
  });
}

/** Options of {@linkcode linearOnecycleSchedule}. */
export interface LinearOnecycleOptions extends CosineOnecycleOptions {
  /**
   * The fraction of the cycle after which the value has come back down to
   * `peakValue / divFactor`, in `(pctStart, 1)`. Default 0.85.
   */
  pctFinal?: number;
}

/**
 * The one-cycle schedule with linear phases, as optax's
 * `linear_onecycle_schedule`: from `peakValue / divFactor` up to
 * `peakValue` at step `floor(pctStart * T)`, back down to
 * `peakValue / divFactor` at `floor(pctFinal * T)`, then down to
 * `peakValue / (divFactor * finalDivFactor)` at `T = transitionSteps`, each
 * phase a straight line, then held (Smith and Topin, arXiv:1708.07120).
 *
 * @param options The cycle's length, peak, and shape.
 * @returns The schedule.
 * @throws {TypeError} For an unknown option or one that is not a number.
 * @throws {RangeError} For `transitionSteps` not a positive integer,
 * `pctStart` outside `[0, 1)`, `pctFinal` outside `(pctStart, 1)` or on the
 * same step as `pctStart` or `transitionSteps`, a factor not above 0, or a
 * value not finite in float32.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { linearOnecycleSchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = linearOnecycleSchedule({ transitionSteps: 100, peakValue: 1 });
 * assert.ok(Math.abs(s(tf.scalar(15)).dataSync()[0]! - 0.52) < 1e-6);
 * assert.ok(Math.abs(s(tf.scalar(85)).dataSync()[0]! - 0.04) < 1e-7);
 * ```
 */
export function linearOnecycleSchedule(
  options: LinearOnecycleOptions,
): Schedule {
  const where = "linearOnecycleSchedule";
  const { steps, peakValue, pctStart, divFactor, finalDivFactor } =
    onecycleOptions(where, options, { pctFinal: "number" });
  const { pctFinal = 0.85 } = options;
  finite(where, "pctFinal", pctFinal, { min: 0, max: 1, maxOpen: true });
  const up = Math.floor(pctStart * steps);
  const down = Math.floor(pctFinal * steps);
  if (!(up < down && down < steps)) {
    throw new RangeError(
      `${where}: floor(pctStart * transitionSteps) (${up}) < floor(pctFinal * transitionSteps) (${down}) < transitionSteps (${steps}) must hold, got pctStart ${pctStart}, pctFinal ${pctFinal}`,
    );
  }
  return onecycleInterpolate(where, {
    interpolateType: "linear",
    initValue: peakValue / divFactor,
    boundariesAndScales: {
      [up]: divFactor,
      [down]: 1 / divFactor,
      [steps]: 1 / finalDivFactor,
    },
  });
}
