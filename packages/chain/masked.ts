import * as tf from "@tensorflow/tfjs";
import { show } from "./_check.ts";
import { checkTransformation } from "./_drive.ts";
import { checkMask, checkMaskKind, inMask } from "./_mask.ts";
import { type EmptyState, mapUpdates } from "./identity.ts";
import type { GradientTransformation, Mask, Params, Updates } from "./types.ts";

/** State of {@linkcode masked}: the inner transformation's state. */
export interface MaskedState<S = unknown> {
  /** The inner state, built for the masked parameters only. */
  inner: S;
}

function pick(
  tensors: Record<string, tf.Tensor>,
  keep: (name: string, t: tf.Tensor) => boolean,
) {
  const inside: Record<string, tf.Tensor> = {};
  const outside: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    (keep(k, t) ? inside : outside)[k] = t;
  }
  return [inside, outside] as const;
}

/**
 * Applies `inner` to the parameters the mask selects; the others' updates
 * pass through unchanged and get no inner state (optax `masked`).
 *
 * @typeParam S The inner state.
 * @param inner The transformation for the selected parameters.
 * @param mask A map of booleans by name, or a function of name and shape.
 * @returns A transformation whose state holds the inner state.
 *
 * @example Weight decay on kernels only
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
import { show } from "./_check.ts";
 * import { addDecayedWeights, masked } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const tx = masked(addDecayedWeights(1), (name) => name.endsWith("/kernel"));
 * const params = { "d/kernel": tf.ones([2, 2]), "d/bias": tf.ones([2]) };
 * const grads = { "d/kernel": tf.zeros([2, 2]), "d/bias": tf.zeros([2]) };
 * const [u] = tx.update(grads, tx.init(params), params);
 * assert.equal(u["d/kernel"]!.dataSync()[0], 1);
 * assert.equal(u["d/bias"]!.dataSync()[0], 0);
 * ```
 */
export function masked<S>(
  inner: GradientTransformation<S>,
  mask: Mask,
): GradientTransformation<MaskedState<S>> {
  checkTransformation("masked: inner", inner);
  checkMaskKind("masked", mask);
  const sel = (name: string, t: tf.Tensor) => inMask(mask, name, t.shape);
  return {
    init(params: Params): MaskedState<S> {
      checkMask("masked", mask, params);
      return { inner: inner.init(pick(params, sel)[0]) };
    },
    update(
      updates: Updates,
      state: MaskedState<S>,
      params?: Params,
    ): [Updates, MaskedState<S>] {
      const [inside, outside] = pick(updates, sel);
      const innerParams = params === undefined
        ? undefined
        : pick(params, sel)[0];
      if (state === null || typeof state !== "object" || !("inner" in state)) {
        throw new TypeError(
          `masked: the state does not fit this transformation: expected { inner }, got ${
            show(state)
          }`,
        );
      }
      const [u, s] = inner.update(inside, state.inner, innerParams);
      return [{ ...outside, ...u }, { inner: s }];
    },
  };
}

/**
 * Zeroes the updates of the selected parameters, so they stay as they are
 * (optax `freeze`). Frozen parameters keep no optimizer state.
 *
 * @param mask A map of booleans by name, or a function of name and shape.
 * @returns A stateless transformation.
 *
 * @example Freeze a backbone
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
import { show } from "./_check.ts";
 * import { freeze } from "@centra/chain/masked";
 * import assert from "node:assert/strict";
 *
 * const tx = freeze((name) => name.startsWith("backbone/"));
 * const g = { "backbone/w": tf.ones([2]), "head/w": tf.ones([2]) };
 * const [u] = tx.update(g, tx.init(g));
 * assert.equal(u["backbone/w"]!.dataSync()[0], 0);
 * assert.equal(u["head/w"]!.dataSync()[0], 1);
 * ```
 */
export function freeze(mask: Mask): GradientTransformation<EmptyState> {
  checkMaskKind("freeze", mask);
  return {
    init(params: Params): EmptyState {
      checkMask("freeze", mask, params);
      return {};
    },
    update: (updates: Updates, state: EmptyState): [Updates, EmptyState] => [
      mapUpdates(
        updates,
        (u, name) => (inMask(mask, name, u.shape) ? tf.zerosLike(u) : u),
      ),
      state,
    ],
  };
}
