/**
 * Describes every variable of a tfjs LayersModel: which layer owns it, what
 * it is, and how Gradient Centralization treats it.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import {
  axesOf,
  checkRoleLayouts,
  layoutOf,
  type RoleLayouts,
} from "./layouts.ts";
import { type Bag, checkModel, isLayer } from "./_source.ts";
import type { ParamInfo } from "./types.ts";

export type { ParamInfo } from "./types.ts";

/** Options of {@linkcode describeParams}. */
export interface DescribeOptions {
  /**
   * Centralize Embedding tables, over the vocabulary axis (each embedding
   * dimension is a unit, as in a Dense layer on one-hot inputs). Default
   * false: the gradient of an embedding table is sparse, and centralizing it
   * would move the rows of every token not in the batch.
   */
  embeddings?: boolean;
  /**
   * Layouts of custom layer classes, by class name then role; these win over
   * the built-in and registered ones.
   */
  layouts?: Readonly<Record<string, RoleLayouts>>;
}

interface Owner {
  layer: tf.layers.Layer;
  path: string[];
}

/** The layers directly inside a container or wrapper layer. */
function children(layer: tf.layers.Layer): tf.layers.Layer[] {
  const bag = layer as unknown as Bag;
  if (Array.isArray(bag.layers)) return bag.layers.filter(isLayer);
  // Bidirectional: its `layer` is an unbuilt template; the weights live in
  // the forward and backward copies.
  if (isLayer(bag.forwardLayer) || isLayer(bag.backwardLayer)) {
    return [bag.forwardLayer, bag.backwardLayer].filter(isLayer);
  }
  if (isLayer(bag.layer)) return [bag.layer];
  return [];
}

/**
 * Records, for every variable, the deepest layer whose `weights` hold it.
 * RNN layers hold their cell's weights, so the RNN layer is their owner.
 */
function findOwners(
  layer: tf.layers.Layer,
  path: string[],
  owners: Map<string, Owner>,
  depth: Map<string, number>,
): void {
  for (const w of layer.weights) {
    if ((depth.get(w.name) ?? -1) < path.length) {
      owners.set(w.name, { layer, path });
      depth.set(w.name, path.length);
    }
  }
  for (const child of children(layer)) {
    findOwners(child, [...path, child.name], owners, depth);
  }
}

function roleOf(originalName: string): string {
  const slash = originalName.lastIndexOf("/");
  return slash < 0 ? originalName : originalName.slice(slash + 1);
}

/**
 * Describes every variable of a model, trainable or not, in the order of
 * `model.weights`: its name, owning layer, class, role, shape, whether it is
 * trained, its output axes and its GC axes.
 *
 * Works for Sequential and functional models, models nested as layers,
 * shared layers (their variables appear once), wrappers (Bidirectional,
 * TimeDistributed: the wrapped layer is the owner) and models loaded with
 * `tf.loadLayersModel`. GC axes follow each layer's tfjs layout (see
 * {@linkcode Layout}); a layer class this package does not know gives layout
 * `"unknown"` and no GC axes (teach it with `registerLayouts` or the
 * `layouts` option).
 *
 * @param model A built `tf.LayersModel`.
 * @param options GC on embeddings; layouts of custom layers.
 * @returns One entry per variable.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { describeParams } from "@centra/match/describe-params";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.conv2dTranspose({ filters: 4, kernelSize: 3, inputShape: [8, 8, 2], name: "up" }),
 *     tf.layers.batchNormalization({ name: "bn" }),
 *   ],
 * });
 * const [kernel, bias, gamma] = describeParams(model);
 * assert.equal(kernel!.role, "kernel");
 * assert.deepEqual(kernel!.shape, [3, 3, 4, 2]); // [kh, kw, out, in]
 * assert.deepEqual(kernel!.outputAxes, [2]);
 * assert.deepEqual(kernel!.gcAxes, [0, 1, 3]);
 * assert.equal(bias!.gcAxes, null);
 * assert.equal(gamma!.layerClass, "BatchNormalization");
 * ```
 */
export function describeParams(
  model: tf.LayersModel,
  options: DescribeOptions = {},
): ParamInfo[] {
  const where = "describeParams";
  checkModel(where, model);
  const { embeddings = false, layouts } = options;
  if (typeof embeddings !== "boolean") {
    throw new TypeError(
      `${where}: embeddings must be a boolean, got ${String(embeddings)}`,
    );
  }
  const checked: Record<string, RoleLayouts> = {};
  if (layouts !== undefined) {
    if (layouts === null || typeof layouts !== "object") {
      throw new TypeError(
        `${where}: layouts must be a record by layer class, got ${
          String(layouts)
        }`,
      );
    }
    for (const [cls, roles] of Object.entries(layouts)) {
      checked[cls] = checkRoleLayouts(where, cls, roles);
    }
  }
  const owners = new Map<string, Owner>();
  findOwners(model, [], owners, new Map());
  const trainable = new Set(model.trainableWeights.map((w) => w.name));
  const seen = new Set<string>();
  const out: ParamInfo[] = [];
  for (const w of model.weights) {
    if (seen.has(w.name)) continue;
    seen.add(w.name);
    const owner = owners.get(w.name) ?? { layer: model, path: [] };
    const originalName = w.originalName ?? w.name;
    const role = roleOf(originalName);
    const shape = [...w.shape] as number[];
    const layerClass = owner.layer.getClassName();
    const layout = layoutOf({ layerClass, role, shape }, { layouts: checked });
    const { outputAxes, gcAxes } = axesOf(layout, shape, { embeddings });
    out.push(Object.freeze({
      name: w.name,
      originalName,
      layerName: owner.layer.name,
      layerPath: Object.freeze(owner.path),
      layerClass,
      role,
      shape: Object.freeze(shape),
      trainable: trainable.has(w.name),
      layout,
      outputAxes: outputAxes === null ? null : Object.freeze(outputAxes),
      gcAxes: gcAxes === null ? null : Object.freeze(gcAxes),
    }));
  }
  return out;
}
