// Private: turning a model or a description into the parameters to match.
import type * as tf from "@tensorflow/tfjs";
import { describeParams, type ParamInfo } from "./describe_params.ts";
import type { Selector } from "./types.ts";
import {
  checkDescription,
  checkModel,
  checkSelector,
  isDescription,
  sourceName,
} from "./_source.ts";

/** A model, or its description from `describeParams`. */
export type ParamSource = tf.LayersModel | readonly ParamInfo[];

/**
 * The names of a model's variables that can be trained: those in
 * `model.trainableWeights` and the trainable weights of frozen layers
 * (`layer.trainable = false` takes them out of `trainableWeights` until the
 * layer is unfrozen), but not variables that are never trained (a batch
 * norm's moving statistics).
 */
function trainableOrFrozen(model: tf.LayersModel): Set<string> {
  const out = new Set(model.trainableWeights.map((w) => w.name));
  const seen = new Set<unknown>();
  const visit = (layer: unknown): void => {
    if (layer === null || typeof layer !== "object" || seen.has(layer)) return;
    seen.add(layer);
    // tfjs-layers keeps a frozen layer's trainable weights here.
    const own = (layer as { _trainableWeights?: unknown })._trainableWeights;
    if (Array.isArray(own)) {
      for (const w of own) {
        if (w !== null && typeof w === "object" && typeof w.name === "string") {
          out.add(w.name);
        }
      }
    }
    const sub = (layer as { layers?: unknown }).layers;
    if (Array.isArray(sub)) { for (const l of sub) visit(l); }
    // wrappers (Bidirectional, TimeDistributed)
    for (const k of ["layer", "forwardLayer", "backwardLayer"]) {
      visit((layer as Record<string, unknown>)[k]);
    }
  };
  visit(model);
  return out;
}

/**
 * The described parameters of a source, trainable ones only unless asked.
 * With `frozen`, "trainable" includes the parameters of frozen layers when
 * the source is a model, so that a mask or label map built while a layer is
 * frozen still covers it once unfrozen.
 */
export function infosOf(
  where: string,
  source: ParamSource,
  trainableOnly: boolean | undefined,
  frozen = false,
): readonly ParamInfo[] {
  if (trainableOnly !== undefined && typeof trainableOnly !== "boolean") {
    throw new TypeError(
      `${where}: trainableOnly must be a boolean, got ${String(trainableOnly)}`,
    );
  }
  const infos = isDescription(source)
    ? checkDescription(where, source)
    : describeParams(checkModel(where, source));
  if (trainableOnly === false) return infos;
  if (frozen && !isDescription(source)) {
    const names = trainableOrFrozen(source);
    return infos.filter((i) => i.trainable || names.has(i.name));
  }
  return infos.filter((i) => i.trainable);
}

/**
 * Throws unless `options` is a plain object (or undefined) whose keys are
 * all in `known` (own keys: `toString` is not an option): a `TypeError`
 * naming the first unknown key.
 */
export function checkOptionKeys(
  where: string,
  options: unknown,
  known: readonly string[],
): void {
  if (options === undefined) return;
  const proto = options !== null && typeof options === "object"
    ? Object.getPrototypeOf(options)
    : undefined;
  if (
    options === null || typeof options !== "object" || Array.isArray(options) ||
    (proto !== Object.prototype && proto !== null)
  ) {
    throw new TypeError(
      `${where}: options must be a plain object, got ${String(options)}`,
    );
  }
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) {
      throw new TypeError(
        `${where}: unknown option "${k}" (known: ${known.join(", ")})`,
      );
    }
  }
}

/** Throws unless `flag` is a boolean or undefined. */
export function checkFlag(where: string, what: string, flag: unknown): void {
  if (flag !== undefined && typeof flag !== "boolean") {
    throw new TypeError(
      `${where}: ${what} must be a boolean, got ${String(flag)}`,
    );
  }
}

/** How {@linkcode pick} treats an empty selection, and what to name in errors. */
export interface PickOptions {
  allowEmpty?: boolean;
  trainableOnly?: boolean;
  source: ParamSource;
}

/** The parameters of `infos` a selector picks; an empty pick is an error unless allowed. */
export function pick(
  where: string,
  infos: readonly ParamInfo[],
  selector: Selector,
  options: PickOptions,
): ParamInfo[] {
  const s = checkSelector(where, selector);
  checkFlag(where, "allowEmpty", options.allowEmpty);
  const picked = infos.filter((i) => s.test(i));
  if (picked.length === 0 && options.allowEmpty !== true) {
    throw new RangeError(
      `${where}: ${s.description} matches no ${
        options.trainableOnly === false ? "" : "trainable "
      }parameter of ${
        sourceName(options.source)
      } (pass allowEmpty: true if that is intended)`,
    );
  }
  return picked;
}
