import * as tf from "@tensorflow/tfjs";
import { ChainOptimizer } from "./chain_optimizer.ts";

/**
 * The learning rate an optimizer will use for its next step, read without
 * blocking (so it works on WebGPU): a {@linkcode ChainOptimizer}'s
 * `injectHyperparams` value (`undefined` before its first step or without
 * such a part), or a tfjs optimizer's `learningRate`.
 *
 * @param optimizer Any optimizer.
 * @returns The learning rate, or `undefined` if it has none to show.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { currentLearningRate } from "@centra/tfjs/learning-rate";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await currentLearningRate(tf.train.sgd(0.3)), 0.3);
 * ```
 */
export async function currentLearningRate(
  optimizer: tf.Optimizer | undefined,
): Promise<number | undefined> {
  if (optimizer instanceof ChainOptimizer) {
    const lr = optimizer.hyperparams()?.learningRate;
    return lr === undefined ? undefined : (await lr.data())[0];
  }
  const lr = (optimizer as { learningRate?: unknown } | undefined)
    ?.learningRate;
  return typeof lr === "number" ? lr : undefined;
}

/** Options of {@linkcode learningRateLogger}. */
export interface LearningRateLoggerOptions {
  /** The key added to the epoch logs (and so to `history.history`). Default `"lr"`. */
  key?: string;
  /** Also add it to every batch's logs. Default false. */
  everyBatch?: boolean;
}

/** Logs in which values may still be scalars (what `fit` hands its callbacks). */
export type FitLogs = { [key: string]: number | tf.Scalar };

class LearningRateLogger extends tf.Callback {
  readonly #key: string;
  readonly #everyBatch: boolean;

  constructor(key: string, everyBatch: boolean) {
    super();
    this.#key = key;
    this.#everyBatch = everyBatch;
  }

  async #add(logs: FitLogs | undefined): Promise<void> {
    if (logs === undefined) return;
    const lr = await currentLearningRate(this.model?.optimizer);
    if (lr !== undefined) logs[this.#key] = lr;
  }

  override async onBatchEnd(_batch: number, logs?: FitLogs): Promise<void> {
    if (this.#everyBatch) await this.#add(logs);
  }

  override async onEpochEnd(_epoch: number, logs?: FitLogs): Promise<void> {
    await this.#add(logs);
  }
}

/**
 * A `model.fit` callback that adds the current learning rate (from a
 * {@linkcode ChainOptimizer}'s `injectHyperparams`, or a tfjs optimizer's
 * `learningRate`) to the epoch logs, so that `history.history.lr` records
 * the schedule, as Keras does.
 *
 * @param options The log key, and whether to log every batch too.
 * @returns The callback.
 *
 * @example Record a decaying learning rate
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ChainOptimizer } from "@centra/tfjs/chain-optimizer";
 * import { learningRateLogger } from "@centra/tfjs/learning-rate";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const optimizer = ChainOptimizer.from("sgd", {
 *   learningRate: { schedule: "stepDecay", initValue: 0.1, stepSize: 1, gamma: 0.5 },
 * });
 * model.compile({ optimizer, loss: "meanSquaredError" });
 * const h = await model.fit(tf.ones([2, 1]), tf.ones([2, 1]), {
 *   epochs: 3, verbose: 0, callbacks: [learningRateLogger()],
 * });
 * // the rate each epoch's last step used (float32, so rounded here)
 * assert.deepEqual(h.history.lr!.map((v) => Math.round(Number(v) * 1e6) / 1e6), [0.1, 0.05, 0.025]);
 * optimizer.dispose();
 * ```
 */
export function learningRateLogger(
  options: LearningRateLoggerOptions = {},
): tf.Callback {
  const { key = "lr", everyBatch = false } = options;
  if (typeof key !== "string" || key.length === 0) {
    throw new TypeError(
      `learningRateLogger: key must be a non-empty string, got ${
        JSON.stringify(key)
      }`,
    );
  }
  return new LearningRateLogger(key, everyBatch);
}
