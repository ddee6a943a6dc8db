import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";
import { findEmaParams } from "@centra/chain/ema-params";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { averagesOf, loadedAverages, NO_EMA } from "./_ema_averages.ts";

/** Restores the weights a swap replaced; calling it again does nothing. */
export type SwapBack = () => void;

/**
 * Writes the averages of the weights (the {@linkcode ChainOptimizer}'s
 * `emaParams` state, from `useEma: true`) into the variables, and returns a
 * function that writes the weights back. The optimizer's state is not
 * touched. Keep the swap short: a training step taken while swapped starts
 * from the averages, and swapping back then discards it.
 *
 * @param optimizer A `ChainOptimizer` whose chain keeps an EMA of the
 * weights, after at least one step.
 * @returns The function that swaps back (idempotent).
 * @throws {TypeError} If `optimizer` is not a `ChainOptimizer`, or its
 * state holds no average (no `useEma`, or no step since it was built or
 * loaded). Nothing changes then.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ChainOptimizer, swapEmaWeights } from "@centra/tfjs";
 * import assert from "node:assert/strict";
 *
 * const w = tf.variable(tf.zeros([1]), true, "swap_ema_doc/w");
 * const opt = ChainOptimizer.from("sgd", { learningRate: 1, useEma: true, emaMomentum: 0.5 });
 * opt.applyGradients({ [w.name]: tf.tensor1d([-2]) }); // w = 2, average 2
 * opt.applyGradients({ [w.name]: tf.tensor1d([-4]) }); // w = 6, average 4
 * const back = swapEmaWeights(opt);
 * assert.equal(w.dataSync()[0], 4);
 * back();
 * assert.equal(w.dataSync()[0], 6);
 * opt.dispose();
 * ```
 */
export function swapEmaWeights(optimizer: ChainOptimizer): SwapBack {
  return swapPairs(averagesOf("swapEmaWeights", optimizer));
}

/** Writes each average into its variable; the returned function undoes it. */
function swapPairs(pairs: [tf.Variable, tf.Tensor][]): SwapBack {
  const saved = pairs.map(([v]) => tf.keep(v.clone()));
  pairs.forEach(([v, avg]) => v.assign(avg));
  let done = false;
  return () => {
    if (done) return;
    done = true;
    pairs.forEach(([v], i) => {
      if (!v.isDisposed) v.assign(saved[i]!);
    });
    tf.dispose(saved);
  };
}

/**
 * Runs `fn` (an evaluation, a `model.save`) with the averages of the
 * weights swapped in, and swaps back afterwards, also when `fn` throws.
 * Given the model, it also finds the averages of a checkpoint just loaded
 * (`tf.loadLayersModel` with the optimizer), before any step.
 *
 * @typeParam T What `fn` returns.
 * @param target A `ChainOptimizer` keeping an EMA of the weights, or a
 * model compiled with one.
 * @param fn The work to run with the averages in place.
 * @returns What `fn` returns.
 * @throws {TypeError} As {@linkcode swapEmaWeights} (for a model, when
 * neither the state nor the loaded weights hold averages for its
 * variables); and what `fn` throws.
 *
 * @example Evaluate with the averaged weights
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ChainOptimizer, withEmaWeights } from "@centra/tfjs";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * const optimizer = ChainOptimizer.from("adam", { learningRate: 0.01, useEma: true });
 * model.compile({ optimizer, loss: "meanSquaredError" });
 * const [x, y] = [tf.ones([4, 2]), tf.ones([4, 1])];
 * await model.fit(x, y, { epochs: 3, verbose: 0 });
 * const before = model.getWeights()[0]!.dataSync()[0];
 * const loss = await withEmaWeights(optimizer, () => (model.evaluate(x, y) as tf.Scalar).dataSync()[0]);
 * assert.ok(Number.isFinite(loss));
 * assert.equal(model.getWeights()[0]!.dataSync()[0], before); // swapped back
 * optimizer.dispose();
 * ```
 */
