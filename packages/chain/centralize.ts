import { checkOptions } from "./_check.ts";
import { elementwise, mean, sub } from "./expr.ts";
import type { AxesResolver, GradientTransformation } from "./types.ts";
import type { EmptyState } from "./identity.ts";

/**
 * The default GC axes for tfjs layouts: for a tensor of rank 2 or more,
 * every axis but the last (the output axis of Dense `[in, out]` and ConvND
 * `[...k, in, out]` kernels); rank-0 and rank-1 tensors are left alone.
 *
 * @param _name The parameter's name (unused).
 * @param shape The parameter's shape.
 * @returns The axes to average over, or `null`.
 *
 * @example
 * ```ts
 * import { defaultGcAxes } from "@centra/chain/centralize";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(defaultGcAxes("conv/kernel", [3, 3, 8, 16]), [0, 1, 2]);
 * assert.equal(defaultGcAxes("conv/bias", [16]), null);
 * ```
 */
export function defaultGcAxes(
  _name: string,
  shape: readonly number[],
): number[] | null {
  if (shape.length < 2) return null;
  return shape.slice(0, -1).map((_, i) => i);
}

/**
 * GC on convolution kernels only (rank 3 or more), as the authors' "GCC"
 * variant; Dense kernels and rank-1 tensors are left alone.
 *
 * @param name The parameter's name.
 * @param shape The parameter's shape.
 * @returns The axes to average over, or `null`.
 *
 * @example
 * ```ts
 * import { convGcAxes } from "@centra/chain/centralize";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(convGcAxes("conv/kernel", [3, 3, 8, 16]), [0, 1, 2]);
 * assert.equal(convGcAxes("dense/kernel", [8, 16]), null);
 * ```
 */
export function convGcAxes(
  name: string,
  shape: readonly number[],
): number[] | null {
  return shape.length >= 3 ? defaultGcAxes(name, shape) : null;
}

/** Options of {@linkcode centralize}. */
export interface CentralizeOptions {
  /**
   * Which axes to average over, per parameter; `null` leaves a tensor alone.
   * Default {@linkcode defaultGcAxes}. `@centra/match`'s `gcAxes(model)`
   * gives the exact axes for every layer type.
   */
  axes?: AxesResolver;
}

/**
 * Gradient Centralization: subtracts from each output unit's gradient vector
 * its mean, `Φ_GC(g) = P g` with `P = I - e eᵀ` (Yong et al. 2020, Eq. 1-2).
 *
 * A tensor whose reduced size is 1 is left alone, since GC would zero it,
 * and so is a tensor with no elements (a dimension of 0).
 *
 * Reference: H. Yong, J. Huang, X. Hua, L. Zhang, "Gradient Centralization:
 * A New Optimization Technique for Deep Neural Networks", ECCV 2020,
 * arXiv:2004.01461.
 *
 * @param options Which axes to average over.
 * @returns A stateless transformation.
 *
 * @example Centralize a Dense kernel's gradient
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { centralize } from "@centra/chain/centralize";
 * import assert from "node:assert/strict";
 *
 * const g = tf.tensor2d([[1, 4], [3, 8]]); // [in=2, out=2]
 * const [u] = centralize().update({ "dense/kernel": g }, {});
 * assert.deepEqual(Array.from(u["dense/kernel"]!.dataSync()), [-1, -2, 1, 2]);
 * ```
 */
export function centralize(
  options: CentralizeOptions = {},
): GradientTransformation<EmptyState> {
  checkOptions("centralize", options, { axes: "function" });
  const resolve = options.axes ?? defaultGcAxes;
  if (typeof resolve !== "function") {
    throw new TypeError(
      `centralize: axes must be a function (name, shape) => axes | null, got ${
        String(resolve)
      }`,
    );
  }
  return elementwise({
    where: "centralize",
    math: ({ g }) => (name, shape) => {
      const axes = gcAxesFor(resolve, name, shape);
      return axes === null ? null : { update: sub(g, mean(g, axes)) };
    },
  }) as GradientTransformation<EmptyState>;
}

/**
 * Resolves and checks the GC axes of one tensor: normalised, sorted, and
 * `null` when GC does not apply (no axes, or a reduced size of 1).
 */
export function gcAxesFor(
  resolve: AxesResolver,
  name: string,
  shape: readonly number[],
): number[] | null {
  const raw = resolve(name, shape);
  if (raw === null) return null;
  if (!Array.isArray(raw)) {
    throw new TypeError(
      `centralize: axes for "${name}" must be an array or null, got ${
        String(raw)
      }`,
    );
  }
  const rank = shape.length;
  const axes = raw.map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= rank) {
      throw new RangeError(
        `centralize: axis ${a} for "${name}" is out of range for shape [${shape}]`,
      );
    }
    return a < 0 ? a + rank : a;
  });
  const unique = [...new Set(axes)].sort((a, b) => a - b);
  if (unique.length === 0) return null;
  // no elements, no mean to subtract (a per-unit mean would be 0/0)
  if (shape.some((d) => d === 0)) return null;
  const size = unique.reduce((n, a) => n * shape[a]!, 1);
  return size > 1 ? unique : null;
}
