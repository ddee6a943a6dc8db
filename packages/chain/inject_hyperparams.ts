import * as tf from "@tensorflow/tfjs";
import {
  boundsOf,
  checkHyper,
  checkLike,
  inheritRules,
  rememberHost,
} from "./_check.ts";
import { zeroCount } from "./_per_param.ts";
import { findInState } from "./_tree.ts";
import { type InnerRun, register } from "./fuser.ts";
import type {
  GradientTransformation,
  Params,
  Schedule,
  Updates,
} from "./types.ts";

/**
 * A float32 scalar made from a host number, which the host remembers (see
 * `rememberHost`); `edge`: a schedule's bound, which may reach an open end.
 */
function hostScalar(value: number, edge = false): tf.Scalar {
  const t = tf.scalar(value, "float32");
  rememberHost(t, value, edge);
  return t;
}

/** State of {@linkcode injectHyperparams}. */
export interface InjectHyperparamsState<S = unknown> {
  /** Steps taken so far (float32 scalar). */
  count: tf.Scalar;
  /** The hyperparameters used by the last step (or the first, before any), by name. */
  hyperparams: Record<string, tf.Scalar>;
  /** The inner optimizer's state. */
  inner: S;
}

/**
 * Moves hyperparameters into the state, where they can be read and changed
 * between steps (optax `inject_hyperparams`). Numbers keep their value
 * until set with {@linkcode setHyperparam}; schedules are evaluated at every
 * step. The factory is called each step with the current values as scalar
 * tensors, so the inner transformation must accept tensors where it accepts
 * numbers (every centra transform does).
 *
 * @typeParam H The hyperparameters by name.
 * @typeParam S The inner state.
 * @param factory Builds the optimizer from scalar hyperparameters.
 * @param hyperparams Initial values or schedules, by name.
 * @returns A transformation whose state holds the current hyperparameters.
 *
 * @example Read the current learning rate in one line
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { exponentialDecaySchedule, initState, injectHyperparams, runUpdate, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const tx = injectHyperparams(
 *   (hp) => sgd(hp.learningRate, { momentum: 0.9 }),
 *   { learningRate: exponentialDecaySchedule(0.1, { transitionSteps: 1, decayRate: 0.5 }) },
 * );
 * let state = initState(tx, { w: tf.zeros([2]) });
 * [, state] = runUpdate(tx, { w: tf.ones([2]) }, state);
 * [, state] = runUpdate(tx, { w: tf.ones([2]) }, state);
 * assert.ok(Math.abs(state.hyperparams.learningRate!.dataSync()[0]! - 0.05) < 1e-7);
 * ```
 */
export function injectHyperparams<
  H extends Record<string, number | Schedule>,
  S,
>(
  factory: (
    hyperparams: { [K in keyof H]: tf.Scalar },
  ) => GradientTransformation<S>,
  hyperparams: H,
): GradientTransformation<InjectHyperparamsState<S>> {
  checkInjectArgs(factory as Factory, hyperparams);
  type State = InjectHyperparamsState<S>;
  // the inner transformation's update is `run`'s, so that @centra/webgpu's
  // fuse can fuse the transformation the factory builds at each step
  const update = (
    updates: Updates,
    state: State,
    params: Params | undefined,
    run: InnerRun,
  ): [Updates, State] =>
    injectUpdate(factory as Factory, hyperparams, updates, state, params, run);
  const tx: GradientTransformation<State> = {
    init(params: Params): State {
      const count = zeroCount();
      const hp = current(hyperparams, count);
      const inner = (factory as Factory)(hp).init(params) as S;
      return { count, hyperparams: hp, inner };
    },
    update: (updates, state, params) =>
      update(updates, state, params, (t, u, s, p) => t.update(u, s, p)),
  };
  return register(tx, {
    kind: "delegate",
    update: (updates, state, params, run) =>
      update(updates, state as State, params, run),
  });
}

/** `injectHyperparams`'s factory, with its hyperparameter names erased. */
type Factory = (
  hyperparams: Record<string, tf.Scalar>,
) => GradientTransformation<unknown>;

