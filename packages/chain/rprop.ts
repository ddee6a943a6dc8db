/**
 * Rprop: resilient backpropagation (Riedmiller and Braun 1993), as a
 * transform ({@linkcode scaleByRprop}) and as an optimizer
 * ({@linkcode rprop}).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import {
  checkHyperNumber,
  checkOptions,
  checkPlainHyper,
  type OptionKind,
} from "./_check.ts";
import { build, defined, type GcOptions, withGc } from "./_optimizer.ts";
import {
  add,
  elementwise,
  gt,
  max,
  min,
  mul,
  select,
  sign,
  sub,
} from "./expr.ts";
import { scale } from "./scale.ts";
import type {
  GradientTransformation,
  Hyper,
  PerParam,
  ScalarOrSchedule,
} from "./types.ts";

/** Options of {@linkcode scaleByRprop}. */
export interface ScaleByRpropOptions {
  /** Factor of a step size whose gradient changed sign, in `[0, 1]`. Default 0.5. */
  etaMinus?: Hyper;
  /** Factor of a step size whose gradient kept its sign, at least 1. Default 1.2. */
  etaPlus?: Hyper;
  /** The least step size. Default 1e-6. */
  minStepSize?: Hyper;
  /** The greatest step size. Default 50. */
  maxStepSize?: Hyper;
}

/** State of {@linkcode scaleByRprop}: a step count, and per parameter the step sizes and the last update. */
export interface ScaleByRpropState {
  /** Steps taken (float32 scalar). */
  count: tf.Scalar;
  /** Each element's step size (0 before the first step, which starts at the learning rate). */
  stepSizes: PerParam;
  /** The last update, `step · sign(g)` (0 where the sign flipped). */
  prevUpdates: PerParam;
}

/**
 * `scaleByRprop`'s arguments, checked (a schedule as the learning rate is
 * refused by name), with the defaults filled in.
 */
function checkRprop(
  where: string,
  learningRate: Hyper,
  options: ScaleByRpropOptions,
): Required<ScaleByRpropOptions> {
  checkOptions(where, options, {
    etaMinus: "hyper",
    etaPlus: "hyper",
    minStepSize: "hyper",
    maxStepSize: "hyper",
  });
  // a JS caller (or rprop) may pass a schedule: refused by name
  if (typeof (learningRate as unknown) === "function") {
    throw new TypeError(
      `${where}: learningRate is the initial step size, a number or a scalar tensor; it cannot be a schedule`,
    );
  }
  checkPlainHyper(where, "learningRate", learningRate, { min: 0 });
  const {
    etaMinus = 0.5,
    etaPlus = 1.2,
    minStepSize = 1e-6,
    maxStepSize = 50,
  } = options;
  if (typeof minStepSize === "number" && typeof maxStepSize === "number") {
    checkHyperNumber(where, "minStepSize", minStepSize, { min: 0 });
    checkHyperNumber(where, "maxStepSize", maxStepSize, { min: minStepSize });
  }
  return { etaMinus, etaPlus, minStepSize, maxStepSize };
}

/**
 * Rescales updates by Rprop's rule, per element: with `s = g · p` for `p`
 * the last update, the step size `δ` (the learning rate at the first step)
 * becomes `clip(δ η₊)` where `s > 0`, `clip(δ η₋)` where `s < 0`, and stays
 * where `s = 0`, `clip` to `[minStepSize, maxStepSize]`; the update is `δ
 * sign(g)`, or 0 where `s < 0` (and that 0 is what the next step compares
 * with, so a flip is not punished twice). This is optax's `scale_by_rprop`
 * and PyTorch's `Rprop` (Rprop without weight backtracking, "Rprop⁻" of
 * Igel and Hüsken), with one difference from optax 0.2.x: the update is the
 * one just computed, where optax returns the previous step's (its first
 * update is 0; reported as google-deepmind/optax#1725).
 *
 * The learning rate is read at the first step only; the step sizes adapt
 * on their own after that.
 *
 * Reference: M. Riedmiller, H. Braun, "A Direct Adaptive Method for Faster
 * Backpropagation Learning: The RPROP Algorithm", IEEE ICNN 1993,
 * doi:10.1109/ICNN.1993.298623; C. Igel, M. Hüsken, "Empirical evaluation
 * of the improved Rprop learning algorithms", Neurocomputing 50, 2003.
 *
 * @param learningRate The initial step size: a non-negative number or
 * scalar tensor.
 * @param options The factors and the step-size bounds.
 * @returns A transformation with a count, step sizes and the last update.
 * @throws {TypeError} For an unknown option or one of the wrong kind, or a
 * learning rate that is a schedule.
 * @throws {RangeError} For a value out of its range, or `maxStepSize`
 * below `minStepSize`.
 *
 * @example The step grows while the sign holds, and is skipped at a flip
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByRprop } from "@centra/chain/rprop";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByRprop(0.1);
 * let s = tx.init({ w: tf.zeros([1]) });
 * const got: number[] = [];
 * for (const g of [1, 1, 1, -1, 1]) {
 *   let u;
 *   [u, s] = tx.update({ w: tf.tensor1d([g]) }, s);
 *   got.push(u.w!.dataSync()[0]!);
 * }
 * const want = [0.1, 0.12, 0.144, 0, 0.072];
 * got.forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-7));
 * ```
 */
