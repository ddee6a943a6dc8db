// Private: `elementwise`, the builder of an elementwise stage (one idea of
// `@centra/chain/expr`). From a stage's math it derives the rest: the state
// (its slots and a step count), `init`, the structural checks and the
// per-step scalars; its update evaluates every parameter's math op by op and
// it registers its spec for fusers (`@centra/chain/fuser`).
import "./tfjs_check.ts";
import { checkHyperValues } from "./_check.ts";
import type { Expr } from "./_expr.ts";
import { evaluate } from "./_evaluate.ts";
import { passOn } from "./_structure.ts";
import {
  deriveSpec,
  type ElementwiseDefinition,
  type StageState,
} from "./_stage_spec.ts";
import {
  type ElementwiseSpec,
  nextState,
  register,
  stageInput,
} from "./fuser.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

/**
 * Builds an elementwise transformation from its math. Given an
 * {@linkcode ElementwiseDefinition}, it derives the state (the declared
 * slots, and a step count when the math reads `count` or a hyperparameter is
 * a schedule), `init`, the structural checks (with slots, every update's
 * name and shape against the state; when the math reads `p`, `params` with
 * every name and shape) and each step's scalars (a schedule at the count
 * before the step). It checks the hyperparameters against their bounds, and
 * refuses a `hyper()` with no value or a `slot()` not declared, when it is
 * built (for math per parameter: when a parameter's math is made, before
 * anything is computed).
 *
 * Given a full {@linkcode ElementwiseSpec} instead (`init`, `check`, `step`,
 * `math` written by hand), it uses it as it is.
 *
 * Its `update` checks, takes the step's scalars, evaluates every
 * parameter's math with {@linkcode evaluate}, and carries over the slots of
 * parameters it was not given. `describe` (`@centra/chain/fuser`) returns
 * the spec, so `@centra/webgpu` can fuse it.
 *
 * @typeParam H The hyperparameters' names.
 * @typeParam K The slots' names.
 * @param definition The stage: name, hyperparameters, slots, math.
 * @returns The transformation.
 * @throws {TypeError} If a hyperparameter has no value or is of the wrong
 * kind, or the math reads a `hyper()` or `slot()` that is not declared.
 * @throws {RangeError} If a hyperparameter is out of its bounds.
 *
 * @example Momentum with a decay, fusable
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { add, elementwise, mul } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * const momentum = elementwise({
 *   where: "momentum",
 *   hypers: { decay: [0.5, { min: 0, max: 1 }] },
 *   slots: { trace: 0 },
 *   math: ({ g, hypers, slots }) => {
 *     const m = add(g, mul(hypers.decay, slots.trace));
 *     return { update: m, slots: { trace: m } };
 *   },
 * });
 * let s = momentum.init({ w: tf.zeros([1]) });
 * let u;
 * [u, s] = momentum.update({ w: tf.tensor1d([2]) }, s);
 * [u, s] = momentum.update({ w: tf.tensor1d([2]) }, s);
 * assert.equal(u.w!.dataSync()[0], 3); // 2 + 0.5 * 2
 * assert.throws(() => elementwise({ where: "bad", hypers: { k: undefined }, math: ({ g }) => ({ update: g }) }), /"k" has no value/);
 * ```
 */
export function elementwise<H extends string = never, K extends string = never>(
  definition: ElementwiseDefinition<H, K>,
): GradientTransformation<StageState<K>>;
/**
 * Builds an elementwise transformation from a full spec written by hand.
 *
 * @typeParam S The state.
 * @param spec The spec.
 * @returns The transformation.
 *
 * @example Scale updates by a factor
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { elementwise, hyper, input, mul } from "@centra/chain/expr";
 * import assert from "node:assert/strict";
 *
 * const double = elementwise({
 *   where: "double", slots: [],
 *   init: () => ({}), check: () => {},
 *   step: () => ({ hypers: { k: 2 }, rest: {} }),
 *   math: () => ({ update: mul(input("g"), hyper("k")) }),
 * });
 * const [u] = double.update({ w: tf.tensor1d([3]) }, {});
 * assert.equal(u.w!.dataSync()[0], 6);
 * ```
 */
export function elementwise<S>(
  spec: ElementwiseSpec<S>,
): GradientTransformation<S>;
export function elementwise(
  given: ElementwiseSpec<unknown> | ElementwiseDefinition<string, string>,
): GradientTransformation<unknown> {
  return fromSpec(
    "step" in given && typeof given.step === "function"
      ? given as ElementwiseSpec<unknown>
      : deriveSpec(given as ElementwiseDefinition<string, string>),
  );
}

/** The transformation of a spec, registered for fusers. */
function fromSpec<S>(given: ElementwiseSpec<S>): GradientTransformation<S> {
  // every driver, op by op or fused, reads the step's scalars through here
  const spec: ElementwiseSpec<S> = {
    ...given,
    step(state: S) {
      const out = given.step(state);
      checkHyperValues(given.where, out.hypers);
      return out;
    },
  };
  const tx: GradientTransformation<S> = {
    init: (params: Params): S => spec.init(params),
    update(updates: Updates, state: S, params?: Params): [Updates, S] {
      spec.check(updates, state, params);
      const { hypers, rest } = spec.step(state);
      const outputs: Record<string, Record<string, Expr>> = {};
      for (const [name, g] of Object.entries(updates)) {
        // a tensor with no elements passes through: its update is itself
        const m = g.size === 0 ? null : spec.math(name, g.shape);
        if (m !== null) outputs[name] = { ...m.slots, "": m.update };
      }
      const values = evaluate(
        outputs,
        (param, name) => stageInput(spec, updates, state, params, param, name),
        hypers,
      );
      const out: Updates = {};
      for (const [name, g] of Object.entries(updates)) {
        out[name] = values[name]?.[""] ?? g;
      }
      passOn(updates, out); // same names and shapes: a vouch holds for both
      return [out, nextState(spec, state, rest, values)];
    },
  };
  return register(tx, {
    kind: "elementwise",
    spec: spec as ElementwiseSpec<unknown>,
  });
}