function checkInjectArgs(
  factory: Factory,
  hyperparams: Record<string, number | Schedule>,
): void {
  if (typeof factory !== "function") {
    throw new TypeError(
      `injectHyperparams: factory must be a function, got ${String(factory)}`,
    );
  }
  for (const [k, v] of Object.entries(hyperparams)) {
    checkHyper("injectHyperparams", k, v);
  }
  // Numbers become scalars the host remembers (`hostScalar`), which the
  // transforms the factory builds check as they check numbers: build one
  // now, so that a value out of its range throws here, as a number would.
  // Schedules with known bounds are probed at both ends (reaching an open
  // end of a range is allowed: the formulas define their value there).
  tf.tidy(() => {
    for (const end of [0, 1]) {
      const probe: Record<string, tf.Scalar> = {};
      for (const [k, v] of Object.entries(hyperparams)) {
        const b = typeof v === "function" ? boundsOf(v) : undefined;
        probe[k] = typeof v !== "function"
          ? hostScalar(v)
          : b !== undefined && Number.isFinite(Math.fround(b[end]!))
          ? hostScalar(b[end]!, true)
          : v(zeroCount());
      }
      factory(probe);
    }
  });
}

/** The hyperparameters at step `count`: schedules evaluated, numbers as stored. */
function current(
  hyperparams: Record<string, number | Schedule>,
  count: tf.Scalar,
  stored?: Record<string, tf.Scalar>,
): Record<string, tf.Scalar> {
  const out: Record<string, tf.Scalar> = {};
  for (const [k, v] of Object.entries(hyperparams)) {
    out[k] = typeof v === "function" ? v(count) : stored?.[k] ?? hostScalar(v);
  }
  return out;
}

function injectUpdate<S>(
  factory: Factory,
  hyperparams: Record<string, number | Schedule>,
  updates: Updates,
  state: InjectHyperparamsState<S>,
  params: Params | undefined,
  run: InnerRun,
): [Updates, InjectHyperparamsState<S>] {
  for (const k of Object.keys(hyperparams)) {
    if (!(state.hyperparams?.[k] instanceof tf.Tensor)) {
      throw new TypeError(
        `injectHyperparams: state has no hyperparameter "${k}"`,
      );
    }
  }
  const hp = current(hyperparams, state.count, state.hyperparams);
  const [u, next] = run(factory(hp), updates, state.inner, params);
  return [u, {
    count: tf.add(state.count, 1) as tf.Scalar,
    hyperparams: hp,
    inner: next as S,
  }];
}

/**
 * Returns a new state with one hyperparameter set to `value`, disposing the
 * scalar it replaces. The state is an {@linkcode injectHyperparams} state or
 * any state tree holding one (an optimizer's whole state, say): the first
 * one found, as {@linkcode findHyperparams} finds it, is changed; the rest
 * of the tree is shared with the old state. A scheduled hyperparameter is
 * recomputed at the next step, so setting it has no lasting effect.
 *
 * @typeParam T The state tree.
 * @param state A state of {@linkcode injectHyperparams}, or a tree holding one.
 * @param change The name of the hyperparameter and its new value.
 * @returns The new state; the old one must not be used again.
 * @throws {TypeError} If the state has no hyperparameter `name`.
 * @throws {RangeError} If `value` is not finite in float32, or outside the
 * range a transform built from the hyperparameter asks of it (a negative
 * learning rate, `b1 = 1`, ...; see {@linkcode hyperparamScalar}). The state
 * is then unchanged.
 *
 * @example Halve the learning rate on a plateau
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, injectHyperparams, setHyperparam, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const tx = injectHyperparams((hp) => sgd(hp.learningRate), { learningRate: 0.1 });
 * let state = initState(tx, { w: tf.zeros([2]) });
 * state = setHyperparam(state, { name: "learningRate", value: 0.05 });
 * assert.ok(Math.abs(state.hyperparams.learningRate!.dataSync()[0]! - 0.05) < 1e-9);
 * ```
 */
export function setHyperparam<T>(
  state: T,
  change: { name: string; value: number },
): T {
  const { name, value } = change;
  const hp = findHyperparams(state);
  const old = hp !== undefined && Object.hasOwn(hp, name)
    ? hp[name]
    : undefined;
  if (!(old instanceof tf.Tensor)) {
    throw new TypeError(
      `setHyperparam: no hyperparameter named "${name}" in this state`,
    );
  }
  const fresh = hyperparamScalar("setHyperparam", { name, value, old });
  const next = withInjected(state, (inner) => ({
    ...inner,
    hyperparams: { ...inner.hyperparams, [name]: fresh },
  }));
  old.dispose();
  return next as T;
}

