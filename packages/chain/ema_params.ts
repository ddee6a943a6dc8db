/**
 * An exponential moving average of the parameters, kept in the optimizer
 * state (Keras's `use_ema`, PyTorch's `AveragedModel` with an EMA): the
 * transform {@linkcode emaParams}, and {@linkcode findEmaParams} to read the
 * average out of any state tree.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkOptions, withBounds } from "./_check.ts";
import { elementwise } from "./_elementwise.ts";
import { lerp } from "./_per_param.ts";
import { findInState } from "./_tree.ts";
import { floorDiv } from "./_schedule_checks.ts";
import { add, gt, mul, select, sub } from "./expr.ts";
import type { GradientTransformation, Hyper, PerParam } from "./types.ts";

/** Options of {@linkcode emaParams}. */
export interface EmaParamsOptions {
  /**
   * The momentum of the average, in `[0, 1]` (Keras's `ema_momentum`).
   * Default 0.99 (Keras).
   */
  momentum?: Hyper;
  /**
   * Every this many steps, the step also writes the average into the
   * parameters (Keras's `ema_overwrite_frequency`): a positive integer, or
   * `undefined` (default) for never.
   */
  overwriteFrequency?: number;
}

/** State of {@linkcode emaParams}: the step count and the average per parameter. */
export interface EmaParamsState {
  /** Steps taken so far (float32 scalar). */
  count: tf.Scalar;
  /** The average of each parameter, keyed by parameter name. */
  emaParams: PerParam;
}

/**
 * Keeps an exponential moving average of the parameters after each step,
 * as Keras's `use_ema` does: with `w` the parameter after this step
 * (`params + updates`, so the transform goes last in a chain) and `t` the
 * step's number, `a = w` at `t = 1` and `a = μ a + (1 - μ) w` after. The
 * updates pass through unchanged, except every `overwriteFrequency`-th step,
 * whose update moves the parameter onto the new average (`g + (a - w)`, so
 * the parameter equals `a` to float32 rounding), as Keras's
 * `ema_overwrite_frequency`. The average is state, so it is saved and
 * restored with the optimizer; `@centra/tfjs`'s `withEmaWeights` and the
 * `emaWeights` callback evaluate or save with it swapped in.
 *
 * The math is elementwise, so `@centra/webgpu` fuses it.
 *
 * @param options The momentum and the overwrite frequency.
 * @returns A transformation with a count and one average per parameter; it
 * needs `params`.
 * @throws {TypeError} For an unknown option or one of the wrong kind.
 * @throws {RangeError} For a momentum outside `[0, 1]` or an
 * `overwriteFrequency` that is not a positive integer.
 *
 * @example The average after two steps
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { emaParams } from "@centra/chain/ema-params";
 * import assert from "node:assert/strict";
 *
 * const tx = emaParams({ momentum: 0.5 });
 * let params = { w: tf.tensor1d([0]) };
 * let state = tx.init(params);
 * for (const g of [2, 4]) {
 *   const [u, next] = tx.update({ w: tf.tensor1d([g]) }, state, params);
 *   params = { w: tf.add(params.w, u.w!) };
 *   state = next;
 * }
 * // w is 2 then 6: the average is 2, then 0.5 * 2 + 0.5 * 6
 * assert.equal(state.emaParams.w!.dataSync()[0], 4);
 * ```
 */
export function emaParams(
  options: EmaParamsOptions = {},
): GradientTransformation<EmaParamsState> {
  const where = "emaParams";
  checkOptions(where, options, {
    momentum: "hyper",
    overwriteFrequency: "number",
  });
  const { momentum = 0.99, overwriteFrequency } = options;
  if (
    overwriteFrequency !== undefined &&
    (!Number.isInteger(overwriteFrequency) || overwriteFrequency <= 0)
  ) {
    throw new RangeError(
      `${where}: overwriteFrequency must be a positive integer, got ${overwriteFrequency}`,
    );
  }
  const every = overwriteFrequency;
  // 1 at the steps that overwrite, from the count before the step (Keras:
  // (iterations + 1) % frequency == 0)
  const overwrite = withBounds(
    (count: tf.Scalar): tf.Scalar =>
      every === undefined ? tf.scalar(0) : tf.tidy(() => {
        const next = tf.add(count, 1);
        const rest = tf.sub(next, tf.mul(floorDiv(next, every), every));
        return tf.cast(tf.equal(rest, 0), "float32") as tf.Scalar;
      }),
    0,
    1,
  );
  return elementwise({
    where,
    hypers: {
      momentum: [momentum, { min: 0, max: 1 }],
      overwrite: [overwrite, { min: 0, max: 1, schedule: true }],
    },
    slots: { emaParams: 0 },
    math: ({ g, p, count, hypers: h, slots: s }) => {
      const w = add(p, g);
      // no momentum at the first step: the average starts at w (Keras)
      const mu = select(gt(count, 1), { then: h.momentum, otherwise: 0 });
      const a = lerp(mu, s.emaParams, sub(1, mu), w);
      const update = every === undefined
        ? g
        // overwrite is 0 or 1, so a product does what a select would
        : add(g, mul(h.overwrite, sub(a, w)));
      return { update, slots: { emaParams: a } };
    },
  }) as GradientTransformation<EmaParamsState>;
}

/** Whether `x` is an {@linkcode emaParams} state. */
function isEmaState(x: unknown): x is EmaParamsState {
  if (x === null || typeof x !== "object" || x instanceof tf.Tensor) {
    return false;
  }
  const rec = x as Record<string, unknown>;
  return rec.count instanceof tf.Tensor && rec.emaParams !== null &&
    typeof rec.emaParams === "object" && !(rec.emaParams instanceof tf.Tensor);
}

/**
 * The averages of the first {@linkcode emaParams} state inside a state tree
 * (depth first), keyed by parameter name, or `undefined` when there is none.
 * The tensors belong to the state: do not dispose them.
 *
 * @param state Any optimizer state (a chain's, a `ChainOptimizer`'s).
 * @returns The averages by parameter name, or `undefined`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adam, chain, emaParams, findEmaParams, initState } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const tx = chain(adam(1e-3), emaParams());
 * const state = initState(tx, { w: tf.zeros([2]) });
 * assert.deepEqual(Object.keys(findEmaParams(state)!), ["w"]);
 * assert.equal(findEmaParams(initState(adam(1e-3), { w: tf.zeros([2]) })), undefined);
 * ```
 */
export function findEmaParams(state: unknown): PerParam | undefined {
  return findInState(state, isEmaState)?.emaParams;
}
