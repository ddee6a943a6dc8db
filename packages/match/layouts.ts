/**
 * Weight layouts: where the output units of a tfjs weight tensor are, and so
 * which axes Gradient Centralization averages over.
 *
 * @module
 */

import { BUILTIN_LAYERS } from "./_layout_table.ts";
import type { Layout, RoleLayouts } from "./types.ts";

export type { Layout, RoleLayouts } from "./types.ts";

const LAYOUTS: ReadonlySet<string> = new Set<Layout>([
  "output_last",
  "output_second_last",
  "depthwise",
  "embedding",
  "none",
  "unknown",
]);

const registered = new Map<string, RoleLayouts>();

/**
 * Checks a record of layouts by role and returns a frozen copy.
 *
 * @param where The calling function, for error messages.
 * @param className The layer class the layouts are for.
 * @param roles The layouts by role.
 * @returns A checked, frozen copy.
 */
export function checkRoleLayouts(
  where: string,
  className: string,
  roles: RoleLayouts,
): RoleLayouts {
  if (roles === null || typeof roles !== "object" || Array.isArray(roles)) {
    throw new TypeError(
      `${where}: layouts for "${className}" must be a record of layouts by role, got ${
        String(roles)
      }`,
    );
  }
  for (const [role, layout] of Object.entries(roles)) {
    if (!LAYOUTS.has(layout)) {
      throw new TypeError(
        `${where}: layout of "${className}" role "${role}" must be one of ${
          [...LAYOUTS].join(", ")
        }, got ${JSON.stringify(layout)}`,
      );
    }
  }
  return Object.freeze({ ...roles });
}

/**
 * Tells this package the weight layouts of a custom layer class, so that
 * `describeParams` and `gcAxes` handle it like a built-in layer. A later
 * registration of the same class replaces the earlier one; a per-call
 * `layouts` option still takes precedence.
 *
 * @param className The class name the layer reports (`layer.getClassName()`).
 * @param roles The layout of each weight, keyed by role (the last part of
 *   the weight's name, such as `"kernel"`).
 *
 * @example A custom dense-like layer
 * ```ts
 * import { layoutOf, registerLayouts } from "@centra/match/layouts";
 * import assert from "node:assert/strict";
 *
 * registerLayouts("MyDense", { kernel: "output_last", bias: "none" });
 * const kernel = { layerClass: "MyDense", role: "kernel", shape: [4, 3] };
 * assert.equal(layoutOf(kernel), "output_last");
 * ```
 */
export function registerLayouts(className: string, roles: RoleLayouts): void {
  if (typeof className !== "string" || className === "") {
    throw new TypeError(
      `registerLayouts: className must be a non-empty string, got ${
        String(className)
      }`,
    );
  }
  registered.set(
    className,
    checkRoleLayouts("registerLayouts", className, roles),
  );
}

/** What {@linkcode layoutOf} needs to know about a weight. */
export interface WeightKind {
  /** The owning layer's class name (`layer.getClassName()`). */
  layerClass: string;
  /** The weight's role: the last part of its name, such as `"kernel"`. */
  role: string;
  /** The weight's shape. */
  shape: readonly number[];
}

/** Options of {@linkcode layoutOf}. */
export interface LayoutOfOptions {
  /** Layouts by layer class, then role; these win over the built-in ones. */
  layouts?: Readonly<Record<string, RoleLayouts>>;
}