/**
 * The scalar that replaces a hyperparameter of an `injectHyperparams` state:
 * checks `value` as a float32 number and against every range the
 * transforms built from `old` asked of it (`sgd`'s learning rate is at least
 * 0, Adam's `b1` below 1, ...), then returns a kept float32 scalar that
 * carries those ranges on. {@linkcode setHyperparam} and `@centra/tfjs`'s
 * `ChainOptimizer.setHyperparam` (through `setHyperparam`) use it. Only ranges that a step (or
 * `init`) has recorded are known: after a checkpoint is loaded, the next
 * step checks the value instead, before it changes anything.
 *
 * @param where The caller, for error messages.
 * @param change The hyperparameter's name, its new value and the scalar it replaces.
 * @returns A new kept float32 scalar; the caller disposes `old`.
 * @throws {RangeError} If `value` is not finite in float32, or out of a recorded range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { hyperparamScalar, initState, injectHyperparams, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const tx = injectHyperparams((hp) => sgd(hp.learningRate), { learningRate: 0.1 });
 * const state = initState(tx, { w: tf.zeros([2]) });
 * const old = state.hyperparams.learningRate!;
 * assert.throws(() => hyperparamScalar("demo", { name: "learningRate", value: -1, old }), RangeError);
 * assert.throws(() => hyperparamScalar("demo", { name: "learningRate", value: 1e39, old }), RangeError);
 * assert.equal(hyperparamScalar("demo", { name: "learningRate", value: 0.5, old }).dataSync()[0], 0.5);
 * ```
 */
export function hyperparamScalar(
  where: string,
  change: { name: string; value: number; old?: tf.Tensor },
): tf.Scalar {
  const { name, value, old } = change;
  if (typeof value !== "number") {
    throw new TypeError(
      `${where}: value of "${name}" must be a number, got ${String(value)}`,
    );
  }
  checkLike(where, `value of "${name}"`, value, old);
  const fresh = tf.keep(hostScalar(value));
  if (old !== undefined) inheritRules(old, fresh);
  return fresh;
}

/**
 * Finds the hyperparameters of the first `injectHyperparams` state inside
 * any state tree (for instance an optimizer adapter's), or `undefined`.
 *
 * @param state Any state.
 * @returns The current hyperparameters by name, or `undefined`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { chain, clipByGlobalNorm, findHyperparams, initState, injectHyperparams, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const tx = chain(clipByGlobalNorm(1), injectHyperparams((hp) => sgd(hp.learningRate), { learningRate: 0.3 }));
 * const hp = findHyperparams(initState(tx, { w: tf.zeros([1]) }));
 * assert.ok(Math.abs(hp!.learningRate!.dataSync()[0]! - 0.3) < 1e-7);
 * ```
 */
export function findHyperparams(
  state: unknown,
): Record<string, tf.Scalar> | undefined {
  return findInjected(state)?.hyperparams;
}

/** Whether `x` is an `injectHyperparams` state (a count and hyperparameters). */
function isInjected(x: unknown): x is InjectHyperparamsState {
  if (x === null || typeof x !== "object" || x instanceof tf.Tensor) {
    return false;
  }
  const rec = x as Record<string, unknown>;
  return rec.count instanceof tf.Tensor && rec.hyperparams !== null &&
    typeof rec.hyperparams === "object";
}

/** The first `injectHyperparams` state inside a state tree, depth first. */
function findInjected(state: unknown): InjectHyperparamsState | undefined {
  return findInState(state, isInjected);
}

/**
 * `state` with its first `injectHyperparams` state (as
 * {@linkcode findInjected} finds it) replaced by `fn` of it; the arrays and
 * objects on the way are copied, everything else is shared.
 */
function withInjected(
  state: unknown,
  fn: (inner: InjectHyperparamsState) => InjectHyperparamsState,
): unknown {
  if (isInjected(state)) return fn(state);
  if (
    state === null || typeof state !== "object" || state instanceof tf.Tensor
  ) return state;
  for (const [k, v] of Object.entries(state)) {
    if (findInjected(v) === undefined) continue;
    const replaced = withInjected(v, fn);
    if (Array.isArray(state)) {
      return state.map((x, i) => String(i) === k ? replaced : x);
    }
    return { ...state, [k]: replaced };
  }
  return state;
}
