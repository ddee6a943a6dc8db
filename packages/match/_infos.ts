// Private: turning a model or a description into the parameters to match.
import type * as tf from "@tensorflow/tfjs";
import { describeParams, type ParamInfo } from "./describe_params.ts";
import type { Selector } from "./selectors.ts";
import {
  checkDescription,
  checkModel,
  checkSelector,
  isDescription,
  sourceName,
} from "./_source.ts";

/** A model, or its description from `describeParams`. */
export type ParamSource = tf.LayersModel | readonly ParamInfo[];

/** The described parameters of a source, trainable ones only unless asked. */
export function infosOf(
  where: string,
  source: ParamSource,
  trainableOnly: boolean | undefined,
): readonly ParamInfo[] {
  if (trainableOnly !== undefined && typeof trainableOnly !== "boolean") {
    throw new TypeError(
      `${where}: trainableOnly must be a boolean, got ${String(trainableOnly)}`,
    );
  }
  const infos = isDescription(source)
    ? checkDescription(where, source)
    : describeParams(checkModel(where, source));
  return trainableOnly === false ? infos : infos.filter((i) => i.trainable);
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
