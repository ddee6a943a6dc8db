import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { chain, keepParamsNonnegative, sgd } from "./mod.ts";
import { assertClose, testOnBackends } from "@centra/testing/mod.ts";
import { runSteps, seeded } from "@centra/testing/run_steps.ts";
import type { Shape } from "@centra/testing/reference64.ts";

const SHAPES: readonly Shape[] = [[3, 4], [5], []];
const STEPS = 100;

testOnBackends(
  "keepParamsNonnegative() after sgd matches a float64 projected SGD (w = 0 where w - lr g < 0) over 100 steps, and no weight goes below 0",
  async () => {
    const lr = 0.05;
    // non-negative starting weights, gradients with a positive drift so that
    // many weights are pushed to 0 and stay there
    const w0 = seeded(SHAPES, 5).map((w) => w.map(Math.abs));
    const grads = Array.from(
      { length: STEPS },
      (_, t) => seeded(SHAPES, 1000 + t).map((g) => g.map((x) => x + 0.5)),
    );
    const got = await runSteps(
      chain(sgd(lr), keepParamsNonnegative()),
      SHAPES,
      w0,
      grads,
    );
    // optax: u = -p where p + u < 0, else u
    const want = w0.map((w) => w.slice());
    for (const g of grads) {
      want.forEach((w, k) => {
        for (let i = 0; i < w.length; i++) {
          const u = -lr * g[k]![i]!;
          w[i] = w[i]! + u < 0 ? 0 : w[i]! + u;
        }
      });
    }
    let zeros = 0;
    got.forEach((w, k) => {
      assertClose(w, want[k]!, { rtol: 1e-5, atol: 1e-6, what: `p${k}` });
      for (const x of w) {
        assert.ok(x >= 0, `p${k} went below 0: ${x}`);
        if (x === 0) zeros++;
      }
    });
    assert.ok(
      zeros > 3,
      `only ${zeros} weights reached 0; the test is vacuous`,
    );
  },
);

testOnBackends(
  "keepParamsNonnegative() moves an already negative parameter to 0 and passes a NaN sum through, as optax",
  async () => {
    const tx = keepParamsNonnegative();
    const params = { w: tf.tensor1d([-2, -2, 1, 1]) };
    const [u] = tx.update(
      { w: tf.tensor1d([1, 3, NaN, -0.5]) },
      tx.init(params),
      params,
    );
    const got = Array.from(await u.w!.data());
    assert.deepEqual(got.slice(0, 2), [2, 3]);
    assert.ok(Number.isNaN(got[2]));
    assert.equal(got[3], -0.5);
    tf.dispose([params.w, u.w!]);
  },
);

Deno.test("keepParamsNonnegative() needs params: a TypeError naming the missing one", () => {
  const tx = keepParamsNonnegative();
  const g = { w: tf.ones([2]) };
  assert.throws(() => tx.update(g, tx.init(g)), /needs params/);
  assert.throws(
    () => tx.update(g, tx.init(g), { v: tf.ones([2]) }),
    /missing parameter "w"/,
  );
});
