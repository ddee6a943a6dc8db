/**
 * The exact Gradient Centralization axes of every variable of a model, as the
 * resolver `centralize({ axes })` takes.
 *
 * @module
 */
import type { AxesResolver } from "@centra/chain/types";
import {
  type DescribeOptions,
  describeParams,
  type ParamInfo,
} from "./describe_params.ts";
import { axesOf } from "./layouts.ts";
import type { Selector } from "./types.ts";
import { type ParamSource, pick } from "./_infos.ts";

// Re-exported so that this package's documentation is complete.
export type { AxesResolver } from "@centra/chain/types";
import { checkDescription, isDescription, sourceName } from "./_source.ts";

/** Options of {@linkcode gcAxes}. */
export interface GcAxesOptions extends DescribeOptions {
  /**
   * Centralize only these parameters (the others are left alone), for
   * instance conv layers only: `byClass(["Conv2D", "DepthwiseConv2D"])`. A
   * selector that matches no trainable parameter is a `RangeError`.
   */
  select?: Selector;
  /**
   * What to do with a weight of a layer class this package does not know
   * (layout `"unknown"`): `"error"` (default) throws a `RangeError` naming
   * every trainable one, `"skip"` leaves it alone, `"output_last"` treats it like a Dense or
   * Conv kernel (output axis last, as `centralize`'s default does).
   */
  unknown?: "error" | "skip" | "output_last";
}

/**
 * Builds the GC axes resolver of a model: for every variable, the axes of
 * each output unit's fan-in in that layer's tfjs layout, or `null` where GC
 * does not apply. Pass it to `centralize({ axes })` or to an optimizer's
 * `gc` option.
 *
 * Dense and ConvND kernels reduce over every axis but the last;
 * Conv2DTranspose and Conv3DTranspose keep axis -2 (their layout is
 * `[...k, out, in]`); DepthwiseConv2D reduces over the kernel's spatial axes
 * only; SeparableConv2D's depthwise and pointwise kernels each follow their
 * own rule; RNN kernels and recurrent kernels treat each gate column as a
 * unit; Embedding tables are left alone unless `embeddings: true`; rank-1
 * tensors and PReLU's alpha never change; a tensor whose fan-in has one
 * element is left alone (GC would zero its gradient).
 *
 * The resolver throws a `TypeError` for a name the model does not have and a
 * `RangeError` for a shape that differs from the variable's.
 *
 * @param source A model, or its description from `describeParams` (then the
 *   description's GC axes are used as they are).
 * @param options GC on embeddings, custom layouts, a selection, unknown layers.
 * @returns The resolver.
 *
 * @example SGDM + GC with each layer's own axes
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { gcAxes } from "@centra/match/gc-axes";
 * import { sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.depthwiseConv2d({ kernelSize: 3, inputShape: [8, 8, 2], name: "gc_dw" }),
 *     tf.layers.conv2dTranspose({ filters: 4, kernelSize: 2, name: "gc_up" }),
 *   ],
 * });
 * const axes = gcAxes(model);
 * assert.deepEqual(axes("gc_dw/depthwise_kernel", [3, 3, 2, 1]), [0, 1]);
 * assert.deepEqual(axes("gc_up/kernel", [2, 2, 4, 2]), [0, 1, 3]);
 * assert.equal(axes("gc_up/bias", [4]), null);
 * const tx = sgd(0.1, { momentum: 0.9, gc: axes });
 * assert.ok(tx !== undefined);
 * ```
 */
export function gcAxes(
  source: ParamSource,
  options: GcAxesOptions = {},
): AxesResolver {
  const where = "gcAxes";
  const { select, unknown = "error", ...describe } = options;
  if (unknown !== "error" && unknown !== "skip" && unknown !== "output_last") {
    throw new TypeError(
      `${where}: unknown must be "error", "skip" or "output_last", got ${
        String(unknown)
      }`,
    );
  }
  const infos = gcInfos(source, describe);
  const chosen = select === undefined ? null : new Set(
    pick(where, infos.filter((i) => i.trainable), select, { source })
      .map((i) => i.name),
  );
  const table = axesTable(source, infos, { chosen, unknown });
  return (name: string, shape: readonly number[]): number[] | null => {
    const entry = table.get(name);
    if (entry === undefined) {
      throw new TypeError(
        `${where}: "${name}" is not a variable of ${sourceName(source)}`,
      );
    }
    if (
      shape.length !== entry.shape.length ||
      shape.some((d, i) => d !== entry.shape[i])
    ) {
      throw new RangeError(
        `${where}: "${name}" has shape [${shape}] but the variable has [${entry.shape}]`,
      );
    }
    return entry.axes === null ? null : [...entry.axes];
  };
}

/** The description `gcAxes` works from: given, or made from the model. */
function gcInfos(
  source: ParamSource,
  describe: Omit<GcAxesOptions, "select" | "unknown">,
): readonly ParamInfo[] {
  if (!isDescription(source)) return describeParams(source, describe);
  if (describe.embeddings !== undefined || describe.layouts !== undefined) {
    throw new TypeError(
      `gcAxes: embeddings and layouts apply when describing a model; pass them to describeParams instead`,
    );
  }
  return checkDescription("gcAxes", source);
}

/**
 * Each parameter's shape and GC axes (`null` where not chosen), unknown
 * layouts handled as `unknown` says.
 *
 * @throws {RangeError} Naming every trainable parameter of unknown layout,
 * when `unknown` is `"error"`.
 */
function axesTable(
  source: ParamSource,
  infos: readonly ParamInfo[],
  how: { chosen: ReadonlySet<string> | null; unknown: string },
): Map<string, { shape: readonly number[]; axes: readonly number[] | null }> {
  const { chosen, unknown } = how;
  const table = new Map<
    string,
    { shape: readonly number[]; axes: readonly number[] | null }
  >();
  const missing: ParamInfo[] = [];
  for (const info of infos) {
    let axes = info.gcAxes;
    if (chosen !== null && !chosen.has(info.name)) axes = null;
    else if (info.layout === "unknown") {
      if (unknown === "error" && info.trainable) missing.push(info);
      axes = unknown === "output_last"
        ? axesOf("output_last", info.shape).gcAxes
        : null;
    }
    table.set(info.name, { shape: info.shape, axes });
  }
  if (missing.length > 0) {
    const list = missing.map((i) =>
      `"${i.name}" (class ${i.layerClass}, role ${i.role})`
    );
    throw new RangeError(
      `gcAxes: no known GC layout for ${list.join(", ")} of ${
        sourceName(source)
      }; teach it with registerLayouts or the layouts option, or pass unknown: "skip" or "output_last"`,
    );
  }
  return table;
}
