import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";

/** Options of {@linkcode modelParams}. */
export interface ModelParamsOptions {
  /**
   * Also include non-trainable weights (batch norm's moving statistics,
   * frozen layers). Default `false`.
   */
  includeNonTrainable?: boolean;
}

/** What {@linkcode modelParams} returns: the same tensors, twice typed. */
export interface ModelParams {
  /**
   * The weights as a chain's parameters (`Params` of `@centra/chain`), keyed
   * by variable name.
   */
  params: Record<string, tf.Tensor>;
  /** The same weights as variables, for `applyUpdates`. */
  variables: Record<string, tf.Variable>;
}

/**
 * Gives a `tf.LayersModel`'s weights as the maps that chains and
 * `@centra/match` use: keyed by each variable's name (`LayerVariable.name`,
 * which equals the name of the `tf.Variable` it holds, so the keys are the
 * ones `tf.variableGrads` returns), in the model's weight order.
 *
 * Works for models built here, written by hand, or loaded with
 * `tf.loadLayersModel`, nested models included. Trainable weights only by
 * default; a layer with `trainable = false` drops out. No tensors are
 * created: the values are the model's own variables.
 *
 * @param model Any layers model.
 * @param options Whether to include non-trainable weights.
 * @returns The parameters and the variables, keyed by name.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { modelParams } from "@centra/zoo/model-params";
 * import assert from "node:assert/strict";
 *
 * const x = tf.input({ shape: [3] });
 * const y = tf.layers.dense({ units: 2, name: "doc_fc" }).apply(x);
 * const model = tf.model({ inputs: x, outputs: y as tf.SymbolicTensor });
 * const { params, variables } = modelParams(model);
 * assert.deepEqual(Object.keys(params), ["doc_fc/kernel", "doc_fc/bias"]);
 * assert.equal(variables["doc_fc/kernel"], params["doc_fc/kernel"]);
 * model.dispose();
 * ```
 */
export function modelParams(
  model: tf.LayersModel,
  options: ModelParamsOptions = {},
): ModelParams {
  if (!(model instanceof tf.LayersModel)) {
    throw new TypeError(
      `modelParams: model must be a tf.LayersModel, got ${String(model)}`,
    );
  }
  const weights = options.includeNonTrainable
    ? model.weights
    : model.trainableWeights;
  const params: Record<string, tf.Tensor> = {};
  const variables: Record<string, tf.Variable> = {};
  for (const w of weights) {
    const v = w.read() as tf.Variable;
    // A shared layer appears once per use; the same variable is one entry.
    const seen = Object.hasOwn(variables, w.name)
      ? variables[w.name]
      : undefined;
    if (seen === v) continue;
    if (seen !== undefined) {
      throw new TypeError(
        `modelParams: two different weights are named "${w.name}"`,
      );
    }
    if (v.name !== w.name) {
      throw new TypeError(
        `modelParams: weight "${w.name}" holds a variable named "${v.name}"`,
      );
    }
    params[w.name] = v;
    variables[w.name] = v;
  }
  return { params, variables };
}
