import { isPlainObject, show } from "./_check.ts";
import { checkTransformation } from "./_drive.ts";
import { register } from "./fuser.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

/**
 * Applies transformations one after the other; the state is the list of
 * their states.
 *
 * @param transforms The transformations, applied first to last.
 * @returns One transformation.
 * @throws {TypeError} If a part is not a transformation (naming its index).
 *
 * @example Paper SGDM with GC and L2 weight decay (Yong et al. 2020, 3.4)
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import {
 *   addDecayedWeights, centralize, chain, initState, runUpdate,
 *   scaleByLearningRate, trace,
 * } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const tx = chain(addDecayedWeights(5e-4), centralize(), trace(0.9), scaleByLearningRate(0.1));
 * const params = { w: tf.randomNormal([3, 2]) };
 * const state = initState(tx, params);
 * const [u] = runUpdate(tx, { w: tf.randomNormal([3, 2]) }, state, params);
 * // every output unit's update has zero mean
 * const means = u.w!.mean(0).abs().max().dataSync()[0]!;
 * assert.ok(means < 1e-6);
 * ```
 */
export function chain(
  ...transforms: GradientTransformation<unknown>[]
): GradientTransformation<unknown[]> {
  transforms.forEach((t, i) => checkTransformation(`chain: transform ${i}`, t));
  return register({
    init(params: Params): unknown[] {
      return transforms.map((t) => t.init(params));
    },
    update(
      updates: Updates,
      state: unknown[],
      params?: Params,
    ): [Updates, unknown[]] {
      if (!Array.isArray(state) || state.length !== transforms.length) {
        throw new TypeError(
          `chain: state must be a list of ${transforms.length} states, got ${
            Array.isArray(state) ? `a list of ${state.length}` : typeof state
          }`,
        );
      }
      const next: unknown[] = [];
      let u = updates;
      transforms.forEach((t, i) => {
        const [nu, ns] = t.update(u, state[i], params);
        u = nu;
        next.push(ns);
      });
      return [u, next];
    },
  }, { kind: "chain", parts: transforms });
}

/**
 * Like {@linkcode chain}, but each state is stored under a name, so that a
 * checkpoint or `injectHyperparams` reader can find it.
 *
 * @param transforms The transformations by name, applied in insertion order.
 * @returns One transformation whose state maps each name to its state.
 *
 * @example Name the parts of an optimizer
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { centralize, initState, namedChain, scaleByAdam } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const tx = namedChain({ gc: centralize(), adam: scaleByAdam() });
 * const state = initState(tx, { w: tf.zeros([2, 2]) });
 * assert.deepEqual(Object.keys(state), ["gc", "adam"]);
 * ```
 */
export function namedChain(
  transforms: Readonly<Record<string, GradientTransformation<unknown>>>,
): GradientTransformation<Record<string, unknown>> {
  if (!isPlainObject(transforms)) {
    throw new TypeError(
      `namedChain: transforms must be a record of transformations, got ${
        show(transforms)
      }`,
    );
  }
  const entries = Object.entries(transforms);
  for (const [k, t] of entries) checkTransformation(`namedChain: "${k}"`, t);
  return register({
    init(params: Params): Record<string, unknown> {
      return Object.fromEntries(entries.map(([k, t]) => [k, t.init(params)]));
    },
    update(updates: Updates, state: Record<string, unknown>, params?: Params) {
      for (const [k] of entries) {
        if (
          state === null || typeof state !== "object" ||
          !Object.hasOwn(state, k)
        ) {
          throw new TypeError(`namedChain: state has no entry "${k}"`);
        }
      }
      const next: Record<string, unknown> = {};
      let u = updates;
      for (const [k, t] of entries) {
        const [nu, ns] = t.update(u, state[k], params);
        u = nu;
        next[k] = ns;
      }
      return [u, next];
    },
  }, {
    kind: "chain",
    parts: entries.map(([, t]) => t),
    names: entries.map(([k]) => k),
  });
}
