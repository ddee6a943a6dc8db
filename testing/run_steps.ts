// Drives a transformation over many steps the way a training loop does, for
// the tests of single transforms and wrappers: tf.Variables from float64
// starting values, `runUpdate` and `applyUpdates` per step, and the tensor
// count checked flat from the second step on.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  applyUpdates,
  disposeState,
  type GradientTransformation,
  initState,
  runUpdate,
} from "@centra/chain";
import { read } from "./assert.ts";
import { randn } from "./random.ts";
import type { Shape } from "./reference64.ts";

let uid = 0;

/**
 * Runs `tx` on variables of `shapes` starting at `w0`, one step per entry of
 * `grads` (float64 values rounded to float32), and returns the final
 * weights. Asserts that `tf.memory().numTensors` is the same after every
 * step from the first on, and back where it started once the state and
 * variables are disposed.
 */
export async function runSteps<S>(
  tx: GradientTransformation<S>,
  shapes: readonly Shape[],
  w0: readonly Float64Array[],
  grads: readonly (readonly Float64Array[])[],
): Promise<Float64Array[]> {
  const before = tf.memory().numTensors;
  const prefix = `run_steps_${++uid}`;
  const vars = shapes.map((s, k) => {
    const start = tf.tensor(Float32Array.from(w0[k]!), [...s]);
    const v = tf.variable(start, true, `${prefix}/p${k}`);
    start.dispose();
    return v;
  });
  const byName: Record<string, tf.Variable> = {};
  for (const v of vars) byName[v.name] = v;
  let state = initState(tx, byName);
  let flat = -1;
  grads.forEach((g, i) => {
    const gt: Record<string, tf.Tensor> = {};
    vars.forEach((v, k) => {
      gt[v.name] = tf.tensor(Float32Array.from(g[k]!), v.shape);
    });
    const [updates, next] = runUpdate(tx, gt, state, byName);
    state = next;
    applyUpdates(byName, updates);
    tf.dispose([updates, gt]);
    const n = tf.memory().numTensors;
    if (flat < 0) flat = n;
    assert.equal(n, flat, `tensor count after step ${i + 1}`);
  });
  const out = await Promise.all(vars.map((v) => read(v)));
  disposeState(state);
  tf.dispose(vars);
  assert.equal(
    tf.memory().numTensors,
    before,
    "tensors left after disposing the state and variables",
  );
  return out;
}

/** Seeded float32-exact values for each shape (standard normal times `scale`). */
export function seeded(
  shapes: readonly Shape[],
  seed: number,
  scale = 1,
): Float64Array[] {
  return shapes.map((s, k) =>
    randn(s.reduce((a, b) => a * b, 1), seed + 101 * k).map((x) =>
      Math.fround(x * scale)
    )
  );
}
