/**
 * AdaBelief (Zhuang et al. 2020), as a transform ({@linkcode scaleByBelief})
 * and as an optimizer ({@linkcode adabelief}).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { checkOptions, type OptionKind } from "./_check.ts";
import {
  biasCorrection,
  divUnlessZero,
  lerp,
  momentHypers,
  type PerParam,
} from "./_per_param.ts";
import {
  alias,
  DECAY_KINDS,
  type GcOptions,
  MOMENT_KINDS,
  withGc,
} from "./_optimizer.ts";
import { add, div, elementwise, mul, sqrt, square, sub } from "./expr.ts";
import type {
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "./types.ts";

/** Options of {@linkcode scaleByBelief}. */
export interface ScaleByBeliefOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: Hyper;
  /** Decay of the belief (the second moment of `g - m`). Default 0.999. */
  b2?: Hyper;
  /** Added to the denominator outside the square root. Default 1e-16 (optax, the paper). */
  eps?: Hyper;
  /** Added to the belief `s` itself each step (kept in the state). Default 1e-16 (optax, the paper). */
  epsRoot?: Hyper;
  /** Use Nesterov's look-ahead first moment, as `scaleByNadam`. Default false. */
  nesterov?: boolean;
}

/** State of {@linkcode scaleByBelief}. */
export interface ScaleByBeliefState {
  /** Steps taken so far (float32 scalar). */
  count: tf.Scalar;
  /** First moments, keyed by parameter name. */
  mu: PerParam;
  /** Beliefs `s` (second moments of `g - m`, plus `epsRoot`), keyed by parameter name. */
  nu: PerParam;
}

/**
 * Rescales updates by AdaBelief's moments (optax's `scale_by_belief`, the
 * paper's Algorithm 2): `m = b1 m + (1 - b1) g`, the belief `s = b2 s +
 * (1 - b2) (g - m)² + epsRoot` (with this step's `m`), and the update
 * `m̂ / (sqrt(s / (1 - b2^t)) + eps)` with `m̂ = m / (1 - b1^t)`, or with
 * `nesterov` `m̂ = b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t)`.
 *
 * Reference: J. Zhuang, T. Tang, Y. Ding, S. Tatikonda, N. Dvornek, X.
 * Papademetris and J. Duncan, "AdaBelief Optimizer: Adapting Stepsizes by
 * the Belief in Observed Gradients", NeurIPS 2020, arXiv:2010.07468.
 *
 * @param options Decays, epsilons and Nesterov.
 * @returns A transformation with a count and two moments per parameter.
 * @throws {TypeError} For an unknown option or one of the wrong kind.
 * @throws {RangeError} For a decay outside `[0, 1)` or a negative epsilon.
 *
 * @example A gradient that matches the belief takes a large step
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByBelief } from "@centra/chain/adabelief";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByBelief({ b1: 0.5, b2: 0.5, eps: 0, epsRoot: 0 });
 * const [u] = tx.update({ w: tf.tensor1d([2]) }, tx.init({ w: tf.zeros([1]) }));
 * // m = 1, s = 0.5 (2 - 1)² = 0.5: m̂ = 2, ŝ = 1, update 2 / sqrt(1) = 2
 * assert.ok(Math.abs(u.w!.dataSync()[0]! - 2) < 1e-6);
 * ```
 */
export function scaleByBelief(
  options: ScaleByBeliefOptions = {},
): GradientTransformation<ScaleByBeliefState> {
  const where = "scaleByBelief";
  checkOptions(where, options, BELIEF_KINDS);
  const {
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-16,
    epsRoot = 1e-16,
    nesterov = false,
  } = options;
  return elementwise({
    where,
    hypers: momentHypers({ b1, b2, eps, epsRoot }),
    slots: { mu: 0, nu: 0 },
    math: ({ g, count, hypers: h, slots: s }) => {
      const m = lerp(h.b1, s.mu, sub(1, h.b1), g);
      const v = add(
        lerp(h.b2, s.nu, sub(1, h.b2), square(sub(g, m))),
        h.epsRoot,
      );
      const mHat = nesterov
        ? add(
          div(mul(h.b1, m), biasCorrection(h.b1, add(count, 1))),
          div(mul(sub(1, h.b1), g), biasCorrection(h.b1, count)),
        )
        : div(m, biasCorrection(h.b1, count));
      const denom = add(sqrt(div(v, biasCorrection(h.b2, count))), h.eps);
      // eps and epsRoot both 0 with a zero gradient: the update is 0, not 0/0
      const positive = typeof epsRoot === "number" && Math.fround(epsRoot) > 0;
      return {
        update: divUnlessZero(mHat, denom, positive ? epsRoot : eps),
        slots: { mu: m, nu: v },
      };
    },
  }) as GradientTransformation<ScaleByBeliefState>;
}

/** The options of {@linkcode scaleByBelief} and the kind of each. */
const BELIEF_KINDS: Readonly<Record<string, OptionKind>> = {
  ...MOMENT_KINDS,
  nesterov: "boolean",
};

/**
 * The options {@linkcode adabelief} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const ADABELIEF_OPTIONS: Readonly<Record<string, OptionKind>> = withGc({
  ...BELIEF_KINDS,
  ...DECAY_KINDS,
});

/** Options of {@linkcode adabelief}. */
export interface AdabeliefOptions extends ScaleByBeliefOptions, GcOptions {
  /** Decoupled weight decay λ, `w ← w - lr (u + λw)` (optax's `weight_decay`). Default 0 (off, as optax's `None`). */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * AdaBelief: `chain(scaleByBelief(), addDecayedWeights(λ),
 * scaleByLearningRate(lr))`, with GC on the gradient (default) or on the
 * scaled update, as optax's `adabelief`. The step is `w ← w - lr (m̂ /
 * (sqrt(ŝ) + eps) + λ w)` with the moments of {@linkcode scaleByBelief}.
 *
 * Choices: optax's defaults (`eps` and `epsRoot` 1e-16, as the paper's
 * official code; no weight decay unless given). The decay is decoupled and
 * multiplied by the learning rate, as optax and PyTorch's `AdamW`.
 *
 * Reference: J. Zhuang, T. Tang, Y. Ding, S. Tatikonda, N. Dvornek, X.
 * Papademetris and J. Duncan, "AdaBelief Optimizer: Adapting Stepsizes by
 * the Belief in Observed Gradients", NeurIPS 2020, arXiv:2010.07468.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, epsilons, Nesterov, weight decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode ADABELIEF_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adabelief, initState, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2]) };
 * const tx = adabelief(0.001);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([3, -0.5]) }, initState(tx, params), params);
 * // first step: m̂ = g, ŝ = (0.9 g)², so the step is lr / 0.9 against sign(g)
 * const size = 0.001 / 0.9;
 * assert.ok(u.w!.sub(tf.tensor1d([-size, size])).abs().max().dataSync()[0]! < 1e-7);
 * ```
 */
export function adabelief(
  learningRate: ScalarOrSchedule,
  options: AdabeliefOptions = {},
): GradientTransformation<unknown[]> {
  return alias(
    "adabelief",
    learningRate,
    options,
    ADABELIEF_OPTIONS,
    scaleByBelief,
    {},
  );
}
