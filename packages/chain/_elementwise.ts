// Private: `elementwise`, the builder of an elementwise stage (one idea of
// `@centra/chain/expr`): its update checks, takes the step's scalars,
// evaluates every parameter's math op by op, and registers its spec for
// fusers (`@centra/chain/fuser`).
import "./tfjs_check.ts";
import { checkHyperValues } from "./_check.ts";
import type { Expr } from "./_expr.ts";
import { evaluate } from "./_evaluate.ts";
import {
  type ElementwiseSpec,
  nextState,
  register,
  stageInput,
} from "./fuser.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

/**
 * Builds an elementwise transformation from its description. Its `update`
 * validates, takes the step's scalars, evaluates every parameter's math with
 * {@linkcode evaluate}, and carries over the slots of parameters it was not
 * given. `describe` (`@centra/chain/fuser`) returns the spec, so `@centra/webgpu` can fuse
 * it.
 *
 * @typeParam S The state.
 * @param spec The description.
 * @returns The transformation.
 *
 * @example Scale updates by a factor, fusable
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
  given: ElementwiseSpec<S>,
): GradientTransformation<S> {
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
      return [out, nextState(spec, state, rest, values)];
    },
  };
  return register(tx, {
    kind: "elementwise",
    spec: spec as ElementwiseSpec<unknown>,
  });
}
