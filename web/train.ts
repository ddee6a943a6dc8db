/**
 * What the demo page trains, shared by the page and by the browser test's
 * measurement in Deno: the optimizer menu and one training run (the small
 * CNN, a `ChainOptimizer` (fused by default on WebGPU and cpu), a cosine
 * learning-rate schedule), stepped one batch at a time.
 *
 * Imports only browser-safe modules of the workspace.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { evaluate } from "../repro/evaluate.ts";
import {
  cosineDecaySchedule,
  type GradientTransformation,
  type OptimizerName,
  OPTIMIZERS,
  type Schedule,
} from "@centra/chain";
import { ChainOptimizer } from "@centra/tfjs/chain-optimizer";
import { smallCnn } from "@centra/zoo/small-cnn";
import type { Batch } from "@centra/zoo/batches";

/** One entry of the optimizer menu. */
export interface MenuEntry {
  /** Shown in the menu, the legend and the table. */
  label: string;
  /** Default peak learning rate. */
  lr: number;
  /** Builds the chain for a learning rate (a number or a schedule). */
  make: (lr: number | Schedule) => GradientTransformation<unknown>;
}

// L2 (or decoupled) weight decay of the demo, as `deno task demo` uses.
const WD = 5e-4;

function withGc(
  label: string,
  lr: number,
  make: (lr: number | Schedule, gc: boolean) => GradientTransformation<unknown>,
): Record<string, MenuEntry> {
  const key = label.toLowerCase();
  return {
    [key]: { label, lr, make: (r) => make(r, false) },
    [`${key}-gc`]: { label: `${label}+GC`, lr, make: (r) => make(r, true) },
  };
}

/** The demo's settings of an optimizer: its menu label, peak lr and options. */
interface DemoSetting {
  label: string;
  lr: number;
  options: Record<string, unknown>;
}

/**
 * The demo's own settings of some optimizers: momentum 0.9 for SGDM and
 * SGDW, weight decay 5e-4 for SGD(M), SGDW, Adam and AdamW. Any other
 * optimizer of `OPTIMIZERS` gets its default options at lr 1e-3.
 */
const DEMO: Partial<Record<OptimizerName, DemoSetting[]>> = {
  sgd: [
    { label: "SGD", lr: 0.05, options: { weightDecay: WD } },
    { label: "SGDM", lr: 0.05, options: { momentum: 0.9, weightDecay: WD } },
  ],
  sgdw: [{
    label: "SGDW",
    lr: 0.05,
    options: { momentum: 0.9, weightDecay: WD },
  }],
  adam: [{ label: "Adam", lr: 1e-3, options: { weightDecay: WD } }],
  adamw: [{ label: "AdamW", lr: 1e-3, options: { weightDecay: WD } }],
  adagrad: [{ label: "Adagrad", lr: 0.05, options: {} }],
  rmsprop: [{ label: "RMSprop", lr: 1e-3, options: {} }],
};

/**
 * Every optimizer of `@centra/chain`'s `OPTIMIZERS`, in its order, each
 * without and with Gradient Centralization (`<key>-gc`), with the demo's
 * settings.
 */
export const MENU: Readonly<Record<string, MenuEntry>> = Object.assign(
  {},
  ...(Object.keys(OPTIMIZERS) as OptimizerName[]).flatMap((name) =>
    (DEMO[name] ?? [{ label: name, lr: 1e-3, options: {} }]).map((d) =>
      withGc(
        d.label,
        d.lr,
        (lr, gc) => OPTIMIZERS[name].make(lr, { ...d.options, gc }),
      )
    )
  ),
);

/** Options of {@linkcode TrainingRun.create}. */
export interface TrainingRunOptions {
  /** A key of {@linkcode MENU}. */
  optimizer: string;
  /** Steps of the whole run: the cosine schedule decays to 0 over them. */
  steps: number;
  /** Channel multiplier of the small CNN. Default 0.5. */
  width?: number;
  /** Seed of the weights. Default 1. */
  seed?: number;
  /** Peak learning rate. Default: the menu entry's. */
  lr?: number;
}

/**
 * One model and one optimizer, trained a batch at a time with
 * `model.trainOnBatch` (the path `model.fit` takes). `ChainOptimizer` runs
 * the chain fused by default: fused WGSL kernels on the webgpu backend.
 */
export class TrainingRun {
  /** The menu entry's label. */
  readonly label: string;
  /** The model being trained. */
  readonly model: tf.LayersModel;
  /** Its optimizer. */
  readonly optimizer: ChainOptimizer;
  readonly #schedule: Schedule;

  private constructor(
    label: string,
    model: tf.LayersModel,
    optimizer: ChainOptimizer,
    schedule: Schedule,
  ) {
    this.label = label;
    this.model = model;
    this.optimizer = optimizer;
    this.#schedule = schedule;
  }

  /**
   * Builds the model and the optimizer.
   *
   * @param options Optimizer, steps, width, seed, peak learning rate.
   * @returns The run, at step 0.
   * @throws {RangeError} For an optimizer not in {@linkcode MENU}.
   */
  static create(options: TrainingRunOptions): TrainingRun {
    const entry = MENU[options.optimizer];
    if (entry === undefined) {
      throw new RangeError(
        `unknown optimizer "${options.optimizer}" (known: ${
          Object.keys(MENU).join(", ")
        })`,
      );
    }
    const schedule = cosineDecaySchedule(options.lr ?? entry.lr, {
      decaySteps: options.steps,
    });
    const optimizer = new ChainOptimizer(entry.make(schedule));
    const model = smallCnn({
      width: options.width ?? 0.5,
      seed: options.seed ?? 1,
    });
    model.compile({
      optimizer,
      loss: (yTrue: tf.Tensor, yPred: tf.Tensor) =>
        tf.losses.softmaxCrossEntropy(yTrue, yPred),
    });
    return new TrainingRun(entry.label, model, optimizer, schedule);
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.optimizer.iterations;
  }

  /**
   * The learning rate the next step uses (the schedule at the step count),
   * read asynchronously: a synchronous read on WebGPU stalls a page.
   *
   * @returns The learning rate.
   */
  async learningRate(): Promise<number> {
    const lr = tf.tidy(() => this.#schedule(tf.scalar(this.steps)));
    const [v] = await lr.data();
    lr.dispose();
    return v!;
  }

  /**
   * One training step on a batch (the caller keeps and disposes it).
   *
   * @param batch Images and one-hot labels.
   * @returns The batch's loss before the step and the step's wall time in
   * ms, measured until the loss is read back (so the device has finished).
   */
  async step(batch: Batch): Promise<{ loss: number; ms: number }> {
    const start = performance.now();
    const loss = await this.model.trainOnBatch(batch.xs, batch.ys);
    return { loss: Number(loss), ms: performance.now() - start };
  }

  /**
   * Accuracy on a labelled set, evaluated in chunks.
   *
   * @param xs Images `[n, 28, 28, 1]`.
   * @param labels Class indices `[n]`, int32.
   * @param chunk Images per forward pass (the training batch size reuses
   * the kernels WebGPU compiled for training).
   * @returns The fraction classified right, in [0, 1].
   */
  async accuracy(
    xs: tf.Tensor4D,
    labels: tf.Tensor1D,
    chunk: number,
  ): Promise<number> {
    return (await evaluate(this.model, { xs, labels }, chunk)).accuracy;
  }

  /** Frees the model and the optimizer's state. */
  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
