import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  disposeState,
  initState,
  multiSteps,
  runUpdate,
  sgd,
  skipLargeUpdates,
} from "./mod.ts";
import { assertClose, testOnBackends } from "@centra/testing/mod.ts";
import { runSteps, seeded } from "@centra/testing/run_steps.ts";
import type { Shape } from "@centra/testing/reference64.ts";

const SHAPES: readonly Shape[] = [[3, 4], [4]];
const MAX = 40;

testOnBackends(
  "skipLargeUpdates(sgd momentum) matches a float64 SGDM that skips steps with Σg² >= maxSquaredNorm or NaN (momentum untouched) over 100 steps",
  async () => {
    const lr = 0.05, beta = 0.9;
    const w0 = seeded(SHAPES, 21);
    // every fifth step is 3x larger (Σg² about 144 > 40), every 13th is NaN
    const grads = Array.from(
      { length: 100 },
      (_, t) =>
        seeded(SHAPES, 900 + t, t % 5 === 0 ? 3 : 1).map((g) =>
          t % 13 === 7 ? g.map((x, i) => (i === 0 ? NaN : x)) : g
        ),
    );
    const got = await runSteps(
      skipLargeUpdates(sgd(lr, { momentum: beta }), { maxSquaredNorm: MAX }),
      SHAPES,
      w0,
      grads,
    );
    // PyTorch SGD momentum: b = β b + g; w = w - lr b; a skipped step does nothing
    const want = w0.map((w) => w.slice());
    const b = w0.map((w) => new Float64Array(w.length));
    let skipped = 0;
    for (const g of grads) {
      let s = 0;
      for (const x of g) for (const v of x) s += v * v;
      if (!(s < MAX)) {
        skipped++;
        continue;
      }
      want.forEach((w, k) => {
        for (let i = 0; i < w.length; i++) {
          b[k]![i] = beta * b[k]![i]! + g[k]![i]!;
          w[i] = w[i]! - lr * b[k]![i]!;
        }
      });
    }
    assert.ok(skipped >= 20 && skipped <= 40, `${skipped} steps skipped`);
    got.forEach((w, k) =>
      assertClose(w, want[k]!, { rtol: 1e-5, atol: 1e-5, what: `p${k}` })
    );
  },
);

testOnBackends(
  "skipLargeUpdates(multiSteps(sgd, 2)) drops a large mini-batch without counting it, as optax's MultiSteps with skip_large_updates",
  async () => {
    const tx = skipLargeUpdates(multiSteps(sgd(1), 2), { maxSquaredNorm: 50 });
    let state = initState(tx, { w: tf.zeros([1]) });
    const outs: number[] = [];
    for (const g of [1, 100, 3]) {
      const grad = { w: tf.tensor1d([g]) };
      const [u, next] = runUpdate(tx, grad, state);
      state = next;
      outs.push((await u.w!.data())[0]!);
      assert.equal((await state.shouldSkip.data())[0], g === 100 ? 1 : 0);
      assert.equal((await state.normSquared.data())[0], g * g);
      tf.dispose([u, grad]);
    }
    // the mean of 1 and 3 is applied at the third call
    assert.deepEqual(outs, [0, 0, -2]);
    disposeState(state);
  },
);

Deno.test("skipLargeUpdates() refuses a missing, negative or non-numeric bound, and a non-transformation, before building anything", () => {
  const before = tf.memory().numTensors;
  assert.throws(
    () => skipLargeUpdates(sgd(0.1), {} as never),
    /maxSquaredNorm is required/,
  );
  assert.throws(
    () => skipLargeUpdates(sgd(0.1), { maxSquaredNorm: -1 }),
    /maxSquaredNorm must be in \[0, Infinity\], got -1/,
  );
  assert.throws(
    () => skipLargeUpdates(sgd(0.1), { maxSquaredNorm: "1" as never }),
    /maxSquaredNorm must be a number or a scalar tensor/,
  );
  assert.throws(
    () =>
      skipLargeUpdates(sgd(0.1), { maxSquaredNorm: 1, maxNorm: 1 } as never),
    /unknown option "maxNorm"/,
  );
  assert.throws(
    () => skipLargeUpdates({} as never, { maxSquaredNorm: 1 }),
    TypeError,
  );
  assert.equal(tf.memory().numTensors, before);
});
