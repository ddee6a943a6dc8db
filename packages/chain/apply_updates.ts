import type * as tf from "@tensorflow/tfjs";
import { addUpdates, checkStepInput } from "./_drive.ts";
import type { Updates } from "./types.ts";

/**
 * Adds updates to variables in place: `w ← w + u` for every named update.
 * All names, shapes and dtypes are checked first, so a bad update changes
 * nothing: each update is a live float32 tensor naming a live float32
 * variable of its shape, and no variable sits under two names (a
 * `TypeError` naming it otherwise). Variables without an update stay as
 * they are.
 *
 * @param variables The variables, keyed by name.
 * @param updates The updates to add (from an optimizer's last transform).
 * @throws {TypeError} For an update or variable that does not fit.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { applyUpdates } from "@centra/chain/apply-updates";
 * import assert from "node:assert/strict";
 *
 * const w = tf.variable(tf.tensor1d([1, 2]));
 * applyUpdates({ w }, { w: tf.tensor1d([0.5, -1]) });
 * assert.deepEqual(Array.from(w.dataSync()), [1.5, 1]);
 * ```
 */
export function applyUpdates(
  variables: Readonly<Record<string, tf.Variable>>,
  updates: Updates,
): void {
  checkStepInput("applyUpdates", updates, {
    variables,
    what: "updates",
    label: (name) => `update "${name}"`,
  });
  addUpdates(variables, updates);
}
