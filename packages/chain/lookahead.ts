/**
 * Lookahead (Zhang et al. 2019): `k` steps of an inner optimizer, then one
 * step of the slow weights towards where they led
 * ({@linkcode lookahead}), and by name in the table of optimizers as
 * Lookahead around Adam ({@linkcode lookaheadAdam}).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  checkOptions,
  checkPlainHyper,
  type OptionKind,
  show,
} from "./_check.ts";
import { checkTransformation } from "./_drive.ts";
import { ADAM_KINDS, defined } from "./_optimizer.ts";
import { checkAgainst, requireParams } from "./_structure.ts";
import { adam, type AdamOptions } from "./adam.ts";
import { chain } from "./chain.ts";
import type {
  GradientTransformation,
  Hyper,
  Params,
  PerParam,
  ScalarOrSchedule,
  Updates,
} from "./types.ts";

/** Options of {@linkcode lookahead}. */
export interface LookaheadOptions {
  /**
   * Inner steps per synchronization, `k` (an integer >= 1; optax's
   * `sync_period`). Default 6 (TF Addons' Lookahead, Ranger).
   */
  syncPeriod?: number;
  /**
   * The slow weights' step `α` towards the fast ones, in [0, 1] (optax's
   * `slow_step_size`). Default 0.5 (the paper, TF Addons, Ranger).
   */
  alpha?: Hyper;
}

/** State of {@linkcode lookahead}. */
export interface LookaheadState<S = unknown> {
  /**
   * Inner steps since the last synchronization, `0` to `syncPeriod - 1`
   * (float32 scalar; optax's `steps_since_sync`).
   */
  stepsSinceSync: tf.Scalar;
  /** The slow weights `φ`, keyed by parameter name. */
  slow: PerParam;
  /** The inner optimizer's state. */
  inner: S;
}

/**
 * Lookahead: the parameters are the fast weights `θ`, which `inner` moves
 * as usual; every `syncPeriod`-th step the slow weights take the step
 * `φ ← φ + α (θ - φ)` and the fast weights jump back to them, `θ ← φ`.
 * The update of that step is `φ_new - θ`, so that applying it (as
 * `applyUpdates` and `ChainOptimizer` do) lands the parameters on the new
 * slow weights, to float32 rounding: the same merged update as optax's
 * `lookahead`.
 *
 * Choice: optax's `lookahead` keeps both weights in the parameters (a
 * `LookaheadParams` pair) and updates them both. centra's optimizers see only
 * the model's variables, so the slow weights live in the state here (saved
 * and resumed with it, as `stepsSinceSync` is), and the parameters are the
 * fast weights, as in the paper's Algorithm 1, PyTorch implementations and
 * TF Addons. To evaluate with the slow weights between synchronizations, read
 * `state.slow`; after a synchronization step they are the parameters.
 * optax's `reset_state` (restarting the inner state at each
 * synchronization) is not offered.
 *
 * Nothing is read back from the device: the synchronization is chosen with
 * `tf.where` on the step counter, so a checkpoint taken at any step of the
 * period resumes exactly. Not elementwise (it wraps another optimizer): a
 * fuser runs it op by op.
 *
 * Reference: M. R. Zhang, J. Lucas, G. Hinton, J. Ba, "Lookahead Optimizer:
 * k steps forward, 1 step back", NeurIPS 2019, arXiv:1907.08610.
 *
 * @typeParam S The inner state.
 * @param inner The fast optimizer, learning rate included.
 * @param options `syncPeriod` and `alpha`.
 * @returns A transformation whose state holds the step counter, the slow
 * weights and the inner state; it needs `params`.
 * @throws {TypeError} If `inner` is not a transformation, for an unknown
 * option or one of the wrong kind; at `update`, when `params` is missing or
 * for a state of another transformation.
 * @throws {RangeError} For a `syncPeriod` that is not an integer >= 1 or an
 * `alpha` outside [0, 1].
 *
 * @example Two SGD steps, then halfway back to the start
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { applyUpdates, initState, lookahead, runUpdate, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const w = tf.variable(tf.tensor1d([0]), true, "lookahead_doc/w");
 * const params = { [w.name]: w };
 * const tx = lookahead(sgd(1), { syncPeriod: 2, alpha: 0.5 });
 * let state = initState(tx, params);
 * for (let i = 0; i < 2; i++) {
 *   const [u, next] = runUpdate(tx, { [w.name]: tf.tensor1d([-1]) }, state, params);
 *   state = next;
 *   applyUpdates(params, u);
 * }
 * // fast: 0 -> 1 -> 2; then slow 0 + 0.5 (2 - 0) = 1, and the weight jumps there
 * assert.equal(w.dataSync()[0], 1);
 * assert.equal(state.slow[w.name]!.dataSync()[0], 1);
 * ```
 */
