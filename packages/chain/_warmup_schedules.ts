// Private: the schedules that warm up, then hold or decay (warmup cosine,
// warmup constant, warmup exponential, SGDR's restarts), re-exported by
// `schedules.ts`.
import { boundsOf, withBounds } from "./_check.ts";
import { joinSchedules, linearSchedule } from "./_join_schedules.ts";
import {
  cosine,
  finite,
  nonNegativeInt,
  positiveInt,
  scheduleOptions,
} from "./_schedule_checks.ts";
import {
  type ExponentialDecayOptions,
  exponentialDecaySchedule,
} from "./_exponential_schedules.ts";
import type { Schedule } from "./types.ts";

/** Options of {@linkcode warmupCosineDecaySchedule}. */
export interface WarmupCosineDecayOptions {
  /** Value at step 0. */
  initValue: number;
  /** Value at the end of the warm-up. */
  peakValue: number;
  /** Steps of linear warm-up; 0 starts the cosine at `peakValue` at once. */
  warmupSteps: number;
  /** Total steps, warm-up included (as optax). */
  decaySteps: number;
  /** Value at the end. Default 0. */
  endValue?: number;
  /** The power of the cosine factor (as {@linkcode CosineDecayOptions}). Default 1. */
  exponent?: number;
}

/** A warm-up ramp joined at `warmupSteps` to `after` (just `after` without one). */
function warmedUp(
  initValue: number,
  peakValue: number,
  warmupSteps: number,
  after: Schedule,
): Schedule {
  if (warmupSteps === 0) return after;
  return joinSchedules([
    linearSchedule({
      initValue,
      endValue: peakValue,
      transitionSteps: warmupSteps,
    }),
    after,
  ], [warmupSteps]);
}

/**
 * Linear warm-up from `initValue` to `peakValue`, then cosine decay to
 * `endValue` at step `decaySteps` (warm-up included): optax
 * `warmup_cosine_decay_schedule`, `exponent` included.
 *
 * @param options The values, step counts and exponent.
 * @returns The schedule.
 * @throws {TypeError} For an unknown option or one that is not a number.
 * @throws {RangeError} For a value not finite in float32, `warmupSteps` not
 * a non-negative integer, `decaySteps` not above it, or an `exponent` not
 * above 0.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { warmupCosineDecaySchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = warmupCosineDecaySchedule({ initValue: 0, peakValue: 1, warmupSteps: 10, decaySteps: 110 });
 * assert.ok(Math.abs(s(tf.scalar(5)).dataSync()[0]! - 0.5) < 1e-6);
 * assert.ok(Math.abs(s(tf.scalar(60)).dataSync()[0]! - 0.5) < 1e-6);
 * ```
 */
export function warmupCosineDecaySchedule(
  options: WarmupCosineDecayOptions,
): Schedule {
  return warmupCosine("warmupCosineDecaySchedule", options);
}

function warmupCosine(
  where: string,
  options: WarmupCosineDecayOptions,
): Schedule {
  scheduleOptions(where, options, {
    initValue: "number",
    peakValue: "number",
    warmupSteps: "number",
    decaySteps: "number",
    endValue: "number",
    exponent: "number",
  });
  const {
    initValue,
    peakValue,
    warmupSteps,
    decaySteps,
    endValue = 0,
    exponent = 1,
  } = options;
  finite(where, "initValue", initValue);
  finite(where, "peakValue", peakValue);
  finite(where, "endValue", endValue);
  finite(where, "peakValue - initValue", peakValue - initValue);
  finite(where, "peakValue - endValue", peakValue - endValue);
  finite(where, "exponent", exponent, { min: 0, minOpen: true });
  nonNegativeInt(where, "warmupSteps", warmupSteps);
  positiveInt(where, "decaySteps", decaySteps);
  if (decaySteps <= warmupSteps) {
    throw new RangeError(
      `${where}: decaySteps (${decaySteps}) must exceed warmupSteps (${warmupSteps})`,
    );
  }
  const joined = warmedUp(
    initValue,
    peakValue,
    warmupSteps,
    (count) =>
      cosine(count, peakValue, endValue, decaySteps - warmupSteps, exponent),
  );
  const values = warmupSteps === 0
    ? [peakValue, endValue]
    : [initValue, peakValue, endValue];
  return withBounds(joined, Math.min(...values), Math.max(...values));
}

/** Options of {@linkcode warmupConstantSchedule}. */
export interface WarmupConstantOptions {
  /** Value at step 0. */
  initValue: number;
  /** Value from the end of the warm-up on. */
  peakValue: number;
  /** Steps of linear warm-up. */
  warmupSteps: number;
}

/**
 * Linear warm-up from `initValue` to `peakValue` over `warmupSteps`, then
 * `peakValue` for good (optax `warmup_constant_schedule`).
 *
 * @param options The values and the warm-up's length.
 * @returns The schedule.
 * @throws {TypeError} For an unknown option or one that is not a number.
 * @throws {RangeError} For a value not finite in float32 or `warmupSteps`
 * not a positive integer.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { warmupConstantSchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = warmupConstantSchedule({ initValue: 0, peakValue: 0.1, warmupSteps: 4 });
 * assert.ok(Math.abs(s(tf.scalar(1)).dataSync()[0]! - 0.025) < 1e-8);
 * assert.ok(Math.abs(s(tf.scalar(100)).dataSync()[0]! - 0.1) < 1e-8);
 * ```
 */
export function warmupConstantSchedule(
  options: WarmupConstantOptions,
): Schedule {
  const where = "warmupConstantSchedule";
  scheduleOptions(where, options, {
    initValue: "number",
    peakValue: "number",
    warmupSteps: "number",
  });
  positiveInt(where, "warmupSteps", options.warmupSteps);
  try {
    return linearSchedule({
      initValue: options.initValue,
      endValue: options.peakValue,
      transitionSteps: options.warmupSteps,
    });
  } catch (e) {
    throw renamed(e, "linearSchedule", where, { endValue: "peakValue" });
  }
}

