import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";
import { currentLearningRate, type FitLogs } from "./learning_rate.ts";

/** Options of {@linkcode progressLogger}. */
export interface ProgressLoggerOptions {
  /**
   * Where text goes. Default: `console.log`, one call per finished line
   * (`@centra/tfjs/terminal`'s `progressLogger` writes to standard output).
   */
  write?: (text: string) => void;
  /**
   * Draw a live progress bar during each epoch (carriage returns and ANSI
   * erase codes, for a terminal). Default `false` (`@centra/tfjs/terminal`'s
   * `progressLogger`: when standard output is a terminal).
   */
  live?: boolean;
  /** Width of the bar in characters. Default 24. */
  barWidth?: number;
  /** Least time between two redraws of the bar, in ms. Default 100. */
  redrawMs?: number;
}

// Hands finished lines to console.log, which exists everywhere (browsers
// too) but always ends a line itself.
function consoleWriter(): (text: string) => void {
  let pending = "";
  return (text) => {
    const lines = (pending + text).split("\n");
    pending = lines.pop()!;
    for (const line of lines) console.log(line);
  };
}

async function numberOf(
  v: number | tf.Scalar | undefined,
): Promise<number | undefined> {
  if (v === undefined) return undefined;
  if (typeof v === "number") return v;
  if (v.isDisposed) return undefined;
  return (await v.data())[0];
}

function fmt(x: number): string {
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? x.toExponential(3) : x.toFixed(4);
}

/** How long an epoch took, for {@linkcode formatEpochLine}. */
export interface EpochTiming {
  /** Training steps taken. */
  steps: number;
  /** Wall time of the whole epoch, in seconds. */
  seconds: number;
}

/**
 * Formats the line {@linkcode progressLogger} prints after each epoch: the
 * epoch, every value (loss and accuracy first, the learning rate after the
 * validation metrics), steps per second and time.
 *
 * @param epoch The epoch, from 1.
 * @param epochs How many epochs there are.
 * @param values The numbers to show, by name.
 * @param timing Steps and seconds.
 * @returns One line, without a newline.
 *
 * @example
 * ```ts
 * import { formatEpochLine } from "@centra/tfjs/progress-logger";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   formatEpochLine(2, 10, { lr: 0.05, loss: 0.5 }, { steps: 30, seconds: 12 }),
 *   "epoch  2/10  loss 0.5000  lr 0.0500  2.50 steps/s  12.0s",
 * );
 * ```
 */
export function formatEpochLine(
  epoch: number,
  epochs: number,
  values: Readonly<Record<string, number>>,
  timing: EpochTiming,
): string {
  const width = String(epochs).length;
  const parts = [`epoch ${String(epoch).padStart(width)}/${epochs}`];
  const keys = Object.keys(values).sort((a, b) =>
    rank(a) - rank(b) || a.localeCompare(b)
  );
  for (const k of keys) parts.push(`${k} ${fmt(values[k]!)}`);
  const rate = timing.seconds > 0 ? timing.steps / timing.seconds : 0;
  parts.push(
    `${rate.toFixed(rate < 10 ? 2 : 1)} steps/s`,
    `${timing.seconds.toFixed(1)}s`,
  );
  return parts.join("  ");
}

function rank(key: string): number {
  const order = [
    "loss",
    "acc",
    "accuracy",
    "val_loss",
    "val_acc",
    "val_accuracy",
    "lr",
  ];
  const i = order.indexOf(key);
  return i < 0 ? order.length : i;
}

class ProgressLogger extends tf.Callback {
  readonly #write: (text: string) => void;
  readonly #live: boolean;
  readonly #barWidth: number;
  readonly #redrawMs: number;
  #epochStart = 0;
  #steps = 0;
  #lastDraw = 0;
  #drawn = false;

  constructor(
    write: (text: string) => void,
    live: boolean,
    barWidth: number,
    redrawMs: number,
  ) {
    super();
    this.#write = write;
    this.#live = live;
    this.#barWidth = barWidth;
    this.#redrawMs = redrawMs;
  }