export function lookahead<S>(
  inner: GradientTransformation<S>,
  options: LookaheadOptions = {},
): GradientTransformation<LookaheadState<S>> {
  const where = "lookahead";
  checkTransformation(`${where}: inner`, inner);
  checkOptions(where, options, LOOKAHEAD_KINDS);
  const { syncPeriod = 6, alpha = 0.5 } = options;
  if (!Number.isInteger(syncPeriod) || syncPeriod < 1) {
    throw new RangeError(
      `${where}: syncPeriod must be an integer >= 1, got ${syncPeriod}`,
    );
  }
  checkPlainHyper(where, "alpha", alpha, { min: 0, max: 1 });
  return {
    init: (params: Params): LookaheadState<S> => {
      const slow: PerParam = {};
      // a clone shares the buffer until the variable is assigned a new one
      for (const [name, p] of Object.entries(params)) slow[name] = tf.clone(p);
      return { stepsSinceSync: tf.scalar(0), slow, inner: inner.init(params) };
    },
    update: (
      updates: Updates,
      state: LookaheadState<S>,
      params?: Params,
    ): [Updates, LookaheadState<S>] => {
      checkState(where, state);
      checkAgainst(where, updates, state.slow);
      const p = requireParams(where, updates, params);
      const [u, s] = inner.update(updates, state.inner, params);
      const sync = tf.greaterEqual(
        tf.add(state.stepsSinceSync, 1),
        syncPeriod,
      );
      const out: Updates = {};
      const slow = { ...state.slow };
      for (const [name, d] of Object.entries(u)) {
        const old = state.slow[name]!;
        const fast = tf.add(p[name]!, d);
        const next = tf.add(old, tf.mul(alpha, tf.sub(fast, old)));
        const on = tf.broadcastTo(sync, d.shape);
        out[name] = tf.where(on, tf.sub(next, p[name]!), d);
        slow[name] = tf.where(on, next, old);
      }
      const count = tf.add(state.stepsSinceSync, 1);
      return [out, {
        stepsSinceSync: tf.where(sync, tf.zerosLike(count), count) as tf.Scalar,
        slow,
        inner: s,
      }];
    },
  };
}

/** Throws unless `state` has the shape of Lookahead's state. */
function checkState(where: string, state: LookaheadState<unknown>): void {
  if (
    state === null || typeof state !== "object" ||
    !(state.stepsSinceSync instanceof tf.Tensor) ||
    state.stepsSinceSync.rank !== 0
  ) {
    throw new TypeError(
      `${where}: the state does not fit this transformation: expected { stepsSinceSync, slow, inner }, got ${
        show(state)
      }`,
    );
  }
}

const LOOKAHEAD_KINDS: Readonly<Record<string, OptionKind>> = {
  syncPeriod: "number",
  alpha: "hyper",
};

/**
 * The options {@linkcode lookaheadAdam} (the table's `lookahead`) takes and
 * the kind of each: Adam's and Lookahead's.
 */
export const LOOKAHEAD_OPTIONS: Readonly<Record<string, OptionKind>> = Object
  .freeze({ ...ADAM_KINDS, ...LOOKAHEAD_KINDS });

/** Options of {@linkcode lookaheadAdam}: Adam's (GC included) and Lookahead's. */
export interface LookaheadAdamOptions extends AdamOptions, LookaheadOptions {}

/**
 * Lookahead around Adam, `lookahead(adam(learningRate, ...), { syncPeriod,
 * alpha })`: the table's `lookahead` (`OPTIMIZERS.lookahead`,
 * `ChainOptimizer.from("lookahead", json)`), since an entry of the table is
 * built from a learning rate and JSON options. GC is Adam's (`gc`, `gcOn`).
 * For Lookahead around another optimizer call {@linkcode lookahead} with it
 * (and `registerChain` to save it by name).
 *
 * Reference: M. R. Zhang, J. Lucas, G. Hinton, J. Ba, "Lookahead Optimizer:
 * k steps forward, 1 step back", NeurIPS 2019, arXiv:1907.08610.
 *
 * @param learningRate Adam's learning rate: a non-negative number or a
 * schedule.
 * @param options Adam's options and `syncPeriod`, `alpha`.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode LOOKAHEAD_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import { lookaheadAdam, OPTIMIZERS } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * assert.equal(OPTIMIZERS.lookahead.make, lookaheadAdam);
 * const tx = lookaheadAdam(1e-3, { syncPeriod: 5, alpha: 0.8, gc: true });
 * assert.equal(typeof tx.update, "function");
 * ```
 */
export function lookaheadAdam(
  learningRate: ScalarOrSchedule,
  options: LookaheadAdamOptions = {},
): GradientTransformation<unknown[]> {
  checkOptions("lookahead", options, LOOKAHEAD_OPTIONS);
  const { syncPeriod: _k, alpha: _a, ...rest } = options;
  return chain(
    lookahead(
      adam(learningRate, rest),
      defined(options, ["syncPeriod", "alpha"]),
    ),
  );
}
