import * as tf from "@tensorflow/tfjs";
import { ChainOptimizer } from "./chain_optimizer.ts";

/** Options of {@linkcode lrRangeTest}. */
export interface LrRangeTestOptions {
  /** The first learning rate. Default 1e-7 (fastai's `start_lr`). */
  minLr?: number;
  /** The last learning rate, reached at the last step. Default 10. */
  maxLr?: number;
  /** Training steps, one batch each, at least 2. Default 100. */
  steps?: number;
  /** Examples per step; batches are taken in order, cycling. Default 32. */
  batchSize?: number;
  /**
   * β of the exponential moving average that smooths the loss (with bias
   * correction, as fastai's). Default 0.98; 0: no smoothing.
   */
  smoothing?: number;
  /**
   * Stop once the smoothed loss exceeds this multiple of the lowest one so
   * far (or a loss is not finite). Default 4 (fastai's). `Infinity`: never.
   */
  divergeFactor?: number;
}

/** What {@linkcode lrRangeTest} returns: the curve and its reading. */
export interface LrRangeTestResult {
  /** The learning rate of each step taken. */
  learningRates: number[];
  /** The training loss of each step's batch, before that step's update. */
  losses: number[];
  /** `losses` smoothed by a bias-corrected exponential moving average. */
  smoothed: number[];
  /**
   * The suggested learning rate: where the smoothed loss falls fastest
   * against log(learning rate), leaving out the first tenth of the steps and
   * the last five (fastai's `steep` rule); `null` when fewer than 3 steps
   * remain for that.
   */
  suggestion: number | null;
  /** The learning rate at the lowest smoothed loss, and that loss. */
  minimum: { learningRate: number; loss: number };
  /** Whether the test stopped early because the loss diverged. */
  diverged: boolean;
}

function checkPositive(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new RangeError(
      `lrRangeTest: ${name} must be a finite number > 0, got ${String(v)}`,
    );
  }
  return v;
}

function checkInt(name: string, v: unknown, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new RangeError(
      `lrRangeTest: ${name} must be an integer >= ${min}, got ${String(v)}`,
    );
  }
  return v;
}

const KNOWN = new Set([
  "minLr",
  "maxLr",
  "steps",
  "batchSize",
  "smoothing",
  "divergeFactor",
]);

/** The options with their defaults, checked. */
function readOptions(
  options: LrRangeTestOptions,
): Required<LrRangeTestOptions> {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `lrRangeTest: options must be an object, got ${String(options)}`,
    );
  }
  const unknown = Object.keys(options).find((k) => !KNOWN.has(k));
  if (unknown !== undefined) {
    throw new TypeError(`lrRangeTest: unknown option "${unknown}"`);
  }
  const minLr = checkPositive("minLr", options.minLr ?? 1e-7);
  const maxLr = checkPositive("maxLr", options.maxLr ?? 10);
  if (maxLr <= minLr) {
    throw new RangeError(
      `lrRangeTest: maxLr must be above minLr, got minLr ${minLr} and maxLr ${maxLr}`,
    );
  }
  const smoothing = options.smoothing ?? 0.98;
  if (
    typeof smoothing !== "number" || !(smoothing >= 0 && smoothing < 1)
  ) {
    throw new RangeError(
      `lrRangeTest: smoothing must be in [0, 1), got ${String(smoothing)}`,
    );
  }
  const divergeFactor = options.divergeFactor ?? 4;
  if (
    typeof divergeFactor !== "number" || Number.isNaN(divergeFactor) ||
    divergeFactor <= 1
  ) {
    throw new RangeError(
      `lrRangeTest: divergeFactor must be a number > 1, got ${
        String(divergeFactor)
      }`,
    );
  }
  return {
    minLr,
    maxLr,
    steps: checkInt("steps", options.steps ?? 100, 2),
    batchSize: checkInt("batchSize", options.batchSize ?? 32, 1),
    smoothing,
    divergeFactor,
  };
}

/** The model's optimizer, which must be a ChainOptimizer, and the data. */
function checkModelAndData(
  model: tf.LayersModel,
  data: { xs: tf.Tensor; ys: tf.Tensor },
): ChainOptimizer {
  if (!(model instanceof tf.LayersModel)) {
    throw new TypeError(
      `lrRangeTest: model must be a tf.LayersModel, got ${String(model)}`,
    );
  }
  const optimizer = model.optimizer;
  if (!(optimizer instanceof ChainOptimizer)) {
    throw new TypeError(
      `lrRangeTest: the model must be compiled with a ChainOptimizer, got ${
        optimizer === undefined || optimizer === null
          ? "an uncompiled model"
          : (optimizer as { constructor?: { name?: string } }).constructor
            ?.name ?? String(optimizer)
      }`,
    );
  }
  if (
    data === null || typeof data !== "object" ||
    !(data.xs instanceof tf.Tensor) || !(data.ys instanceof tf.Tensor)
  ) {
    throw new TypeError(
      "lrRangeTest: data must be { xs, ys } tensors (inputs and targets)",
    );
  }
  const n = data.xs.shape[0];
  if (n === undefined || n < 1 || data.ys.shape[0] !== n) {
    throw new RangeError(
      `lrRangeTest: xs and ys must have the same number of examples (at least 1), got shapes [${data.xs.shape}] and [${data.ys.shape}]`,
    );
  }
  return optimizer;
}

