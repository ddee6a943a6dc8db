import "./tfjs_check.ts";
import type {
  EmptyState,
  GradientTransformation,
  Params,
  Updates,
} from "./types.ts";

export type { EmptyState } from "./types.ts";

/**
 * Passes updates through unchanged.
 *
 * @returns A stateless transformation that returns its input.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { identity } from "@centra/chain/identity";
 * import assert from "node:assert/strict";
 *
 * const g = { w: tf.ones([2]) };
 * const [u] = identity().update(g, {});
 * assert.equal(u.w, g.w);
 * ```
 */
export function identity(): GradientTransformation<EmptyState> {
  return {
    init: (_params: Params): EmptyState => ({}),
    update: (
      updates: Updates,
      state: EmptyState,
    ): [Updates, EmptyState] => [updates, state],
  };
}

/**
 * Builds a transformation with no state from a function of the updates and
 * (optionally) the parameters.
 *
 * @param fn Computes new updates; it must not mutate its inputs.
 * @returns A stateless transformation.
 *
 * @example Negate every update
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { stateless } from "@centra/chain/identity";
 * import assert from "node:assert/strict";
 *
 * const neg = stateless((u) => Object.fromEntries(Object.entries(u).map(([k, t]) => [k, t.neg()])));
 * const [u] = neg.update({ w: tf.tensor1d([1, -2]) }, {});
 * assert.deepEqual(Array.from(u.w!.dataSync()), [-1, 2]);
 * ```
 */
export function stateless(
  fn: (updates: Updates, params?: Params) => Updates,
): GradientTransformation<EmptyState> {
  return {
    init: (_params: Params): EmptyState => ({}),
    update: (
      updates: Updates,
      state: EmptyState,
      params?: Params,
    ): [Updates, EmptyState] => [
      fn(updates, params),
      state,
    ],
  };
}

/** Maps `fn` over every update by name, as a stateless transform's body. */
export function mapUpdates(
  updates: Updates,
  fn: (u: Updates[string], name: string) => Updates[string],
): Updates {
  const out: Updates = {};
  for (const [k, u] of Object.entries(updates)) out[k] = fn(u, k);
  return out;
}