export async function withEmaWeights<T>(
  target: ChainOptimizer | tf.LayersModel,
  fn: () => T | Promise<T>,
): Promise<T> {
  const where = "withEmaWeights";
  let back: SwapBack;
  if (target instanceof tf.LayersModel) {
    const optimizer = target.optimizer;
    if (!(optimizer instanceof ChainOptimizer)) {
      throw new TypeError(
        `${where}: the model's optimizer must be a ChainOptimizer, got ${
          optimizer?.constructor?.name ?? String(optimizer)
        }`,
      );
    }
    const live = findEmaParams(optimizer.state);
    back = live !== undefined && Object.keys(live).length > 0
      ? swapEmaWeights(optimizer)
      : swapPairs(await loadedAverages(where, optimizer, target));
  } else {
    back = swapEmaWeights(target);
  }
  try {
    return await fn();
  } finally {
    back();
  }
}

/**
 * Writes the averages into the weights for good (Keras's
 * `finalize_variable_values`, which `fit` calls at its end when `use_ema`
 * is set).
 *
 * @param optimizer A `ChainOptimizer` keeping an EMA of the weights.
 * @throws {TypeError} As {@linkcode swapEmaWeights}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ChainOptimizer, overwriteWithEmaWeights } from "@centra/tfjs";
 * import assert from "node:assert/strict";
 *
 * const w = tf.variable(tf.zeros([1]), true, "overwrite_ema_doc/w");
 * const opt = ChainOptimizer.from("sgd", { learningRate: 1, useEma: true, emaMomentum: 0.5 });
 * opt.applyGradients({ [w.name]: tf.tensor1d([-2]) });
 * opt.applyGradients({ [w.name]: tf.tensor1d([-4]) });
 * overwriteWithEmaWeights(opt);
 * assert.equal(w.dataSync()[0], 4);
 * opt.dispose();
 * ```
 */
export function overwriteWithEmaWeights(optimizer: ChainOptimizer): void {
  for (const [v, avg] of averagesOf("overwriteWithEmaWeights", optimizer)) {
    v.assign(avg);
  }
}

/** Options of {@linkcode emaWeights}. */
export interface EmaWeightsOptions {
  /**
   * Swap the averages in at the end of each epoch, for the callbacks after
   * this one (a checkpoint, an evaluation), and back at the start of the
   * next (Keras's `SwapEMAWeights(swap_on_epoch=True)`). Default false.
   */
  swapOnEpoch?: boolean;
  /**
   * At the end of training, write the averages into the weights for good,
   * as Keras's `fit` does with `use_ema`. Default true.
   */
  overwriteOnTrainEnd?: boolean;
}

interface FitParams {
  samples?: number | null;
  steps?: number | null;
  batchSize?: number | null;
  doValidation?: boolean;
}

class EmaWeightsCallback extends tf.Callback {
  readonly #swapOnEpoch: boolean;
  readonly #overwrite: boolean;
  #back: SwapBack | null = null;
  #unwrap: (() => void) | null = null;

  constructor(swapOnEpoch: boolean, overwrite: boolean) {
    super();
    this.#swapOnEpoch = swapOnEpoch;
    this.#overwrite = overwrite;
  }

