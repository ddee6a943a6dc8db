/**
 * `@centra/tfjs/terminal`: {@linkcode progressLogger} for a program in a
 * terminal (Deno): it writes to standard output and draws the live progress
 * bar when standard output is a terminal. Kept out of the main entry, which
 * loads in a browser.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import {
  progressLogger as baseProgressLogger,
  type ProgressLoggerOptions,
} from "./progress_logger.ts";

export type { ProgressLoggerOptions } from "./progress_logger.ts";

function stdoutWriter(): (text: string) => void {
  const enc = new TextEncoder();
  return (text) => {
    const bytes = enc.encode(text);
    for (let at = 0; at < bytes.length;) {
      at += Deno.stdout.writeSync(bytes.subarray(at));
    }
  };
}

/**
 * `progressLogger` from `@centra/tfjs/progress-logger` with a terminal's
 * defaults: `write` is standard output (unbuffered, no newline added) and
 * `live` is whether standard output is a terminal. Every option can still be
 * given.
 *
 * @param options Where to write, whether to draw the bar, its width and redraw rate.
 * @returns The callback.
 * @throws {TypeError} when `write` is not a function.
 * @throws {RangeError} for a `barWidth` that is not a positive integer or a
 * negative `redrawMs`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { progressLogger } from "@centra/tfjs/terminal";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * model.compile({ optimizer: tf.train.sgd(0.1), loss: "meanSquaredError" });
 * await model.fit(tf.ones([4, 1]), tf.ones([4, 1]), {
 *   epochs: 1, verbose: 0, callbacks: [progressLogger({ write: (t) => lines.push(t), live: false })],
 * });
 * assert.match(lines[0]!, /^epoch 1\/1 {2}loss /);
 * ```
 */
export function progressLogger(
  options: ProgressLoggerOptions = {},
): tf.Callback {
  return baseProgressLogger({
    ...options,
    write: options.write ?? stdoutWriter(),
    live: options.live ?? Deno.stdout.isTerminal(),
  });
}
