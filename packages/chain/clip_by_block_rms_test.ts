import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { chain, clipByBlockRms, scaleByLearningRate } from "./mod.ts";
import { assertClose, read, testOnBackends } from "@centra/testing/mod.ts";
import { runSteps, seeded } from "@centra/testing/run_steps.ts";
import type { Shape } from "@centra/testing/reference64.ts";

/** optax's clip_by_block_rms in float64: u / max(1, rms(u) / threshold). */
function clip64(u: Float64Array, threshold: number): Float64Array {
  let s = 0;
  for (const x of u) s += x * x;
  const rms = Math.sqrt(s / u.length);
  return u.map((x) => x / Math.max(1, rms / threshold));
}

const SHAPES: readonly Shape[] = [[3, 3, 2, 4], [4], [6, 5], []];

testOnBackends(
  "clipByBlockRms() matches optax's rule in float64 per tensor, scalars included, with a number and a tensor threshold",
  async () => {
    // scales that put some tensors above the bound and some below
    const us = seeded(SHAPES, 3).map((u, k) =>
      u.map((x) => x * [3, 0.2, 1, 5][k]!)
    );
    for (const threshold of [1, tf.scalar(0.7)]) {
      const t64 = typeof threshold === "number"
        ? threshold
        : (await threshold.data())[0]!;
      const updates: Record<string, tf.Tensor> = {};
      SHAPES.forEach((s, k) => {
        updates[`p${k}`] = tf.tensor(Float32Array.from(us[k]!), [...s]);
      });
      const tx = clipByBlockRms(threshold);
      const [out] = tx.update(updates, tx.init(updates));
      let clipped = 0, kept = 0;
      for (let k = 0; k < SHAPES.length; k++) {
        const want = clip64(us[k]!, t64);
        assertClose(await read(out[`p${k}`]!), want, {
          rtol: 1e-6,
          atol: 1e-7,
          what: `p${k} at threshold ${t64}`,
        });
        want[0] === us[k]![0] ? kept++ : clipped++;
      }
      assert.ok(clipped > 0 && kept > 0, "some tensors clipped, some kept");
      tf.dispose([updates, out]);
      if (typeof threshold !== "number") threshold.dispose();
    }
  },
);

testOnBackends(
  "clipByBlockRms() before the learning rate matches a float64 reference over 100 steps with a flat tensor count",
  async () => {
    const shapes: readonly Shape[] = [[4, 3], [3]];
    const w0 = seeded(shapes, 7);
    const grads = Array.from(
      { length: 100 },
      (_, t) => seeded(shapes, 500 + t, t % 3 === 0 ? 4 : 0.5),
    );
    const got = await runSteps(
      chain(clipByBlockRms(1), scaleByLearningRate(0.1)),
      shapes,
      w0,
      grads,
    );
    const want = w0.map((w) => w.slice());
    for (const g of grads) {
      want.forEach((w, k) => {
        const c = clip64(g[k]!, 1);
        for (let i = 0; i < w.length; i++) w[i] = w[i]! - 0.1 * c[i]!;
      });
    }
    got.forEach((w, k) =>
      assertClose(w, want[k]!, { rtol: 1e-5, atol: 1e-5, what: `p${k}` })
    );
  },
);

Deno.test("clipByBlockRms() refuses a threshold that is not > 0 with a RangeError naming it", () => {
  assert.throws(
    () => clipByBlockRms(0),
    /threshold must be in \(0, Infinity\], got 0/,
  );
  assert.throws(
    () => clipByBlockRms(-1),
    /threshold must be in \(0, Infinity\], got -1/,
  );
  assert.throws(() => clipByBlockRms(NaN), /threshold must be finite, got NaN/);
  assert.throws(() => clipByBlockRms("1" as never), TypeError);
});