/**
 * The layout of one weight, from its layer class, role and shape.
 *
 * Rank-0 and rank-1 tensors and weights whose role is `"bias"` are always
 * `"none"`; otherwise the layouts given in `options`, then those registered
 * with {@linkcode registerLayouts}, then the built-in table decide, and a
 * weight none of them names is `"unknown"`.
 *
 * @param weight The owning layer's class, the weight's role and shape.
 * @param options Extra layouts by layer class.
 * @returns The layout.
 *
 * @example
 * ```ts
 * import { layoutOf } from "@centra/match/layouts";
 * import assert from "node:assert/strict";
 *
 * const kernel = (layerClass: string, shape: number[]) => ({ layerClass, role: "kernel", shape });
 * assert.equal(layoutOf(kernel("Conv2DTranspose", [3, 3, 8, 4])), "output_second_last");
 * assert.equal(layoutOf(kernel("Conv2D", [3, 3, 4, 8])), "output_last");
 * assert.equal(layoutOf({ layerClass: "Dense", role: "bias", shape: [8] }), "none");
 * assert.equal(layoutOf(kernel("MyLayer", [8, 4])), "unknown");
 * ```
 */
export function layoutOf(
  weight: WeightKind,
  options: LayoutOfOptions = {},
): Layout {
  const { layerClass, role, shape } = weight;
  if (shape.length <= 1 || role === "bias") return "none";
  const layouts = options.layouts;
  const fromOptions =
    layouts !== undefined && Object.hasOwn(layouts, layerClass)
      ? layouts[layerClass]
      : undefined;
  if (fromOptions !== undefined && Object.hasOwn(fromOptions, role)) {
    return fromOptions[role]!;
  }
  const fromRegistry = registered.get(layerClass);
  if (fromRegistry !== undefined && Object.hasOwn(fromRegistry, role)) {
    return fromRegistry[role]!;
  }
  const builtin = Object.hasOwn(BUILTIN_LAYERS, layerClass)
    ? BUILTIN_LAYERS[layerClass]!.roles
    : undefined;
  if (builtin !== undefined && Object.hasOwn(builtin, role)) {
    return builtin[role]!;
  }
  return "unknown";
}

/** Options of {@linkcode axesOf}. */
export interface AxesOfOptions {
  /** Centralize Embedding tables too (over the vocabulary axis). Default false. */
  embeddings?: boolean;
}

/**
 * The output axes and GC axes a layout gives a tensor of this shape.
 *
 * `outputAxes` index the output units (`null` for `"none"` and
 * `"unknown"`); `gcAxes` are the remaining axes, each unit's fan-in, or
 * `null` where GC does not apply: layouts `"none"` and `"unknown"`,
 * `"embedding"` unless `embeddings` is set, and any tensor whose fan-in has
 * a single element (GC would zero its gradient).
 *
 * @param layout The weight's layout.
 * @param shape The weight's shape.
 * @param options Whether Embedding tables are centralized.
 * @returns Non-negative, sorted axes.
 *
 * @example Conv2DTranspose keeps axis -2
 * ```ts
 * import { axesOf } from "@centra/match/layouts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(axesOf("output_second_last", [3, 3, 8, 4]), {
 *   outputAxes: [2],
 *   gcAxes: [0, 1, 3],
 * });
 * assert.deepEqual(axesOf("depthwise", [1, 1, 8, 2]), { outputAxes: [2, 3], gcAxes: null });
 * ```
 */
export function axesOf(
  layout: Layout,
  shape: readonly number[],
  options: AxesOfOptions = {},
): { outputAxes: number[] | null; gcAxes: number[] | null } {
  const rank = shape.length;
  let outputAxes: number[];
  switch (layout) {
    case "output_last":
    case "embedding":
      outputAxes = [rank - 1];
      break;
    case "output_second_last":
      outputAxes = [rank - 2];
      break;
    case "depthwise":
      outputAxes = [rank - 2, rank - 1];
      break;
    default:
      return { outputAxes: null, gcAxes: null };
  }
  if (rank < 2 || outputAxes.some((a) => a < 0)) {
    return { outputAxes: null, gcAxes: null };
  }
  if (layout === "embedding" && options.embeddings !== true) {
    return { outputAxes, gcAxes: null };
  }
  const reduce = shape.map((_, i) => i).filter((i) => !outputAxes.includes(i));
  const fanIn = reduce.reduce((n, a) => n * shape[a]!, 1);
  return { outputAxes, gcAxes: reduce.length > 0 && fanIn > 1 ? reduce : null };
}
