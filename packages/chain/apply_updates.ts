import * as tf from "@tensorflow/tfjs";
import { checkAgainstVariables } from "./_drive.ts";
import type { Updates } from "./types.ts";

/**
 * Adds updates to variables in place: `w ← w + u` for every named update.
 * All names and shapes are checked first, so a bad update changes nothing.
 * Variables without an update stay as they are.
 *
 * @param variables The variables, keyed by name.
 * @param updates The updates to add (from an optimizer's last transform).
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
  checkAgainstVariables(
    "applyUpdates",
    updates,
    variables,
    (name) => `update "${name}"`,
  );
  tf.tidy(() => {
    for (const [name, u] of Object.entries(updates)) {
      const v = variables[name]!;
      v.assign(tf.add(v, u).asType(v.dtype));
    }
  });
}
