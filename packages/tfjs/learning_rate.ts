import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";
import { describe, type ElementwiseSpec } from "@centra/chain/fuser";
import type { GradientTransformation, Hyper } from "@centra/chain/types";
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
    const found = await chainLearningRate(optimizer.tx, optimizer.state);
    return found.kind === "found" ? found.value : undefined;
  }
  const lr = (optimizer as { learningRate?: unknown } | undefined)
    ?.learningRate;
  return typeof lr === "number" ? lr : undefined;
}

/** What {@linkcode chainLearningRate} finds. */
type Found =
  | { kind: "found"; value: number }
  | { kind: "none"; why: string };

/**
 * The learning-rate stages of a chain: each constant rate, and each
 * schedule stage with its count; `opaque` when a part hides its stages.
 */
function learningRateStages(
  tx: GradientTransformation<unknown>,
  state: unknown,
): {
  seen: (Hyper | ElementwiseSpec<unknown>)[];
  counts: (tf.Scalar | undefined)[];
  opaque: boolean;
} {
  // What the walk finds: a constant rate, or a schedule stage and its count.
  const seen: (Hyper | ElementwiseSpec<unknown>)[] = [];
  const counts: (tf.Scalar | undefined)[] = [];
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
    if (d.spec.where === "scaleByLearningRate") {
      const lr = d.spec.step(s).hypers["learningRate"];
      if (lr !== undefined) {
        seen.push(lr);
        counts.push(undefined);
      }
    } else if (d.spec.where === "scaleBySchedule") {
      const count = (s as { count?: unknown } | null)?.count;
      if (count instanceof tf.Tensor) {
        seen.push(d.spec);
        counts.push(count as tf.Scalar);
      }
    }
  };
  walk(tx, state);
  return { seen, counts, opaque };
}

/**
 * The learning rate of a hand-built chain (no `injectHyperparams`): the
 * `scaleByLearningRate` stage of the chain, nested chains included. A
 * constant is read as given; a schedule (which `scaleByLearningRate` turns
 * into a `scaleBySchedule` by `-lr`) is evaluated at the count of the last
 * step taken, the rate that step used. Anything else says why not. Reads
 * are asynchronous, so this works on WebGPU.
 */
async function chainLearningRate(
  tx: GradientTransformation<unknown>,
  state: unknown,
): Promise<Found> {
  const { seen, counts, opaque } = learningRateStages(tx, state);
  const values: number[] = [];
  let early = false;
  for (const [i, x] of seen.entries()) {
    if (typeof x === "number") values.push(x);
    else if (x instanceof tf.Tensor) values.push((await x.data())[0]!);
    else {
      const count = counts[i]!;
      if ((await count.data())[0]! < 1) {
        early = true;
        continue;
      }
      // The rate the last step used: -factor at count - 1. A positive
      // factor is some other scaling, not a learning rate.
      const lr = tf.tidy(() => {
        const last = tf.sub(count, 1) as tf.Scalar;
        return tf.neg(x.step({ count: last }).hypers["factor"]!);
      });
      const v = (await lr.data())[0]!;
      lr.dispose();
      if (v >= 0) values.push(v);
    }
  }
  if (values.length === 1) return { kind: "found", value: values[0]! };
  if (values.length > 1) {
    return {
      kind: "none",
      why: "its chain has more than one scaleByLearningRate",
    };
  }
  if (early) return { kind: "none", why: "no step has been taken yet" };
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
      ? await chainLearningRate(optimizer.tx, optimizer.state)
      : { kind: "none" as const, why: "it has no numeric learningRate" };
    if (why.kind === "none") {
      console.warn(
        `learningRateLogger: no learning rate to log for this optimizer: ` +
          `${why.why}. Wrap the chain in injectHyperparams (or use ` +
          `ChainOptimizer.from) to log it.`,
      );
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