/** Bias-corrected exponential moving average of `xs` (fastai's smoothing). */
function smooth(xs: readonly number[], beta: number): number[] {
  let avg = 0;
  return xs.map((x, i) => {
    avg = beta * avg + (1 - beta) * x;
    return beta === 0 ? x : avg / (1 - beta ** (i + 1));
  });
}

/** fastai's `steep` rule on the smoothed curve, or `null`. */
function steepest(
  lrs: readonly number[],
  ys: readonly number[],
): number | null {
  const from = Math.floor(lrs.length / 10);
  const to = lrs.length - 5;
  if (to - from < 3) return null;
  let best = Infinity, at: number | null = null;
  for (let i = from; i + 1 < to; i++) {
    const slope = (ys[i + 1]! - ys[i]!) / Math.log(lrs[i + 1]! / lrs[i]!);
    if (slope < best) {
      best = slope;
      at = lrs[i]!;
    }
  }
  return at;
}

/**
 * The learning-rate range test (Smith, "Cyclical Learning Rates for Training
 * Neural Networks", WACV 2017, arXiv:1506.01186, 3.3): trains for `steps`
 * batches while the learning rate grows exponentially from `minLr` to
 * `maxLr` (`lr_i = minLr·(maxLr/minLr)^(i/(steps−1))`), records each batch's
 * loss, and suggests the rate where the smoothed loss falls fastest. The
 * model's weights (trainable and not, such as batch-norm statistics) are
 * restored afterwards bit for bit, also when the loss diverges or a step
 * throws; the model's optimizer is never stepped: the test runs the same
 * chain from a fresh state (the state training starts from), so the
 * optimizer's state, step count and hyperparameters stay exactly as they
 * were.
 *
 * The model must be compiled (`model.compile({ optimizer, loss })`) with a
 * {@linkcode ChainOptimizer} whose chain injects `learningRate` (every
 * `ChainOptimizer.from` built-in does, with a constant rate); each step is
 * `model.trainOnBatch`, so the compiled loss, regularizers and training-mode
 * layers are what `fit` uses. Batches are taken in order and cycle when the
 * data run out. Draw the result with `lrRangePanel` from the repository's
 * web/lr_range_chart.ts (docs/tfjs.md).
 *
 * @param model A compiled model.
 * @param data Inputs `xs` and targets `ys`, the same number of examples
 * along the first axis.
 * @param options Range, steps, batch size, smoothing and divergence.
 * @returns The learning rates, raw and smoothed losses, and the suggestion.
 * @throws {TypeError} If the model is not compiled with a ChainOptimizer
 * with an injected `learningRate`, if that rate follows a schedule (checked
 * after the first step, then everything is restored), if `data` is not
 * `{ xs, ys }` tensors, or on an unknown option.
 * @throws {RangeError} On a bad option (naming it and its value) or data
 * whose example counts differ.
 * @throws Whatever a training step throws, after restoring the weights.
 *
 * @example Find a learning rate for a small model
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ChainOptimizer, lrRangeTest } from "@centra/tfjs";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({
 *   layers: [tf.layers.dense({ units: 3, inputShape: [4], activation: "softmax" })],
 * });
 * const optimizer = ChainOptimizer.from("sgd", { learningRate: 0.1, momentum: 0.9 });
 * model.compile({ optimizer, loss: "categoricalCrossentropy" });
 * const xs = tf.randomNormal([64, 4], 0, 1, "float32", 1);
 * const ys = tf.oneHot(tf.argMax(xs.slice([0, 0], [64, 3]), 1), 3);
 * const before = model.getWeights().map((w) => w.dataSync().slice());
 *
 * const r = await lrRangeTest(model, { xs, ys }, { minLr: 1e-4, maxLr: 10, steps: 60 });
 * assert.equal(r.learningRates[0], 1e-4);
 * assert.ok(r.suggestion !== null && r.suggestion > 1e-4 && r.suggestion < 10);
 * // the model is as it was
 * model.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), before[i]));
 * optimizer.dispose();
 * ```
 */
