import * as tf from "@tensorflow/tfjs";
import {
  checkOptions,
  checkPlainHyper,
  type OptionKind,
  show,
} from "./_check.ts";
import { zeroCount } from "./_per_param.ts";
import {
  checkKnown,
  checkStateMap,
  passOn,
  sameShape,
  trusted,
} from "./_structure.ts";
import type {
  GradientTransformation,
  Hyper,
  Params,
  PerParam,
  Updates,
} from "./types.ts";

/** Options of {@linkcode scaleByFactoredRms}. */
export interface ScaleByFactoredRmsOptions {
  /** Whether to factor the second moment of rank-2+ tensors. Default true. */
  factored?: boolean;
  /**
   * The exponent `c` of the decay schedule `β_t = 1 - t^(-c)` (the paper's
   * `β̂2t`). Default 0.8 (optax, the paper).
   */
  decayRate?: Hyper;
  /**
   * The step the schedule starts from when fine-tuning (optax's
   * `step_offset`): `t = count - stepOffset + 1`. An integer >= 0; default 0.
   */
  stepOffset?: number;
  /**
   * Factor a tensor only when both of its last two axes are at least this
   * long (an integer >= 1). Default 128 (optax).
   */
  minDimSizeToFactor?: number;
  /** Added to `g²` before it is averaged. Default 1e-30 (optax). */
  eps?: Hyper;
}

/** State of {@linkcode scaleByFactoredRms}. */
export interface ScaleByFactoredRmsState {
  /** Steps taken so far (float32 scalar). */
  count: tf.Scalar;
  /**
   * Row statistics of the factored tensors: the mean of `g² + eps` over the
   * last axis, averaged over time (shape: the parameter's without its last
   * axis), keyed by parameter name.
   */
  vRow: PerParam;
  /**
   * Column statistics of the factored tensors: the mean over the
   * second-to-last axis (shape: the parameter's without that axis).
   */
  vCol: PerParam;
  /** The full second moment of the tensors that are not factored. */
  v: PerParam;
}

/** The kinds of {@linkcode ScaleByFactoredRmsOptions}. */
export const FACTORED_RMS_KINDS: Readonly<Record<string, OptionKind>> = {
  factored: "boolean",
  decayRate: "hyper",
  stepOffset: "number",
  minDimSizeToFactor: "number",
  eps: "hyper",
};

/**
 * Adafactor's scaling (Shazeer and Stern 2018, Algorithms 4 and 5; optax
 * `scale_by_factored_rms`): the update is `g / sqrt(V̂)` with `V̂` a running
 * average of `g² + eps` under the decay `β_t = 1 - t^(-decayRate)` (`t`
 * the 1-based step, so the first step takes `g² + eps` as it is).
 *
 * For a tensor whose last two axes (rows `R`, columns `C`: a dense kernel
 * `[in, out]`, a conv kernel `[kh, kw, in, out]`'s `[in, out]`) are both
 * at least `minDimSizeToFactor` long, only the row means `r` (over the last
 * axis) and column means `c` (over the second-to-last) are kept, and
 * `V̂ = r c / mean(r)`, per leading index: memory `R + C` instead of `R C`.
 * Other tensors (rank 0 and 1 included) keep the full `V̂`, as RMSProp
 * without epsilon.
 *
 * Choice: optax factors the two largest axes of a tensor; centra factors
 * the last two, as the issue asks and as the paper's matrices are laid out
 * in tfjs (`[in, out]`, and `[in, out]` after the window axes of a conv
 * kernel), so that the factors follow input and output units. For dense
 * kernels and most conv kernels the two choices agree.
 *
 * Not elementwise (its state is smaller than the parameter), so a fuser
 * runs it op by op.
 *
 * Reference: N. Shazeer, M. Stern, "Adafactor: Adaptive Learning Rates with
 * Sublinear Memory Cost", ICML 2018, arXiv:1804.04235.
 *
 * @param options Factoring, decay, offset and epsilon.
 * @returns A transformation with a count and the row, column or full
 * statistics of each parameter.
 * @throws {TypeError} For an unknown option or one of the wrong kind; at
 * `update`, for a state of another transformation or a parameter whose
 * statistics have the wrong shape.
 * @throws {RangeError} For a negative `decayRate` or `eps`, or a
 * `stepOffset` or `minDimSizeToFactor` that is not an integer in range.
 *
 * @example The first step divides by the root of `g² + eps`: the sign of `g`
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByFactoredRms } from "@centra/chain/scale-by-factored-rms";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByFactoredRms({ minDimSizeToFactor: 2 });
 * const g = tf.tensor2d([[3, -3], [-3, 3]]);
 * const s = tx.init({ w: g });
 * assert.deepEqual(s.vRow.w!.shape, [2]); // factored: no [2, 2] moment
 * const [u] = tx.update({ w: g }, s);
 * assert.deepEqual(Array.from(u.w!.dataSync()).map(Math.round), [1, -1, -1, 1]);
 * ```
 */
