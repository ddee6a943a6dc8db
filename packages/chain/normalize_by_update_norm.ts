/**
 * Normalizes all updates together by their global norm.
 *
 * @module
 */
import { checkOptions } from "./_check.ts";
import {
  add,
  div,
  elementwise,
  globalSum,
  max,
  mul,
  sqrt,
  square,
} from "./expr.ts";
import type { EmptyState } from "./identity.ts";
import type { GradientTransformation, Hyper } from "./types.ts";

/** The least positive normal float32: the denominator's floor. */
const FLT_MIN = 1.1754943508222875e-38;

/** Options of {@linkcode normalizeByUpdateNorm}. */
export interface NormalizeByUpdateNormOptions {
  /** Multiplies the normalized updates (may be negative). Default 1. */
  scaleFactor?: Hyper;
  /** Added to the global norm. Default 1e-6. */
  eps?: Hyper;
}

/**
 * Divides every update by the global norm of all of them:
 * `u = scaleFactor g / (‖g‖ + eps)`, with `‖g‖` the Euclidean norm over
 * every element of every tensor of the step, so the updates together have
 * norm `|scaleFactor|` (up to `eps`; updates that are all zero stay zero). Stateless; optax's
 * `normalize_by_update_norm`. A global sum: a fused step reads it before
 * the elementwise pass.
 *
 * @param options The scale factor and eps.
 * @returns A stateless transformation.
 * @throws {TypeError} For an unknown option or one of the wrong kind.
 * @throws {RangeError} For a negative `eps` or a non-finite value.
 *
 * @example Two tensors of joint norm 5 come out with norm 1
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { normalizeByUpdateNorm } from "@centra/chain/normalize-by-update-norm";
 * import assert from "node:assert/strict";
 *
 * const tx = normalizeByUpdateNorm({ eps: 0 });
 * const [u] = tx.update({ a: tf.tensor1d([3]), b: tf.tensor1d([0, -4]) }, tx.init({}));
 * assert.ok(Math.abs(u.a!.dataSync()[0]! - 0.6) < 1e-7);
 * assert.ok(Math.abs(u.b!.dataSync()[1]! + 0.8) < 1e-7);
 * ```
 */
export function normalizeByUpdateNorm(
  options: NormalizeByUpdateNormOptions = {},
): GradientTransformation<EmptyState> {
  const where = "normalizeByUpdateNorm";
  checkOptions(where, options, { scaleFactor: "hyper", eps: "hyper" });
  const { scaleFactor = 1, eps = 1e-6 } = options;
  return elementwise({
    where,
    hypers: { scaleFactor, eps: [eps, { min: 0 }] },
    math: ({ g, hypers: h }) => {
      // one tag for every instance: a fuser renames it per stage
      const norm = sqrt(globalSum("normalizeByUpdateNorm", square(g)));
      // with eps 0, updates that are all zero stay zero (0 / FLT_MIN, not
      // 0/0); arithmetic, not a select on the global norm, which
      // @centra/webgpu's shaders cannot take as a condition
      return {
        update: div(mul(h.scaleFactor, g), max(add(norm, h.eps), FLT_MIN)),
      };
    },
  }) as GradientTransformation<EmptyState>;
}
