/**
 * What a fuser reads: the description of a transformation's math, for
 * `@centra/webgpu`'s `fuse` and any other backend that compiles chains. Users
 * who write transforms do not need this module: `@centra/chain/expr` builds
 * them ({@linkcode ElementwiseSpec} is what its `elementwise` records).
 *
 * A fuser walks a transformation with {@linkcode describe}: a `chain` or
 * `namedChain` answers its parts, an elementwise stage its
 * {@linkcode ElementwiseSpec} (checks, per-step scalars, per-parameter
 * math), `injectHyperparams` a delegate, anything else `undefined` (run it
 * op by op). For an elementwise stage it validates with `spec.check`, takes
 * the step's scalars with `spec.step`, composes `spec.math` per parameter,
 * reads tensors with {@linkcode stageInput} and builds the next state with
 * {@linkcode nextState}. {@linkcode register} and {@linkcode validator} mark
 * transformations for it.
 *
 * @example Walk a chain
 * ```ts
 * import { describe } from "@centra/chain/fuser";
 * import { adam } from "@centra/chain/optimizers";
 * import assert from "node:assert/strict";
 *
 * const d = describe(adam(1e-3));
 * assert.equal(d?.kind, "chain");
 * ```
 *
 * @module
 */
import "./tfjs_check.ts";
import type * as tf from "@tensorflow/tfjs";
import type { Expr } from "./_expr.ts";
import type {
  GradientTransformation,
  Hyper,
  Params,
  Updates,
} from "./types.ts";

export type { Expr } from "./_expr.ts";
export type {
  GradientTransformation,
  Hyper,
  Params,
  Updates,
} from "./types.ts";

/** What one elementwise stage computes for one parameter. */
export interface StageMath {
  /** The outgoing update, in terms of `input("g")`, `input("p")`, slots and hypers. */
  update: Expr;
  /** New values of the per-parameter state slots, by slot name. */
  slots?: Readonly<Record<string, Expr>>;
}

/**
 * The description of an elementwise transform: enough for op-by-op
 * evaluation and for a code generator.
 *
 * @typeParam S The transform's state.
 */
export interface ElementwiseSpec<S> {
  /** The transform's name, for error messages. */
  readonly where: string;
  /** Keys of the state holding one tensor per parameter (`PerParam` maps). */
  readonly slots: readonly string[];
  /** Builds the initial state. */
  init(params: Params): S;
  /** Validates a step's inputs; throws before anything is computed. */
  check(updates: Updates, state: S, params?: Params): void;
  /**
   * The step's scalars by name, and the state's non-slot entries for the
   * next step (a step count, say). Called once per step.
   */
  step(state: S): { hypers: Record<string, Hyper>; rest: Partial<S> };
  /** One parameter's math, or `null` to pass its update through unchanged. */
  math(name: string, shape: readonly number[]): StageMath | null;
}

/** What {@linkcode describe} finds in a transformation. */
export type Description =
  | { kind: "elementwise"; spec: ElementwiseSpec<unknown> }
  | {
    kind: "chain";
    parts: readonly GradientTransformation<unknown>[];
    /** State keys of a `namedChain`; absent for `chain` (a list state). */
    names?: readonly string[];
  }
  | {
    /**
     * A transformation that builds an inner one at every step
     * (`injectHyperparams`): `update` is its own update with the inner
     * transformation's update left to `run`, so that a fuser can fuse it.
     */
    kind: "delegate";
    update(
      updates: Updates,
      state: unknown,
      params: Params | undefined,
      run: InnerRun,
    ): [Updates, unknown];
  };

/**
 * Runs an inner transformation's update for a {@linkcode Description} of
 * kind `"delegate"` (by default `tx.update(updates, state, params)`).
 */
export type InnerRun = (
  tx: GradientTransformation<unknown>,
  updates: Updates,
  state: unknown,
  params: Params | undefined,
) => [Updates, unknown];

const registry = new WeakMap<object, Description>();

/**
 * Records what a transformation is, for {@linkcode describe}. `chain` and
 * `namedChain` call it; `elementwise` does too.
 *
 * @param tx The transformation.
 * @param description Its description.
 * @returns `tx`.
 *
 * @example
 * ```ts
 * import { describe, register } from "@centra/chain/fuser";
 * import { identity } from "@centra/chain/identity";
 * import assert from "node:assert/strict";
 *
 * const tx = register(identity(), { kind: "chain", parts: [] });
 * assert.equal(describe(tx)?.kind, "chain");
 * ```
 */
export function register<T extends object>(
  tx: T,
  description: Description,
): T {
  registry.set(tx, description);
  return tx;
}

