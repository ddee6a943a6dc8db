// Private: what every matching function accepts as its first argument, a
// model or its description, and the checks on it.
import "@centra/chain/tfjs-check";
import type * as tf from "@tensorflow/tfjs";
import type { ParamInfo, Selector } from "./types.ts";

export type Bag = Record<string, unknown>;

/** Whether `x` looks like a tfjs layer (duck-typed: tfjs may be bundled twice). */
export function isLayer(x: unknown): x is tf.layers.Layer {
  return x !== null && typeof x === "object" &&
    typeof (x as Bag).getClassName === "function" &&
    Array.isArray((x as Bag).weights);
}

/** Throws unless `model` looks like a tf.LayersModel. */
export function checkModel(where: string, model: unknown): tf.LayersModel {
  const bag = model as Bag;
  if (
    !isLayer(model) || !Array.isArray(bag.layers) ||
    !Array.isArray(bag.trainableWeights)
  ) {
    throw new TypeError(
      `${where}: expected a tf.LayersModel, got ${String(model)}`,
    );
  }
  return model as unknown as tf.LayersModel;
}

/** Whether the source is a description rather than a model. */
export function isDescription(
  source: unknown,
): source is readonly ParamInfo[] {
  return Array.isArray(source);
}

/** Checks a description passed in place of a model. */
export function checkDescription(
  where: string,
  infos: readonly ParamInfo[],
): readonly ParamInfo[] {
  for (const [i, info] of infos.entries()) {
    const bag = info as unknown as Bag;
    if (
      bag === null || typeof bag !== "object" ||
      typeof bag.name !== "string" || !Array.isArray(bag.shape) ||
      !Array.isArray(bag.layerPath)
    ) {
      throw new TypeError(
        `${where}: entry ${i} of the description is not a ParamInfo from describeParams, got ${
          String(info)
        }`,
      );
    }
  }
  return infos;
}

/** A short name for the source in error messages. */
export function sourceName(source: unknown): string {
  return isDescription(source)
    ? "the described parameters"
    : `model "${(source as tf.LayersModel).name}"`;
}

/** Throws unless `s` is a selector. */
export function checkSelector(where: string, s: unknown): Selector {
  if (
    s === null || typeof s !== "object" ||
    typeof (s as Selector).test !== "function" ||
    typeof (s as Selector).description !== "string"
  ) {
    throw new TypeError(`${where}: expected a selector, got ${String(s)}`);
  }
  return s as Selector;
}