  #optimizer(): ChainOptimizer {
    const o = this.model?.optimizer;
    if (!(o instanceof ChainOptimizer)) {
      throw new TypeError(
        `emaWeights: the model's optimizer must be a ChainOptimizer keeping an EMA of the weights (${NO_EMA})`,
      );
    }
    return o;
  }

  #swapIn(): void {
    if (this.#back === null) this.#back = swapEmaWeights(this.#optimizer());
  }

  #swapBack(): void {
    this.#back?.();
    this.#back = null;
  }

  /** The index of an epoch's last batch, where `fit` validates; null if unknown. */
  #lastBatch(): number | null {
    const p = this.params as FitParams;
    if (typeof p.steps === "number") return p.steps - 1;
    if (typeof p.samples === "number" && typeof p.batchSize === "number") {
      return Math.ceil(p.samples / p.batchSize) - 1;
    }
    return null;
  }

  override onTrainBegin(): Promise<void> {
    this.#optimizer();
    return Promise.resolve();
  }

  override onEpochBegin(): Promise<void> {
    this.#swapBack();
    return Promise.resolve();
  }

  override onBatchBegin(batch: number): Promise<void> {
    const p = this.params as FitParams;
    // model.fit validates right after the last batch's step, before
    // onBatchEnd: swap in just after that step's applyGradients
    if (
      p.doValidation !== true || typeof p.samples !== "number" ||
      batch !== this.#lastBatch()
    ) return Promise.resolve();
    const opt = this.#optimizer();
    const own = Object.hasOwn(opt, "applyGradients");
    const original = opt.applyGradients;
    opt.applyGradients = (grads) => {
      original.call(opt, grads);
      this.#swapIn();
    };
    this.#unwrap = () => {
      if (own) opt.applyGradients = original;
      else delete (opt as { applyGradients?: unknown }).applyGradients;
    };
    return Promise.resolve();
  }

  override onBatchEnd(batch: number): Promise<void> {
    this.#unwrap?.();
    this.#unwrap = null;
    const p = this.params as FitParams;
    // model.fitDataset validates after the last batch's onBatchEnd
    if (
      p.doValidation === true && typeof p.samples !== "number" &&
      batch === this.#lastBatch()
    ) this.#swapIn();
    return Promise.resolve();
  }

  override onEpochEnd(): Promise<void> {
    if (this.#swapOnEpoch) this.#swapIn();
    else this.#swapBack();
    return Promise.resolve();
  }

  override onTrainEnd(): Promise<void> {
    this.#unwrap?.();
    this.#unwrap = null;
    this.#swapBack();
    if (this.#overwrite) overwriteWithEmaWeights(this.#optimizer());
    return Promise.resolve();
  }
}

/**
 * A `model.fit` / `model.fitDataset` callback for a {@linkcode ChainOptimizer}
 * that keeps an EMA of the weights (`useEma: true`), as Keras's
 * `SwapEMAWeights` and `use_ema`: the validation at the end of each epoch
 * runs with the averages swapped in (for `fitDataset`, when the epoch's
 * length is known: `batchesPerEpoch` or a dataset of known size), training
 * goes on from the weights; with `swapOnEpoch`, the callbacks after this one
 * see the averages at each epoch's end; and at the end of training the
 * averages become the weights (`overwriteOnTrainEnd`, Keras's default).
 *
 * @param options When to swap and whether to keep the averages at the end.
 * @returns The callback.
 * @throws {TypeError} For options of the wrong kind; at the start of
 * training, if the model's optimizer is not a `ChainOptimizer`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ChainOptimizer, emaWeights } from "@centra/tfjs";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * const optimizer = ChainOptimizer.from("sgd", { learningRate: 0.1, useEma: true, emaMomentum: 0.9 });
 * model.compile({ optimizer, loss: "meanSquaredError" });
 * const h = await model.fit(tf.ones([8, 2]), tf.ones([8, 1]), {
 *   epochs: 2, batchSize: 4, verbose: 0, validationSplit: 0.25, callbacks: [emaWeights()],
 * });
 * assert.equal(h.history.val_loss!.length, 2);
 * optimizer.dispose();
 * ```
 */
export function emaWeights(options: EmaWeightsOptions = {}): tf.Callback {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `emaWeights: options must be an object, got ${String(options)}`,
    );
  }
  for (const [k, v] of Object.entries(options)) {
    if (k !== "swapOnEpoch" && k !== "overwriteOnTrainEnd") {
      throw new TypeError(
        `emaWeights: unknown option "${k}" (known: swapOnEpoch, overwriteOnTrainEnd)`,
      );
    }
    if (v !== undefined && typeof v !== "boolean") {
      throw new TypeError(
        `emaWeights: ${k} must be a boolean, got ${JSON.stringify(v)}`,
      );
    }
  }
  const { swapOnEpoch = false, overwriteOnTrainEnd = true } = options;
  return new EmaWeightsCallback(swapOnEpoch, overwriteOnTrainEnd);
}