/**
 * What a transformation is made of: an elementwise stage with its math, a
 * chain with its parts, or `undefined` for anything else (which a fuser
 * runs op by op).
 *
 * @param tx The transformation.
 * @returns Its description, or `undefined`.
 *
 * @example
 * ```ts
 * import { describe } from "@centra/chain/fuser";
 * import { chain } from "@centra/chain/chain";
 * import { scaleByAdam } from "@centra/chain/scale-by-adam";
 * import assert from "node:assert/strict";
 *
 * const tx = chain(scaleByAdam());
 * const d = describe(tx);
 * assert.equal(d?.kind, "chain");
 * assert.equal(d?.kind === "chain" && describe(d.parts[0]!)?.kind, "elementwise");
 * ```
 */
export function describe(tx: object): Description | undefined {
  return registry.get(tx);
}

/**
 * Marks a transformation whose `update` only validates (it returns its
 * updates and its state unchanged, and computes nothing) as an elementwise
 * pass-through, so that a fuser can run the stages around it as one.
 *
 * @typeParam S The state.
 * @param tx The validating transformation.
 * @returns `tx`, registered.
 *
 * @example
 * ```ts
 * import { describe, validator } from "@centra/chain/fuser";
 * import { identity } from "@centra/chain/identity";
 * import assert from "node:assert/strict";
 *
 * assert.equal(describe(validator(identity()))?.kind, "elementwise");
 * ```
 */
export function validator<S>(
  tx: GradientTransformation<S>,
): GradientTransformation<S> {
  const spec: ElementwiseSpec<S> = {
    where: "validator",
    slots: [],
    init: (params: Params): S => tx.init(params),
    check(updates: Updates, state: S, params?: Params): void {
      tx.update(updates, state, params);
    },
    step: () => ({ hypers: {}, rest: {} }),
    math: () => null,
  };
  registry.set(tx, {
    kind: "elementwise",
    spec: spec as ElementwiseSpec<unknown>,
  });
  return tx;
}

/**
 * Looks up one tensor input of a stage: `"g"`, `"p"` or `"slot:<name>"`.
 *
 * @typeParam S The stage's state.
 * @param spec The stage.
 * @param updates The stage's incoming updates.
 * @param state The stage's state.
 * @param params The parameters.
 * @param param The parameter's name.
 * @param name The input's name.
 * @returns The tensor.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { describe, stageInput } from "@centra/chain/fuser";
 * import { trace } from "@centra/chain/trace";
 * import assert from "node:assert/strict";
 *
 * const tx = trace(0.9);
 * const d = describe(tx);
 * const state = tx.init({ w: tf.zeros([1]) });
 * if (d?.kind === "elementwise") {
 *   assert.equal(stageInput(d.spec, {}, state, undefined, "w", "slot:trace"), state.trace.w);
 * }
 * ```
 */
export function stageInput<S>(
  spec: ElementwiseSpec<S>,
  updates: Updates,
  state: S,
  params: Params | undefined,
  param: string,
  name: string,
): tf.Tensor {
  let t: tf.Tensor | undefined;
  if (name === "g") t = updates[param];
  else if (name === "p") t = params?.[param];
  else if (name.startsWith("slot:")) {
    const slots = (state as Record<string, Record<string, tf.Tensor>>)[
      name.slice(5)
    ];
    t = slots?.[param];
  }
  if (t === undefined) {
    throw new TypeError(
      `${spec.where}: no input "${name}" for parameter "${param}"`,
    );
  }
  return t;
}

/**
 * The stage's next state: `rest` over the old state, each slot with the
 * computed parameters replaced and the others carried over.
 *
 * @typeParam S The stage's state.
 * @param spec The stage.
 * @param state The old state.
 * @param rest The non-slot entries from `step`.
 * @param values Per parameter, the computed slot values by slot name.
 * @returns The new state.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { describe, nextState } from "@centra/chain/fuser";
 * import { trace } from "@centra/chain/trace";
 * import assert from "node:assert/strict";
 *
 * const tx = trace(0.9);
 * const d = describe(tx);
 * const state = tx.init({ a: tf.zeros([1]), b: tf.zeros([1]) });
 * const fresh = tf.ones([1]);
 * if (d?.kind === "elementwise") {
 *   const next = nextState(d.spec, state, {}, { a: { trace: fresh } }) as typeof state;
 *   assert.equal(next.trace.a, fresh);
 *   assert.equal(next.trace.b, state.trace.b);
 * }
 * ```
 */
export function nextState<S>(
  spec: ElementwiseSpec<S>,
  state: S,
  rest: Partial<S>,
  values: Readonly<Record<string, Readonly<Record<string, tf.Tensor>>>>,
): S {
  const next = { ...state, ...rest } as Record<string, unknown>;
  const old = state as Record<string, Record<string, tf.Tensor>>;
  for (const s of spec.slots) {
    const fresh: Record<string, tf.Tensor> = {};
    for (const [param, v] of Object.entries(values)) {
      if (v[s] !== undefined) fresh[param] = v[s];
    }
    next[s] = Object.keys(fresh).length === 0
      ? old[s]
      : { ...old[s], ...fresh };
  }
  return next as S;
}