export function scaleByFactoredRms(
  options: ScaleByFactoredRmsOptions = {},
): GradientTransformation<ScaleByFactoredRmsState> {
  const where = "scaleByFactoredRms";
  checkOptions(where, options, FACTORED_RMS_KINDS);
  const {
    factored = true,
    decayRate = 0.8,
    stepOffset = 0,
    minDimSizeToFactor = 128,
    eps = 1e-30,
  } = options;
  checkPlainHyper(where, "decayRate", decayRate, { min: 0 });
  checkPlainHyper(where, "eps", eps, { min: 0 });
  checkInteger(where, "stepOffset", stepOffset, 0);
  checkInteger(where, "minDimSizeToFactor", minDimSizeToFactor, 1);
  const isFactored = (shape: readonly number[]): boolean =>
    factored && shape.length >= 2 &&
    shape[shape.length - 1]! >= minDimSizeToFactor &&
    shape[shape.length - 2]! >= minDimSizeToFactor;
  return {
    init: (params: Params) => initFactored(params, isFactored),
    update(
      updates: Updates,
      state: ScaleByFactoredRmsState,
    ): [Updates, ScaleByFactoredRmsState] {
      checkState(where, updates, state, isFactored);
      // β_t = 1 - t^(-c), t the 1-based step counted from the offset (at
      // least 1: before the offset the moment is just g² + eps)
      const t = tf.maximum(tf.sub(tf.add(state.count, 1), stepOffset), 1);
      const beta = tf.sub(1, tf.pow(t, tf.neg(decayRate)));
      const rest = tf.sub(1, beta);
      const vRow = { ...state.vRow }, vCol = { ...state.vCol };
      const v = { ...state.v };
      const out: Updates = {};
      for (const [name, g] of Object.entries(updates)) {
        const g2 = tf.add(tf.square(g), eps);
        if (isFactored(g.shape)) {
          [out[name], vRow[name], vCol[name]] = factoredStep(
            g,
            g2,
            state.vRow[name]!,
            state.vCol[name]!,
            beta,
            rest,
          );
        } else {
          const m = tf.add(tf.mul(beta, state.v[name]!), tf.mul(rest, g2));
          out[name] = tf.mul(g, tf.rsqrt(m));
          v[name] = m;
        }
      }
      passOn(updates, out); // same names and shapes
      return [out, { count: tf.add(state.count, 1), vRow, vCol, v }];
    },
  };
}

/** The zero state: row and column moments for the tensors `isFactored` names. */
function initFactored(
  params: Params,
  isFactored: (shape: readonly number[]) => boolean,
): ScaleByFactoredRmsState {
  const vRow: PerParam = {}, vCol: PerParam = {}, v: PerParam = {};
  for (const [name, p] of Object.entries(params)) {
    if (isFactored(p.shape)) {
      vRow[name] = tf.zeros(p.shape.slice(0, -1));
      vCol[name] = tf.zeros(withoutAxis(p.shape, p.rank - 2));
    } else {
      v[name] = tf.zeros(p.shape);
    }
  }
  return { count: zeroCount(), vRow, vCol, v };
}

/**
 * One factored tensor's step: its update and its new row and column
 * moments, from `g2 = g² + eps` and this step's decay `beta` (and
 * `rest = 1 - beta`).
 */
function factoredStep(
  g: tf.Tensor,
  g2: tf.Tensor,
  vRow: tf.Tensor,
  vCol: tf.Tensor,
  beta: tf.Tensor,
  rest: tf.Tensor,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const r = tf.add(tf.mul(beta, vRow), tf.mul(rest, tf.mean(g2, -1)));
  const c = tf.add(tf.mul(beta, vCol), tf.mul(rest, tf.mean(g2, -2)));
  // V̂ = r c / mean(r): g · (r / mean(r))^(-1/2) · c^(-1/2)
  const rowFactor = tf.rsqrt(tf.div(r, tf.mean(r, -1, true)));
  const out = tf.mul(
    tf.mul(g, tf.expandDims(rowFactor, -1)),
    tf.expandDims(tf.rsqrt(c), -2),
  );
  return [out, r, c];
}

function withoutAxis(shape: readonly number[], axis: number): number[] {
  return shape.filter((_, i) => i !== axis);
}

function checkInteger(
  where: string,
  name: string,
  value: number,
  min: number,
): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `${where}: ${name} must be an integer >= ${min}, got ${value}`,
    );
  }
}

/** Checks the state's parts, and each update's statistics by name and shape. */
function checkState(
  where: string,
  updates: Updates,
  state: ScaleByFactoredRmsState,
  isFactored: (shape: readonly number[]) => boolean,
): void {
  if (
    state === null || typeof state !== "object" ||
    !(state.count instanceof tf.Tensor) || state.count.rank !== 0
  ) {
    throw new TypeError(
      `${where}: the state does not fit this transformation: expected { count, vRow, vCol, v }, got ${
        show(state)
      }`,
    );
  }
  if (trusted(updates, state) !== undefined) {
    // vouched for in this step: only that the parts are maps
    checkStateMap(where, "its per-parameter part", state.v);
    checkStateMap(where, "its per-parameter part", state.vRow);
    return;
  }
  checkKnown(where, updates, { ...state.v, ...state.vRow });
  for (const [name, g] of Object.entries(updates)) {
    const want: [string, tf.Tensor | undefined, number[]][] = isFactored(
        g.shape,
      )
      ? [
        ["vRow", state.vRow[name], g.shape.slice(0, -1)],
        ["vCol", state.vCol?.[name], withoutAxis(g.shape, g.rank - 2)],
      ]
      : [["v", state.v[name], g.shape]];
    for (const [part, t, shape] of want) {
      if (!(t instanceof tf.Tensor) || !sameShape(t.shape, shape)) {
        throw new TypeError(
          `${where}: update "${name}" has shape [${g.shape}], so its ${part} should be a tensor of shape [${shape}], got ${
            show(t)
          }`,
        );
      }
    }
  }
}
