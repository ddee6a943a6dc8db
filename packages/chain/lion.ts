/**
 * Lion (EvoLved Sign Momentum, Chen et al. 2023), as a transform
 * ({@linkcode scaleByLion}) and as an optimizer ({@linkcode lion}).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { checkOptions, type OptionKind } from "./_check.ts";
import { lerp } from "./_per_param.ts";
import { alias, DECAY_KINDS, type GcOptions, withGc } from "./_optimizer.ts";
import { elementwise, sign, sub } from "./expr.ts";
import type {
  GradientTransformation,
  Hyper,
  Mask,
  PerParam,
  ScalarOrSchedule,
} from "./types.ts";

/** Options of {@linkcode scaleByLion}. */
export interface ScaleByLionOptions {
  /** Weight of the momentum in the interpolation whose sign is the update. Default 0.9. */
  b1?: Hyper;
  /** Decay of the momentum. Default 0.99. */
  b2?: Hyper;
}

/** State of {@linkcode scaleByLion}: a step count and the momentum per parameter (optax's). */
export interface ScaleByLionState {
  /** Steps taken (float32 scalar). */
  count: tf.Scalar;
  /** The momentum `m`, keyed by parameter name. */
  mu: PerParam;
}

/**
 * Rescales updates by Lion's rule: with `m` the momentum before the step,
 * the update is `sign(b1 m + (1 - b1) g)` (each component -1, 0 or 1) and
 * the momentum becomes `b2 m + (1 - b2) g`. Two decays: the update
 * interpolates with `b1`, the momentum tracks with `b2`. This is optax's
 * `scale_by_lion` (its default "hard" sign).
 *
 * Reference: X. Chen, C. Liang, D. Huang, E. Real, K. Wang, Y. Liu, H. Pham,
 * X. Dong, T. Luong, C.-J. Hsieh, Y. Lu, Q. V. Le, "Symbolic Discovery of
 * Optimization Algorithms", NeurIPS 2023, arXiv:2302.06675 (Program 1).
 *
 * @param options The two decays.
 * @returns A transformation with a count and a momentum per parameter.
 * @throws {TypeError} For an unknown option or one of the wrong kind.
 * @throws {RangeError} For a decay outside `[0, 1]`.
 *
 * @example The first update is the sign of the gradient
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByLion } from "@centra/chain/lion";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByLion();
 * const [u, s] = tx.update({ w: tf.tensor1d([-4, 0.5]) }, tx.init({ w: tf.zeros([2]) }));
 * assert.deepEqual(Array.from(u.w!.dataSync()), [-1, 1]);
 * // the momentum took (1 - b2) g
 * const m = s.mu.w!.dataSync();
 * assert.ok(Math.abs(m[0]! + 0.04) < 1e-7 && Math.abs(m[1]! - 0.005) < 1e-7);
 * ```
 */
export function scaleByLion(
  options: ScaleByLionOptions = {},
): GradientTransformation<ScaleByLionState> {
  const where = "scaleByLion";
  checkOptions(where, options, LION_KINDS);
  const { b1 = 0.9, b2 = 0.99 } = options;
  return elementwise({
    where,
    hypers: {
      b1: [b1, { min: 0, max: 1 }],
      b2: [b2, { min: 0, max: 1 }],
    },
    slots: { mu: 0 },
    // optax's state keeps a step count
    counts: true,
    math: ({ g, hypers: h, slots: s }) => ({
      update: sign(lerp(h.b1, s.mu, sub(1, h.b1), g)),
      slots: { mu: lerp(h.b2, s.mu, sub(1, h.b2), g) },
    }),
  }) as GradientTransformation<ScaleByLionState>;
}

/** The options of {@linkcode scaleByLion} and the kind of each. */
const LION_KINDS: Readonly<Record<string, OptionKind>> = {
  b1: "hyper",
  b2: "hyper",
};

/**
 * The options {@linkcode lion} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const LION_OPTIONS: Readonly<Record<string, OptionKind>> = withGc({
  ...LION_KINDS,
  ...DECAY_KINDS,
});

/** Options of {@linkcode lion}. */
export interface LionOptions extends ScaleByLionOptions, GcOptions {
  /**
   * Decoupled weight decay λ, multiplied by the learning rate:
   * `w ← w - lr (sign(c) + λ w)`. Default 1e-3 (optax); Lion wants a λ 3 to
   * 10 times AdamW's for a learning rate 3 to 10 times smaller.
   */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * Lion: `chain(scaleByLion(), addDecayedWeights(weightDecay),
 * scaleByLearningRate(lr))`, as optax's `lion`: `w ← w - lr (sign(b1 m +
 * (1 - b1) g) + λ w)`, then `m ← b2 m + (1 - b2) g`. With GC on the
 * gradient (default) both the sign and the momentum see `Pg`; with
 * `gcOn: "update"` the signs are centralized. The decay is never
 * centralized (decoupled, as AdamW's).
 *
 * Reference: X. Chen et al., "Symbolic Discovery of Optimization
 * Algorithms", NeurIPS 2023, arXiv:2302.06675.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Decays, weight decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode LION_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example Every coordinate moves by lr (plus the decay)
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, lion, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.tensor1d([1, 1]) };
 * const tx = lion(0.01, { weightDecay: 0.5 });
 * const [u] = runUpdate(tx, { w: tf.tensor1d([3, -0.2]) }, initState(tx, params), params);
 * const want = [-0.01 * (1 + 0.5), -0.01 * (-1 + 0.5)];
 * u.w!.dataSync().forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-7));
 * ```
 */
export function lion(
  learningRate: ScalarOrSchedule,
  options: LionOptions = {},
): GradientTransformation<unknown[]> {
  return alias("lion", learningRate, options, LION_OPTIONS, scaleByLion, {
    weightDecay: 1e-3,
  });
}
