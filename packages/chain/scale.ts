import * as tf from "@tensorflow/tfjs";
import { checkHyper } from "./_check.ts";
import { elementwise, mul, neg } from "./expr.ts";
import type { EmptyState } from "./identity.ts";
import type {
  GradientTransformation,
  Hyper,
  ScalarOrSchedule,
  Schedule,
} from "./types.ts";

/**
 * Multiplies every update by a constant.
 *
 * @param step The factor: a finite number or a scalar tensor.
 * @returns A stateless transformation.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scale } from "@centra/chain/scale";
 * import assert from "node:assert/strict";
 *
 * const [u] = scale(-2).update({ w: tf.tensor1d([1, 3]) }, {});
 * assert.deepEqual(Array.from(u.w!.dataSync()), [-2, -6]);
 * ```
 */
export function scale(step: Hyper): GradientTransformation<EmptyState> {
  return elementwise({
    where: "scale",
    hypers: { step },
    math: ({ g, hypers: h }) => ({ update: mul(g, h.step) }),
  }) as GradientTransformation<EmptyState>;
}

/** State of a transform driven by a schedule: the step count. */
export interface ScheduleState {
  /** Steps taken so far (float32 scalar). */
  count: tf.Scalar;
}

/**
 * Multiplies every update by `schedule(count)`, then counts the step.
 *
 * @param schedule The step-dependent factor.
 * @returns A transformation whose state is the step count.
 *
 * @example Halve updates after the first step
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleBySchedule } from "@centra/chain/scale";
 * import { piecewiseConstantSchedule } from "@centra/chain/schedules";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleBySchedule(piecewiseConstantSchedule(1, { 1: 0.5 }));
 * let s = tx.init({});
 * let u;
 * [u, s] = tx.update({ w: tf.tensor1d([4]) }, s);
 * assert.equal(u.w!.dataSync()[0], 4);
 * [u, s] = tx.update({ w: tf.tensor1d([4]) }, s);
 * assert.equal(u.w!.dataSync()[0], 2);
 * ```
 */
export function scaleBySchedule(
  schedule: Schedule,
): GradientTransformation<ScheduleState> {
  if (typeof schedule !== "function") {
    throw new TypeError(
      `scaleBySchedule: schedule must be a function of the step count, got ${
        String(schedule)
      }`,
    );
  }
  // a schedule is evaluated at the count before the step (0 at the first)
  return elementwise({
    where: "scaleBySchedule",
    hypers: { factor: [schedule, { schedule: true }] },
    math: ({ g, hypers: h }) => ({ update: mul(g, h.factor) }),
  }) as GradientTransformation<ScheduleState>;
}

/**
 * Scales updates by `-learningRate`: the last step of every optimizer, so
 * that `applyUpdates` adds the result to the parameters.
 *
 * @param learningRate A non-negative number, a scalar tensor, or a schedule.
 * @returns A transformation: stateless for a constant, counting steps for a
 * schedule.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByLearningRate } from "@centra/chain/scale";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByLearningRate(0.5);
 * const [u] = tx.update({ w: tf.tensor1d([2]) }, tx.init({}));
 * assert.equal(u.w!.dataSync()[0], -1);
 * ```
 */
export function scaleByLearningRate(
  learningRate: ScalarOrSchedule,
): GradientTransformation<LearningRateState> {
  checkHyper("scaleByLearningRate", "learningRate", learningRate, { min: 0 });
  if (typeof learningRate === "function") {
    return scaleBySchedule((count) =>
      tf.neg(learningRate(count))
    ) as GradientTransformation<LearningRateState>;
  }
  return elementwise({
    where: "scaleByLearningRate",
    hypers: { learningRate: [learningRate, { min: 0 }] },
    math: ({ g, hypers: h }) => ({ update: mul(g, neg(h.learningRate)) }),
  }) as GradientTransformation<LearningRateState>;
}

/** State of {@linkcode scaleByLearningRate}: empty, or a step count for a schedule. */
export type LearningRateState = EmptyState | ScheduleState;
