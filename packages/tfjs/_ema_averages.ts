// Private: where the averages of the weights that `swapEmaWeights`,
// `withEmaWeights` and the `emaWeights` callback swap in are found: in a
// ChainOptimizer's state, or in the weights of a checkpoint just loaded.
import * as tf from "@tensorflow/tfjs";
import { findEmaParams } from "@centra/chain/ema-params";
import { ChainOptimizer } from "./chain_optimizer.ts";

/** What an optimizer needs for its averages to be found (for error messages). */
export const NO_EMA =
  "build it with useEma: true (ChainOptimizer.from) or a chain ending in emaParams, and take a step (or, for a model just loaded, pass the model to withEmaWeights)";

/** The averages of `optimizer`'s state, by live variable, or a TypeError saying why not. */
export function averagesOf(
  where: string,
  optimizer: unknown,
): [tf.Variable, tf.Tensor][] {
  if (!(optimizer instanceof ChainOptimizer)) {
    throw new TypeError(
      `${where}: optimizer must be a ChainOptimizer, got ${
        optimizer === null || typeof optimizer !== "object"
          ? String(optimizer)
          : optimizer.constructor?.name ?? "an object"
      }`,
    );
  }
  const averages = findEmaParams(optimizer.state);
  if (averages === undefined || Object.keys(averages).length === 0) {
    throw new TypeError(
      `${where}: this optimizer's state holds no average of the weights: ${NO_EMA} (a loaded state is matched to the variables at the next step)`,
    );
  }
  const registered = tf.engine().registeredVariables;
  const out: [tf.Variable, tf.Tensor][] = [];
  for (const [name, avg] of Object.entries(averages)) {
    const v = registered[name];
    // the state may still hold a variable disposed since: nothing to swap
    if (v !== undefined && !v.isDisposed) out.push([v, avg]);
  }
  return out;
}

/**
 * The averages a loaded checkpoint holds for `model`'s trainable variables,
 * before any step has matched them: the saved tensors `<variable>/.../emaParams`
 * of the optimizer's weights, by the variable's name or, after tfjs renamed
 * it `<name>_<n>` on load, by the name without that suffix.
 */
export async function loadedAverages(
  where: string,
  optimizer: ChainOptimizer,
  model: tf.LayersModel,
): Promise<[tf.Variable, tf.Tensor][]> {
  const saved = (await optimizer.getWeights()).filter((w) =>
    w.name.endsWith("/emaParams")
  );
  const registered = tf.engine().registeredVariables;
  const out: [tf.Variable, tf.Tensor][] = [];
  for (const w of model.trainableWeights) {
    const v = registered[w.name];
    if (v === undefined || v.isDisposed) continue;
    const fits = (prefix: string) =>
      saved.filter((s) =>
        s.name.startsWith(`${prefix}/`) &&
        s.tensor.shape.length === v.shape.length &&
        s.tensor.shape.every((d, i) => d === v.shape[i])
      );
    let found = fits(v.name);
    if (found.length === 0) found = fits(v.name.replace(/_\d+$/, ""));
    if (found.length > 1) {
      throw new TypeError(
        `${where}: the saved averages ${
          found.map((s) => s.name).join(", ")
        } all fit variable "${v.name}"`,
      );
    }
    if (found.length === 1) out.push([v, found[0]!.tensor]);
  }
  if (out.length === 0) {
    throw new TypeError(
      `${where}: neither this optimizer's state nor its loaded weights hold an average of the model's weights: ${NO_EMA}`,
    );
  }
  return out;
}
