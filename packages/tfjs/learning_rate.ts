import * as tf from "@tensorflow/tfjs";
import { describe } from "@centra/chain/expr";
import type { GradientTransformation } from "@centra/chain/types";
import { ChainOptimizer } from "./chain_optimizer.ts";

/**
 * The learning rate of an optimizer's last step, read without blocking (so
 * it works on WebGPU): a {@linkcode ChainOptimizer}'s `injectHyperparams`
 * value; for a hand-built chain without one (`new ChainOptimizer(sgd(0.1))`),
 * the value of its one `scaleByLearningRate` (a schedule evaluated at the
 * last step); or a tfjs optimizer's `learningRate`. `undefined` before the
 * first step of a scheduled chain, and when the chain has no visible
 * `scaleByLearningRate` (inside `fuse`, `partition` or `masked`) or more
 * than one.
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
    if (lr !== undefined) return (await lr.data())[0];
    const found = chainLearningRate(optimizer.tx, optimizer.state);
    if (found.kind !== "found") return undefined;
    if (typeof found.value === "number") return found.value;
    const value = (await found.value.data())[0];
    if (found.dispose) found.value.dispose();
    return value;
  }
  const lr = (optimizer as { learningRate?: unknown } | undefined)
    ?.learningRate;
  return typeof lr === "number" ? lr : undefined;
}

/** What {@linkcode chainLearningRate} finds. */
type Found =
  | { kind: "found"; value: number | tf.Scalar; dispose: boolean }
  | { kind: "none"; why: string };

/**
 * The learning rate of a hand-built chain (no `injectHyperparams`): the
 * `scaleByLearningRate` stage of the chain, nested chains included. A
 * constant is read as given; a schedule (which `scaleByLearningRate` turns
 * into a `scaleBySchedule` by `-lr`) is evaluated at the count of the last
 * step taken, the rate that step used. Anything else says why not.
 */
function chainLearningRate(
  tx: GradientTransformation<unknown>,
  state: unknown,
): Found {
  const found: Found[] = [];
  let opaque = false;
  const walk = (t: object, s: unknown): void => {
    const d = describe(t);
    if (d === undefined || d.kind === "delegate") {
      opaque = true;
      return;
    }
    if (d.kind === "chain") {
      d.parts.forEach((part, i) => {
        const key = d.names === undefined ? i : d.names[i]!;
        walk(part, (s as Record<string | number, unknown> | null)?.[key]);
      });
      return;
    }
    const { where } = d.spec;
    if (where === "scaleByLearningRate") {
      const lr = d.spec.step(s).hypers["learningRate"];
      if (lr !== undefined) {
        found.push({ kind: "found", value: lr, dispose: false });
      }
    } else if (where === "scaleBySchedule") {
      const count = (s as { count?: tf.Scalar } | null)?.count;
      if (!(count instanceof tf.Tensor)) return;
      const steps = count.dataSync()[0]!;
      if (steps < 1) {
        found.push({ kind: "none", why: "no step has been taken yet" });
        return;
      }
      // The factor is -lr(count) for a learning rate; a positive factor is
      // some other scaling, not a learning rate.
      const lr = tf.tidy(() => {
        const last = tf.scalar(steps - 1);
        const factor = d.spec.step({ count: last }).hypers["factor"]!;
        return tf.neg(factor) as tf.Scalar;
      });
      if (lr.dataSync()[0]! >= 0) {
        found.push({ kind: "found", value: lr, dispose: true });
      } else lr.dispose();
    }
  };
  walk(tx, state);
  const values = found.filter((f) => f.kind === "found");
  if (values.length === 1) return values[0]!;
  for (const f of values) {
    if (f.dispose && typeof f.value !== "number") f.value.dispose();
  }
  if (values.length > 1) {
    return {
      kind: "none",
      why: "its chain has more than one scaleByLearningRate",
    };
  }
  const none = found.find((f) => f.kind === "none");
  if (none !== undefined) return none;
  return {
    kind: "none",
    why: opaque
      ? "its chain has no scaleByLearningRate that can be seen (a part " +
        "built by fuse, partition, masked or your own code hides it)"
      : "its chain has no scaleByLearningRate",
  };
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

  #warned = false;

  async #add(logs: FitLogs | undefined): Promise<void> {
    if (logs === undefined) return;
    const optimizer = this.model?.optimizer;
    const lr = await currentLearningRate(optimizer);
    if (lr !== undefined) {
      logs[this.#key] = lr;
      return;
    }
    if (this.#warned) return;
    this.#warned = true;
    const why = optimizer instanceof ChainOptimizer
      ? chainLearningRate(optimizer.tx, optimizer.state)
      : { kind: "none" as const, why: "it has no numeric learningRate" };
    if (why.kind === "none") {
      console.warn(
        `learningRateLogger: no learning rate to log for this optimizer: ` +
          `${why.why}. Wrap the chain in injectHyperparams (or use ` +
          `ChainOptimizer.from) to log it.`,
      );
    } else if (why.dispose && typeof why.value !== "number") {
      why.value.dispose();
    }
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
