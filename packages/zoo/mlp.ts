import type * as tf from "@tensorflow/tfjs";
import { Builder, resolve, scaled } from "./_layers.ts";

/** Options of {@linkcode mlp}. */
export interface MlpOptions {
  /** Input shape, flattened first. Default `[28, 28, 1]`. */
  inputShape?: readonly number[];
  /** Output units (logits). Default 10. */
  numClasses?: number;
  /** Hidden layer sizes (before `width`). Default `[256, 128]`. */
  hidden?: readonly number[];
  /** Multiplies every hidden size. Default 1. */
  width?: number;
  /** Seed for the initial weights; without one they differ per build. */
  seed?: number;
  /** Model name and prefix of every layer name. Default `"mlp"`. */
  name?: string;
}

/**
 * A multilayer perceptron: flatten, Dense layers with ReLU, and a Dense
 * classifier. Layers: `<name>/flatten`, `<name>/fc1`, `<name>/fc2`, ...,
 * `<name>/fc`. With the defaults (784 inputs, 256 and 128 hidden units, 10
 * classes) it has 235,146 parameters.
 *
 * @param options Input shape, classes, hidden sizes, width, seed and name.
 * @returns An uncompiled `tf.LayersModel`.
 *
 * @example
 * ```ts
 * import { mlp } from "@centra/zoo/mlp";
 * import assert from "node:assert/strict";
 *
 * const model = mlp({ inputShape: [4], hidden: [8], numClasses: 3 });
 * assert.equal(model.countParams(), 4 * 8 + 8 + 8 * 3 + 3);
 * model.dispose();
 * ```
 */
export function mlp(options: MlpOptions = {}): tf.LayersModel {
  const where = "mlp";
  const hidden = [...(options.hidden ?? [256, 128])];
  if (hidden.some((h) => !Number.isInteger(h) || h < 1)) {
    throw new RangeError(
      `${where}: hidden must be positive integers, got [${hidden}]`,
    );
  }
  const given = options.inputShape;
  const opts = resolve(
    where,
    options,
    { inputShape: [28, 28, 1], numClasses: 10, name: where },
    given === undefined ? 3 : Math.max(1, given.length),
  );
  const b = new Builder(opts);
  const input = b.input();
  let x = opts.inputShape.length > 1 ? b.flatten(input) : input;
  hidden.forEach((h, i) => {
    x = b.dense(x, `fc${i + 1}`, scaled(h, opts.width), {
      activation: "relu",
      init: "heFanIn",
    });
  });
  return b.model(input, b.dense(x, "fc", opts.numClasses));
}
