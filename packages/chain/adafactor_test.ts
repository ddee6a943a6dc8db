import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adafactor,
  disposeState,
  initState,
  runUpdate,
  scaleByFactoredRms,
} from "./mod.ts";
import { assertClose, read, testOnBackends } from "@centra/testing/mod.ts";
import { runSteps, seeded } from "@centra/testing/run_steps.ts";
import { adafactorRef } from "@centra/testing/rows/adafactor.ts";
import type { Shape } from "@centra/testing/reference64.ts";

const SHAPES: readonly Shape[] = [[3, 3, 2, 4], [4], [6, 5]];

for (const gc of [false, true]) {
  testOnBackends(
    `adafactor() ${
      gc ? "with" : "without"
    } GC matches the float64 Adafactor reference over 100 steps, factored and not, with a flat tensor count`,
    async () => {
      const options = { minDimSizeToFactor: 2, momentum: 0.5, gc };
      const w0 = seeded(SHAPES, 71);
      const grads = Array.from(
        { length: 100 },
        (_, t) => seeded(SHAPES, 7100 + t).map((g) => g.map((x) => x + 0.3)),
      );
      const got = await runSteps(adafactor(0.01, options), SHAPES, w0, grads);
      const want = w0.map((w) => w.slice());
      const step = adafactorRef(0.01, options)(SHAPES);
      grads.forEach((g, t) => step(want, g, t + 1));
      got.forEach((w, k) =>
        assertClose(w, want[k]!, { rtol: 1e-4, atol: 1e-5, what: `p${k}` })
      );
    },
  );
}

testOnBackends(
  "scaleByFactoredRms() is exact for a rank-one g²: the first step of g = a bᵀ is sign(g) (the paper's motivation)",
  async () => {
    // V̂ = r c / mean(r) = a_i² b_j² when g² is the outer product of a² and b²
    const a = [0.5, -2, 3, 1.5], b = [1, -0.25, 4, 2, -3];
    const g = tf.tensor2d(a.flatMap((x) => b.map((y) => x * y)), [4, 5]);
    const tx = scaleByFactoredRms({ minDimSizeToFactor: 2 });
    const state = tx.init({ w: g });
    const [u, next] = runUpdate(tx, { w: g }, state);
    assertClose(
      await read(u.w!),
      a.flatMap((x) => b.map((y) => Math.sign(x * y))),
      { atol: 1e-5, what: "g / sqrt(V̂)" },
    );
    tf.dispose([g, u.w!]);
    disposeState(next);
  },
);

Deno.test("scaleByFactoredRms() keeps R + C numbers per leading index for tensors whose last two axes are long enough, the full moment for the rest", () => {
  const params = {
    conv: tf.zeros([3, 3, 8, 16]),
    dense: tf.zeros([8, 16]),
    narrow: tf.zeros([8, 2]),
    bias: tf.zeros([16]),
  };
  const s = initState(scaleByFactoredRms({ minDimSizeToFactor: 4 }), params);
  assert.deepEqual(s.vRow.conv!.shape, [3, 3, 8]);
  assert.deepEqual(s.vCol.conv!.shape, [3, 3, 16]);
  assert.deepEqual(s.vRow.dense!.shape, [8]);
  assert.deepEqual(s.vCol.dense!.shape, [16]);
  assert.deepEqual(Object.keys(s.v).sort(), ["bias", "narrow"]);
  assert.deepEqual(s.v.narrow!.shape, [8, 2]);
  disposeState(s);
  tf.dispose(Object.values(params));
});

Deno.test("scaleByFactoredRms() and adafactor() refuse bad options and foreign states with errors naming them", () => {
  assert.throws(
    () => scaleByFactoredRms({ minDimSizeToFactor: 0 }),
    /minDimSizeToFactor must be an integer >= 1, got 0/,
  );
  assert.throws(
    () => scaleByFactoredRms({ stepOffset: -1 }),
    /stepOffset must be an integer >= 0, got -1/,
  );
  assert.throws(
    () => scaleByFactoredRms({ decayRate: -0.8 }),
    /decayRate must be in \[0, Infinity\], got -0.8/,
  );
  assert.throws(
    () => adafactor(0.1, { clipping: 1 } as never),
    /unknown option "clipping"/,
  );
  assert.throws(() => adafactor(0.1, { factored: 1 } as never), TypeError);
  const tx = scaleByFactoredRms({ minDimSizeToFactor: 2 });
  const s = tx.init({ w: tf.zeros([2, 3]) });
  assert.throws(
    () => tx.update({ w: tf.zeros([3, 2]) }, s),
    /update "w" has shape \[3,2\], so its vRow should be a tensor of shape \[3\]/,
  );
  assert.throws(
    () => tx.update({ v: tf.zeros([2, 3]) }, s),
    /unknown parameter name "v"/,
  );
  assert.throws(
    () => tx.update({ w: tf.zeros([2, 3]) }, {} as never),
    /count, vRow, vCol, v/,
  );
  disposeState(s);
});