export function scaleByRprop(
  learningRate: Hyper,
  options: ScaleByRpropOptions = {},
): GradientTransformation<ScaleByRpropState> {
  const where = "scaleByRprop";
  const { etaMinus, etaPlus, minStepSize, maxStepSize } = checkRprop(
    where,
    learningRate,
    options,
  );
  return elementwise({
    where,
    hypers: {
      learningRate: [learningRate, { min: 0 }],
      etaMinus: [etaMinus, { min: 0, max: 1 }],
      etaPlus: [etaPlus, { min: 1 }],
      minStepSize: [minStepSize, { min: 0 }],
      maxStepSize: [maxStepSize, { min: 0 }],
    },
    slots: { stepSizes: 0, prevUpdates: 0 },
    math: ({ g, count, hypers: h, slots: s }) => {
      // the first step starts from the learning rate (a tensor may be
      // injected): first is 1 at step 1 and 0 after, so `last` is exactly
      // lr, then exactly the slot. Arithmetic, not a select on a per-step
      // scalar, which @centra/webgpu's shaders cannot take as a condition.
      const first = min(max(sub(2, count), 0), 1);
      const last = add(
        s.stepSizes,
        mul(first, sub(h.learningRate, s.stepSizes)),
      );
      const clip = (x: ReturnType<typeof mul>) =>
        min(max(x, h.minStepSize), h.maxStepSize);
      const agree = mul(g, s.prevUpdates);
      const flipped = gt(0, agree);
      const step = select(gt(agree, 0), {
        then: clip(mul(last, h.etaPlus)),
        otherwise: select(flipped, {
          then: clip(mul(last, h.etaMinus)),
          otherwise: last,
        }),
      });
      const update = select(flipped, {
        then: mul(g, 0),
        otherwise: mul(step, sign(g)),
      });
      return { update, slots: { stepSizes: step, prevUpdates: update } };
    },
  }) as GradientTransformation<ScaleByRpropState>;
}

/**
 * The options {@linkcode rprop} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const RPROP_OPTIONS: Readonly<Record<string, OptionKind>> = withGc({
  etaMinus: "hyper",
  etaPlus: "hyper",
  minStepSize: "hyper",
  maxStepSize: "hyper",
});

/** Options of {@linkcode rprop}. */
export interface RpropOptions extends ScaleByRpropOptions, GcOptions {}

/**
 * Rprop: `chain(scaleByRprop(lr), scale(-1))`, as optax's `rprop` (and
 * PyTorch's `Rprop`, whose defaults it shares: η₋ 0.5, η₊ 1.2, step sizes
 * in `[1e-6, 50]`): each weight moves against the sign of its gradient by
 * a step size of its own, grown while the sign holds and shrunk at a flip.
 * With GC on the gradient (default) the signs are those of `Pg`; with
 * `gcOn: "update"` the steps are centralized. Meant for full-batch
 * training: minibatch noise flips signs and shrinks the steps.
 *
 * Reference: M. Riedmiller, H. Braun, "A Direct Adaptive Method for Faster
 * Backpropagation Learning: The RPROP Algorithm", IEEE ICNN 1993.
 *
 * @param learningRate The initial step size: a non-negative number or
 * scalar tensor (read at the first step only).
 * @param options Factors, step-size bounds and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode RPROP_OPTIONS}), or a
 * learning rate that is a schedule.
 * @throws {RangeError} For a value out of its range.
 *
 * @example The first step is lr against the gradient's sign
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, rprop, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2]) };
 * const tx = rprop(0.01);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([5, -0.1]) }, initState(tx, params), params);
 * assert.deepEqual(Array.from(u.w!.dataSync()), [-0.01, 0.01].map(Math.fround));
 * ```
 */
export function rprop(
  learningRate: ScalarOrSchedule,
  options: RpropOptions = {},
): GradientTransformation<unknown[]> {
  checkOptions("rprop", options, RPROP_OPTIONS);
  return build("rprop", options, {
    scaling: [
      scaleByRprop(
        // a schedule is refused there, by name
        learningRate as Hyper,
        defined(options, ["etaMinus", "etaPlus", "minStepSize", "maxStepSize"]),
      ),
    ],
    after: [scale(-1)],
  });
}
