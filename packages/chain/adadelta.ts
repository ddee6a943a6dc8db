/**
 * Adadelta (Zeiler 2012), as a transform ({@linkcode scaleByAdadelta}) and
 * as an optimizer ({@linkcode adadelta}).
 *
 * @module
 */
import { checkOptions, checkPlainHyper, type OptionKind } from "./_check.ts";
import { divUnlessZero, lerp, type PerParam } from "./_per_param.ts";
import {
  build,
  DECAY_KINDS,
  decayOptions,
  defined,
  type GcOptions,
  on,
  withGc,
} from "./_optimizer.ts";
import { addDecayedWeights } from "./add_decayed_weights.ts";
import { add, elementwise, mul, sqrt, square, sub } from "./expr.ts";
import { scaleByLearningRate } from "./scale.ts";
import type {
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "./types.ts";

/** Options of {@linkcode scaleByAdadelta}. */
export interface ScaleByAdadeltaOptions {
  /** Decay of both running averages. Default 0.9 (optax), 0.95 with `tfjsCompat` (tfjs). */
  rho?: Hyper;
  /** Added to both averages inside the square roots. Default 1e-6 (optax), 1e-7 with `tfjsCompat` (tfjs's float32 epsilon). */
  eps?: Hyper;
  /**
   * `true`: `tf.train.adadelta`'s rule, which divides by the previous step's
   * `E[g²]` (so its first step is `g` for any `eps`), with tfjs's defaults
   * (`rho` 0.95, `eps` 1e-7). Default `false`: Zeiler's Algorithm 1 as optax,
   * Keras and PyTorch (this step's `E[g²]`).
   */
  tfjsCompat?: boolean;
}

/** State of {@linkcode scaleByAdadelta}. */
export interface ScaleByAdadeltaState {
  /** Running averages of the squared gradients, `E[g²]`, by parameter name. */
  eG: PerParam;
  /** Running averages of the squared updates, `E[Δx²]`, by parameter name. */
  eX: PerParam;
}

/**
 * Rescales updates by Adadelta's ratio of running averages (Zeiler 2012,
 * Algorithm 1; optax's `scale_by_adadelta`): `E[g²] = ρ E[g²] + (1 - ρ) g²`,
 * the update `Δ = sqrt(E[Δx²] + eps) / sqrt(E[g²] + eps) g` (with this step's
 * `E[g²]` and the previous `E[Δx²]`), then `E[Δx²] = ρ E[Δx²] + (1 - ρ) Δ²`.
 * With `tfjsCompat: true`, tfjs's `AdadeltaOptimizer` (tfjs-core 4.22,
 * `src/optimizers/adadelta_optimizer.ts`) instead: the same averages, but
 * `Δ = sqrt(E[Δx²] + eps) / sqrt(E[g²]_prev + eps) g` with the previous
 * step's `E[g²]`, and tfjs's defaults `rho` 0.95, `eps` 1e-7.
 *
 * Reference: M. D. Zeiler, "ADADELTA: An Adaptive Learning Rate Method",
 * 2012, arXiv:1212.5701.
 *
 * @param options Decay, epsilon and the tfjs form.
 * @returns A transformation with two running averages per parameter.
 * @throws {TypeError} For an unknown option or one of the wrong kind.
 * @throws {RangeError} For `rho` outside `[0, 1]` or a negative `eps`.
 *
 * @example The first update is `g sqrt(eps / ((1 - rho) g² + eps))` (tfjs's: `g`)
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByAdadelta } from "@centra/chain/adadelta";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByAdadelta({ rho: 0.5, eps: 1 });
 * const [u] = tx.update({ w: tf.tensor1d([2]) }, tx.init({ w: tf.zeros([1]) }));
 * const want = 2 * Math.sqrt(1 / (0.5 * 4 + 1));
 * assert.ok(Math.abs(u.w!.dataSync()[0]! - want) < 1e-6);
 *
 * const tfjs = scaleByAdadelta({ rho: 0.5, eps: 1, tfjsCompat: true });
 * const [v] = tfjs.update({ w: tf.tensor1d([2]) }, tfjs.init({ w: tf.zeros([1]) }));
 * assert.equal(v.w!.dataSync()[0], 2);
 * ```
 */
export function scaleByAdadelta(
  options: ScaleByAdadeltaOptions = {},
): GradientTransformation<ScaleByAdadeltaState> {
  const where = "scaleByAdadelta";
  checkOptions(where, options, {
    rho: "hyper",
    eps: "hyper",
    tfjsCompat: "boolean",
  });
  const tfjs = options.tfjsCompat ?? false;
  const { rho = tfjs ? 0.95 : 0.9, eps = tfjs ? 1e-7 : 1e-6 } = options;
  return elementwise({
    where,
    hypers: { rho: [rho, { min: 0, max: 1 }], eps: [eps, { min: 0 }] },
    slots: { eG: 0, eX: 0 },
    math: ({ g, hypers: h, slots: s }) => {
      const eG = lerp(h.rho, s.eG, sub(1, h.rho), square(g));
      // with eps 0 and no gradient yet both roots are 0: the update is 0.
      // tfjs's form divides by the last step's E[g²], in tfjs's order
      const update = tfjs
        ? mul(
          divUnlessZero(sqrt(add(s.eX, h.eps)), sqrt(add(s.eG, h.eps)), eps),
          g,
        )
        : divUnlessZero(
          mul(sqrt(add(s.eX, h.eps)), g),
          sqrt(add(eG, h.eps)),
          eps,
        );
      const eX = lerp(h.rho, s.eX, sub(1, h.rho), square(update));
      return { update, slots: { eG, eX } };
    },
  }) as GradientTransformation<ScaleByAdadeltaState>;
}

/**
 * The options {@linkcode adadelta} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const ADADELTA_OPTIONS: Readonly<Record<string, OptionKind>> = withGc({
  rho: "hyper",
  eps: "hyper",
  tfjsCompat: "boolean",
  ...DECAY_KINDS,
});

/** Options of {@linkcode adadelta}. */
export interface AdadeltaOptions extends ScaleByAdadeltaOptions, GcOptions {
  /** L2 weight decay added to the gradient (before GC and the scaling), as optax. Default 0. */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * Adadelta: `chain(addDecayedWeights(λ), scaleByAdadelta(), scaleByLearningRate(lr))`
 * as optax's `adadelta`, with GC on the gradient `g + λw` (default) or on
 * the scaled update. The step is `w ← w - lr Δ` with `Δ` of
 * {@linkcode scaleByAdadelta}; Zeiler's method has `lr = 1`.
 *
 * Choices: optax's rule and defaults (`rho` 0.9, `eps` 1e-6).
 * `tf.train.adadelta` of tfjs 4.22 divides by the previous step's `E[g²]`
 * instead of this step's (its first step is `-lr g` whatever `eps`), unlike
 * Zeiler's Algorithm 1, optax, Keras and PyTorch; `tfjsCompat: true` takes
 * tfjs's rule and defaults (`rho` 0.95, `eps` 1e-7), so that
 * `adadelta(lr, { tfjsCompat: true })` steps as `tf.train.adadelta(lr)`.
 * Under that rule both averages start at 0 and are fed the same numbers, so
 * their ratio is 1 at every step and the step is plain SGD's `-lr g` (as
 * `tf.train.adadelta`'s is; see `docs/optimizers_adam.md`).
 *
 * Reference: M. D. Zeiler, "ADADELTA: An Adaptive Learning Rate Method",
 * 2012, arXiv:1212.5701.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Decay, epsilon, the tfjs form, weight decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode ADADELTA_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adadelta, initState, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([1]) };
 * const tx = adadelta(1, { rho: 0.5, eps: 1 });
 * const [u] = runUpdate(tx, { w: tf.tensor1d([2]) }, initState(tx, params), params);
 * assert.ok(Math.abs(u.w!.dataSync()[0]! + 2 / Math.sqrt(3)) < 1e-6);
 *
 * // tf.train.adadelta(0.5)'s rule and defaults: the first step is -lr g
 * const tfjs = adadelta(0.5, { tfjsCompat: true });
 * const [v] = runUpdate(tfjs, { w: tf.tensor1d([2]) }, initState(tfjs, params), params);
 * assert.equal(v.w!.dataSync()[0], -1);
 * ```
 */
export function adadelta(
  learningRate: ScalarOrSchedule,
  options: AdadeltaOptions = {},
): GradientTransformation<unknown[]> {
  const where = "adadelta";
  checkOptions(where, options, ADADELTA_OPTIONS);
  const { weightDecay, weightDecayMask } = options;
  checkPlainHyper(where, "weightDecay", weightDecay, { min: 0 });
  return build(where, options, {
    before: [
      on(weightDecay) &&
      addDecayedWeights(weightDecay, decayOptions(weightDecayMask)),
    ],
    scaling: [scaleByAdadelta(defined(options, ["rho", "eps", "tfjsCompat"]))],
    after: [scaleByLearningRate(learningRate)],
  });
}