export async function lrRangeTest(
  model: tf.LayersModel,
  data: { xs: tf.Tensor; ys: tf.Tensor },
  options: LrRangeTestOptions = {},
): Promise<LrRangeTestResult> {
  const o = readOptions(options);
  const optimizer = checkModelAndData(model, data);
  // The same chain from a fresh state; the model's optimizer is not touched
  // (even reading its hyperparameters would build its state).
  const probe = new ChainOptimizer(optimizer.tx);
  checkInjected(probe);
  // A reference to every weight's value (a variable's assign replaces its
  // data and never overwrites it), put back at the end.
  const saved = model.weights.map((w) => tf.clone(w.read()));
  let sweep: Sweep;
  try {
    model.optimizer = probe;
    sweep = await runSweep(model, probe, data, o);
  } finally {
    model.optimizer = optimizer;
    probe.dispose();
    // The variables themselves: LayerVariable.write would apply constraints.
    model.weights.forEach((w, i) =>
      (w.read() as tf.Variable).assign(saved[i]!)
    );
    tf.dispose(saved);
  }
  return summarize(sweep, o.smoothing);
}

/** The learning rates tried, their losses, and whether the loss diverged. */
interface Sweep {
  learningRates: number[];
  losses: number[];
  diverged: boolean;
}

/**
 * Trains one batch per learning rate, from `minLr` up to `maxLr`
 * geometrically, until the last or until the smoothed loss diverges.
 */
async function runSweep(
  model: tf.LayersModel,
  probe: ChainOptimizer,
  data: { xs: tf.Tensor; ys: tf.Tensor },
  o: Required<LrRangeTestOptions>,
): Promise<Sweep> {
  const n = data.xs.shape[0]!;
  const learningRates: number[] = [];
  const losses: number[] = [];
  let best = Infinity;
  let avg = 0;
  for (let i = 0; i < o.steps; i++) {
    const lr = o.minLr * (o.maxLr / o.minLr) ** (i / (o.steps - 1));
    probe.setHyperparam("learningRate", lr);
    const start = (i * o.batchSize) % n;
    const loss = await batchLoss(
      model,
      data,
      start,
      Math.min(o.batchSize, n - start),
    );
    if (i === 0) await checkNotScheduled(probe, lr);
    learningRates.push(lr);
    losses.push(loss);
    if (!Number.isFinite(loss)) {
      return { learningRates, losses, diverged: true };
    }
    avg = o.smoothing * avg + (1 - o.smoothing) * loss;
    const s = o.smoothing === 0 ? loss : avg / (1 - o.smoothing ** (i + 1));
    best = Math.min(best, s);
    if (s > o.divergeFactor * best) {
      return { learningRates, losses, diverged: true };
    }
  }
  return { learningRates, losses, diverged: false };
}

/** One `trainOnBatch` on rows `[start, start + size)`: its loss. */
async function batchLoss(
  model: tf.LayersModel,
  data: { xs: tf.Tensor; ys: tf.Tensor },
  start: number,
  size: number,
): Promise<number> {
  const xs = data.xs.slice(start, size);
  const ys = data.ys.slice(start, size);
  try {
    const out = await model.trainOnBatch(xs, ys);
    return Array.isArray(out) ? out[0]! : out;
  } finally {
    tf.dispose([xs, ys]);
  }
}

/** The result: the smoothed curve over the finite losses, its minimum and steepest descent. */
function summarize(sweep: Sweep, smoothing: number): LrRangeTestResult {
  const { learningRates, losses, diverged } = sweep;
  const finite = losses.filter(Number.isFinite).length;
  const smoothed = smooth(losses.slice(0, finite), smoothing);
  let m = 0;
  smoothed.forEach((v, i) => {
    if (v < smoothed[m]!) m = i;
  });
  return {
    learningRates,
    losses,
    smoothed,
    suggestion: steepest(learningRates.slice(0, finite), smoothed),
    minimum: { learningRate: learningRates[m]!, loss: smoothed[m]! },
    diverged,
  };
}

/** The probe's chain must inject `learningRate`; else it is disposed and refused. */
function checkInjected(probe: ChainOptimizer): void {
  let hp: Record<string, tf.Scalar> | undefined;
  try {
    hp = probe.hyperparams();
  } catch (e) {
    probe.dispose();
    throw e;
  }
  if (hp === undefined || !(hp.learningRate instanceof tf.Tensor)) {
    probe.dispose();
    throw new TypeError(
      `lrRangeTest: the optimizer has no injected learningRate (${
        hp === undefined
          ? "its chain has no injectHyperparams part"
          : `its hyperparameters: ${Object.keys(hp).join(", ") || "none"}`
      }); build it with ChainOptimizer.from or injectHyperparams`,
    );
  }
}

/** A learning rate that a schedule recomputes cannot be swept. */
async function checkNotScheduled(
  probe: ChainOptimizer,
  lr: number,
): Promise<void> {
  const now = (await probe.readHyperparams()).learningRate;
  if (now === undefined || Math.abs(now - lr) > 1e-6 * lr) {
    throw new TypeError(
      `lrRangeTest: the optimizer's learningRate follows a schedule (set to ${lr}, the step used ${now}); build it with a constant learningRate for the range test`,
    );
  }
}
