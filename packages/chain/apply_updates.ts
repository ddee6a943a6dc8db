import * as tf from "@tensorflow/tfjs";
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
  for (const [name, u] of Object.entries(updates)) {
    const v = variables[name];
    if (v === undefined) {
      throw new TypeError(`applyUpdates: no variable named "${name}"`);
    }
    if (!(u instanceof tf.Tensor) || u.isDisposed) {
      throw new TypeError(
        `applyUpdates: update "${name}" is not a live tensor`,
      );
    }
    if (
      u.shape.length !== v.shape.length ||
      u.shape.some((d, i) => d !== v.shape[i])
    ) {
      throw new TypeError(
        `applyUpdates: update "${name}" has shape [${u.shape}] but the variable has [${v.shape}]`,
      );
    }
  }
  tf.tidy(() => {
    for (const [name, u] of Object.entries(updates)) {
      const v = variables[name]!;
      v.assign(tf.add(v, u).asType(v.dtype));
    }
  });
}