/** An error of `from` re-addressed to `to`, with option names translated. */
function renamed(
  e: unknown,
  from: string,
  to: string,
  names: Readonly<Record<string, string>>,
): unknown {
  if (!(e instanceof Error)) return e;
  let message = e.message.replace(`${from}:`, `${to}:`);
  for (const [a, b] of Object.entries(names)) {
    message = message.replaceAll(a, b);
  }
  return e instanceof RangeError
    ? new RangeError(message)
    : e instanceof TypeError
    ? new TypeError(message)
    : e;
}

/** Options of {@linkcode warmupExponentialDecaySchedule}. */
export interface WarmupExponentialDecayOptions extends ExponentialDecayOptions {
  /** Value at step 0. */
  initValue: number;
  /** Value at the end of the warm-up, where the decay starts. */
  peakValue: number;
  /** Steps of linear warm-up. */
  warmupSteps: number;
}

/**
 * Linear warm-up from `initValue` to `peakValue` over `warmupSteps`, then
 * {@linkcode exponentialDecaySchedule} from `peakValue`, counting from the
 * end of the warm-up (optax `warmup_exponential_decay_schedule`).
 *
 * @param options The values, the warm-up and the decay's options.
 * @returns The schedule.
 * @throws {TypeError} For an unknown option or one of the wrong kind.
 * @throws {RangeError} For a value not finite in float32, `warmupSteps` or
 * `transitionSteps` not a positive integer, a negative `decayRate` or a
 * `transitionBegin` not a non-negative integer.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { warmupExponentialDecaySchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = warmupExponentialDecaySchedule({
 *   initValue: 0, peakValue: 1, warmupSteps: 10, transitionSteps: 5, decayRate: 0.5,
 * });
 * assert.ok(Math.abs(s(tf.scalar(5)).dataSync()[0]! - 0.5) < 1e-7);
 * assert.ok(Math.abs(s(tf.scalar(20)).dataSync()[0]! - 0.25) < 1e-7);
 * ```
 */
export function warmupExponentialDecaySchedule(
  options: WarmupExponentialDecayOptions,
): Schedule {
  const where = "warmupExponentialDecaySchedule";
  scheduleOptions(where, options, {
    initValue: "number",
    peakValue: "number",
    warmupSteps: "number",
    transitionSteps: "number",
    decayRate: "number",
    transitionBegin: "number",
    staircase: "boolean",
    endValue: "number",
  });
  const { initValue, peakValue, warmupSteps, ...decay } = options;
  finite(where, "initValue", initValue);
  finite(where, "peakValue - initValue", peakValue - initValue);
  positiveInt(where, "warmupSteps", warmupSteps);
  let after: Schedule;
  try {
    after = exponentialDecaySchedule(peakValue, decay);
  } catch (e) {
    throw renamed(e, "exponentialDecaySchedule", where, {
      initValue: "peakValue",
    });
  }
  const joined = warmedUp(initValue, peakValue, warmupSteps, after);
  const [lo, hi] = boundsOf(after)!;
  return withBounds(
    joined,
    Math.min(initValue, lo),
    Math.max(initValue, hi),
  );
}

/**
 * SGDR, cosine decay with warm restarts (Loshchilov and Hutter, "SGDR:
 * Stochastic Gradient Descent with Warm Restarts", ICLR 2017,
 * arXiv:1608.03983): the cycles run one after another, each a
 * {@linkcode warmupCosineDecaySchedule} of its own options counting from 0
 * at its start and lasting its `decaySteps`; after the last cycle its end
 * value holds (optax `sgdr_schedule`, whose `cosine_kwargs` are `cycles`).
 *
 * @param cycles Each cycle's options (its `warmupSteps` may be 0).
 * @returns The schedule.
 * @throws {TypeError} If `cycles` is not a non-empty array, or a cycle's
 * options are bad (named with the cycle's index).
 * @throws {RangeError} For a cycle's value out of range (named with the
 * cycle's index).
 *
 * @example Two cycles of 10 steps, the second restarting at half height
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { sgdrSchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const s = sgdrSchedule([
 *   { initValue: 1, peakValue: 1, warmupSteps: 0, decaySteps: 10 },
 *   { initValue: 0.5, peakValue: 0.5, warmupSteps: 0, decaySteps: 10 },
 * ]);
 * assert.ok(Math.abs(s(tf.scalar(5)).dataSync()[0]! - 0.5) < 1e-6);
 * assert.ok(Math.abs(s(tf.scalar(10)).dataSync()[0]! - 0.5) < 1e-6);
 * assert.ok(Math.abs(s(tf.scalar(15)).dataSync()[0]! - 0.25) < 1e-6);
 * ```
 */
export function sgdrSchedule(
  cycles: readonly WarmupCosineDecayOptions[],
): Schedule {
  const where = "sgdrSchedule";
  if (!Array.isArray(cycles) || cycles.length === 0) {
    throw new TypeError(
      `${where}: cycles must be a non-empty array of warmupCosineDecaySchedule options, got ${
        Array.isArray(cycles) ? "[]" : String(cycles)
      }`,
    );
  }
  const schedules = cycles.map((c, i) =>
    warmupCosine(`${where}: cycles[${i}]`, c)
  );
  const boundaries: number[] = [];
  let at = 0;
  for (const c of cycles.slice(0, -1)) {
    at += c.decaySteps;
    boundaries.push(at);
  }
  return joinSchedules(schedules, boundaries);
}
