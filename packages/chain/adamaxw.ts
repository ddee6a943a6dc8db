/**
 * AdamaxW: Adamax with decoupled weight decay ({@linkcode adamaxw}), optax's
 * `adamaxw`.
 *
 * @module
 */
import type { OptionKind } from "./_check.ts";
import { alias, DECAY_KINDS, type GcOptions, withGc } from "./_optimizer.ts";
import {
  ADAMAX_OPTIONS,
  scaleByAdamax,
  type ScaleByAdamaxOptions,
} from "./adamax.ts";
import type {
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "./types.ts";

/**
 * The options {@linkcode adamaxw} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const ADAMAXW_OPTIONS: Readonly<Record<string, OptionKind>> = withGc({
  ...ADAMAX_OPTIONS,
  ...DECAY_KINDS,
});

/** Options of {@linkcode adamaxw}. */
export interface AdamaxwOptions extends ScaleByAdamaxOptions, GcOptions {
  /** Decoupled weight decay λ: `w ← w - lr (adamax(g) + λw)`. Default 1e-4 (optax). */
  weightDecay?: Hyper;
  /** Which parameters decay (default all), as optax's `mask`. */
  weightDecayMask?: Mask;
}

/**
 * AdamaxW: `chain(scaleByAdamax(), addDecayedWeights(λ, { mask }),
 * scaleByLearningRate(lr))`, as optax's `adamaxw`. At step `t`,
 * `m = b1 m + (1 - b1) g`, `u = max(b2 u, |g| + eps)` and the step is
 * `w ← w - lr (m / (1 - b1^t) / u + λ w)`. GC centralizes the raw gradient
 * (default) or Adamax's scaled update, never the decay term, as in `adamw`.
 *
 * Choices: optax's defaults (`b1` 0.9, `b2` 0.999, `eps` 1e-8 inside the
 * maximum, `weightDecay` 1e-4); the decay is multiplied by the learning rate
 * (optax, PyTorch), so a schedule scales it too.
 *
 * References: D. P. Kingma and J. Ba, "Adam: A Method for Stochastic
 * Optimization", ICLR 2015, arXiv:1412.6980, section 7.1; I. Loshchilov and
 * F. Hutter, "Decoupled Weight Decay Regularization", ICLR 2019,
 * arXiv:1711.05101.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, epsilon, weight decay and its mask, GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode ADAMAXW_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example The first step is `-lr (sign(g) + λ w)` (with `eps` 0)
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adamaxw, initState, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.tensor1d([2, -4]), b: tf.tensor1d([1]) };
 * const tx = adamaxw(0.01, {
 *   eps: 0,
 *   weightDecay: 0.5,
 *   weightDecayMask: { w: true, b: false },
 * });
 * const g = { w: tf.tensor1d([3, -0.5]), b: tf.tensor1d([2]) };
 * const [u] = runUpdate(tx, g, initState(tx, params), params);
 * // w: -0.01 (1 + 0.5 * 2), -0.01 (-1 + 0.5 * -4); b: masked out, -0.01 * 1
 * const want = { w: [-0.02, 0.03], b: [-0.01] };
 * for (const k of ["w", "b"] as const) {
 *   u[k]!.dataSync().forEach((x, i) => assert.ok(Math.abs(x - want[k][i]!) < 1e-7));
 * }
 * ```
 */
export function adamaxw(
  learningRate: ScalarOrSchedule,
  options: AdamaxwOptions = {},
): GradientTransformation<unknown[]> {
  return alias(
    "adamaxw",
    learningRate,
    options,
    ADAMAXW_OPTIONS,
    scaleByAdamax,
    { weightDecay: 1e-4 },
  );
}