  #total(): number | undefined {
    const p = this.params as Record<string, unknown>;
    if (typeof p.steps === "number") return p.steps;
    if (typeof p.samples === "number" && typeof p.batchSize === "number") {
      return Math.ceil(p.samples / p.batchSize);
    }
    return undefined;
  }

  override onEpochBegin(_epoch: number): Promise<void> {
    this.#epochStart = performance.now();
    this.#steps = 0;
    this.#lastDraw = 0;
    return Promise.resolve();
  }

  override async onBatchEnd(_batch: number, logs?: FitLogs): Promise<void> {
    this.#steps++;
    if (!this.#live) return;
    const now = performance.now();
    const total = this.#total();
    if (now - this.#lastDraw < this.#redrawMs && this.#steps !== total) return;
    this.#lastDraw = now;
    const loss = await numberOf(logs?.loss);
    const seconds = (now - this.#epochStart) / 1000;
    const w = this.#barWidth;
    const filled = total === undefined
      ? 0
      : Math.min(w, Math.round((this.#steps / total) * w));
    const bar = total === undefined
      ? ""
      : `[${"#".repeat(filled)}${"-".repeat(w - filled)}] `;
    const count = total === undefined
      ? `${this.#steps}`
      : `${this.#steps}/${total}`;
    const rate = seconds > 0
      ? `  ${(this.#steps / seconds).toFixed(2)} steps/s`
      : "";
    this.#write(
      `\r\x1b[K${bar}${count}${
        loss === undefined ? "" : `  loss ${fmt(loss)}`
      }${rate}`,
    );
    this.#drawn = true;
  }

  override async onEpochEnd(epoch: number, logs?: FitLogs): Promise<void> {
    // The whole epoch, end-of-epoch work included: on WebGPU the host runs
    // ahead of the device, so the time of the last step would flatter.
    const seconds = (performance.now() - this.#epochStart) / 1000;
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(logs ?? {})) {
      const n = await numberOf(v);
      if (n !== undefined) values[k] = n;
    }
    if (values.lr === undefined) {
      const lr = await currentLearningRate(this.model?.optimizer);
      if (lr !== undefined) values.lr = lr;
    }
    const epochs = Number(
      (this.params as Record<string, unknown>).epochs ?? epoch + 1,
    );
    const clear = this.#drawn ? "\r\x1b[K" : "";
    this.#drawn = false;
    this.#write(
      `${clear}${
        formatEpochLine(epoch + 1, epochs, values, {
          steps: this.#steps,
          seconds,
        })
      }\n`,
    );
  }
}

/**
 * A `model.fit` callback that prints one line per epoch (every log value:
 * loss, accuracy, validation metrics; the learning rate; steps per second
 * and time) and, with `live`, a progress bar with the running loss.
 * Values are read asynchronously, so it works on WebGPU; the bar reads the
 * batch loss only when it redraws.
 *
 * This one uses no Deno or Node API, so it runs in a browser: lines go to
 * `console.log` unless `write` is given, and there is no live bar unless
 * asked. `progressLogger` from `@centra/tfjs/terminal` writes to standard
 * output and draws the bar when that is a terminal.
 *
 * @param options Where to write, whether to draw the bar, its width and redraw rate.
 * @returns The callback.
 *
 * @example Collect the epoch lines
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { progressLogger } from "@centra/tfjs/progress-logger";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * model.compile({ optimizer: tf.train.sgd(0.1), loss: "meanSquaredError" });
 * await model.fit(tf.ones([4, 1]), tf.ones([4, 1]), {
 *   epochs: 2, batchSize: 2, verbose: 0,
 *   callbacks: [progressLogger({ write: (t) => lines.push(t), live: false })],
 * });
 * assert.equal(lines.length, 2);
 * assert.match(lines[1]!, /^epoch 2\/2 {2}loss [\d.e+-]+ {2}lr 0\.1000 {2}[\d.]+ steps\/s/);
 * ```
 */
export function progressLogger(
  options: ProgressLoggerOptions = {},
): tf.Callback {
  const { write = consoleWriter(), barWidth = 24, redrawMs = 100 } = options;
  const live = options.live ?? false;
  if (typeof write !== "function") {
    throw new TypeError(
      `progressLogger: write must be a function, got ${String(write)}`,
    );
  }
  if (!Number.isInteger(barWidth) || barWidth < 1) {
    throw new RangeError(
      `progressLogger: barWidth must be a positive integer, got ${barWidth}`,
    );
  }
  if (!(redrawMs >= 0)) {
    throw new RangeError(
      `progressLogger: redrawMs must be >= 0, got ${redrawMs}`,
    );
  }
  return new ProgressLogger(write, live, barWidth, redrawMs);
}
