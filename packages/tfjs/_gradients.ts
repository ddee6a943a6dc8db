// Private: what `ChainOptimizer.applyGradients` accepts, checked before
// anything changes, and the variables it updates: tfjs's forms (a map or a
// list of named gradients, null skipped), the registered variables, and the
// shapes a restored checkpoint holds before the state is built, which
// @centra/chain cannot see. The step then runs through `runStep` (naming
// ChainOptimizer), whose entry check is @centra/chain's one check.
import * as tf from "@tensorflow/tfjs";
import type { Updates } from "@centra/chain/types";
import type { NamedTensor } from "./_state_checkpoint.ts";

const WHERE = "ChainOptimizer.applyGradients";

/**
 * The gradients to apply, by variable name: each a live float32 tensor
 * naming a registered float32 variable, whose shape is the one the state was
 * built for (`stateShape(name)`, if any), no name twice. That each gradient
 * has its variable's shape is `runStep`'s entry check (the same message). `null` or
 * `undefined` gradients are skipped, as in tfjs.
 *
 * @throws {TypeError} Naming the first bad entry.
 */
export function readGradients(
  variableGradients: tf.NamedTensorMap | NamedTensor[],
  stateShape: (name: string) => readonly number[] | undefined,
): Updates {
  const registered = tf.engine().registeredVariables;
  const grads: Updates = {};
  for (const [name, g] of entriesOf(variableGradients)) {
    if (g === null || g === undefined) continue;
    if (Object.hasOwn(grads, name)) {
      throw new TypeError(`${WHERE}: "${name}" appears twice`);
    }
    const v = Object.hasOwn(registered, name) ? registered[name] : undefined;
    if (v === undefined || v.isDisposed) {
      throw new TypeError(`${WHERE}: no variable named "${name}"`);
    }
    checkGradient(name, g, v, stateShape(name));
    grads[name] = g as tf.Tensor;
  }
  return grads;
}

/** The `[name, gradient]` pairs of a map or a list of named gradients. */
function entriesOf(
  variableGradients: tf.NamedTensorMap | NamedTensor[],
): Array<[string, tf.Tensor | null | undefined]> {
  if (Array.isArray(variableGradients)) {
    return variableGradients.map((g, i) => {
      if (g === null || typeof g !== "object" || typeof g.name !== "string") {
        throw new TypeError(
          `${WHERE}: entry ${i} must be { name, tensor }, got ${String(g)}`,
        );
      }
      return [g.name, g.tensor];
    });
  }
  if (variableGradients !== null && typeof variableGradients === "object") {
    return Object.entries(variableGradients);
  }
  throw new TypeError(
    `${WHERE}: expected a map or a list of named gradients, got ${
      String(variableGradients)
    }`,
  );
}

function checkGradient(
  name: string,
  g: unknown,
  v: tf.Variable,
  known: readonly number[] | undefined,
): void {
  if (!(g instanceof tf.Tensor) || g.isDisposed) {
    throw new TypeError(
      `${WHERE}: the gradient of "${name}" is not a live tensor`,
    );
  }
  if (g.dtype !== "float32" || v.dtype !== "float32") {
    throw new TypeError(
      `${WHERE}: "${name}" must be float32 (gradient ${g.dtype}, variable ${v.dtype})`,
    );
  }
  if (known !== undefined && !tf.util.arraysEqual([...known], v.shape)) {
    throw new TypeError(
      `${WHERE}: "${name}" has shape [${v.shape}] but its state was built for [${known}]`,
    );
  }
}

/** The live variables among `names`, by name. */
export function liveVariables(
  names: readonly string[],
): Record<string, tf.Variable> {
  const registered = tf.engine().registeredVariables;
  const out: Record<string, tf.Variable> = {};
  for (const name of names) {
    const v = registered[name];
    if (v !== undefined && !v.isDisposed) out[name] = v;
  }
  return out;
}
