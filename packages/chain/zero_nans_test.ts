import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { adam, chain, initState, runUpdate, zeroNans } from "./mod.ts";
import { assertClose, testOnBackends } from "@centra/testing/mod.ts";
import { runSteps, seeded } from "@centra/testing/run_steps.ts";
import { adamRef, type Shape } from "@centra/testing/reference64.ts";

const SHAPES: readonly Shape[] = [[3, 4], [4]];

testOnBackends(
  "zeroNans() zeroes exactly the NaNs, keeps ±Infinity, and flags the parameters whose update held one",
  async () => {
    const tx = zeroNans();
    const params = { a: tf.zeros([2, 2]), b: tf.zeros([3]), c: tf.zeros([]) };
    let state = initState(tx, params);
    let u;
    [u, state] = runUpdate(tx, {
      a: tf.tensor2d([[1, NaN], [-Infinity, 2]]),
      b: tf.tensor1d([1, 2, 3]),
      c: tf.scalar(NaN),
    }, state);
    assert.deepEqual(Array.from(await u.a!.data()), [1, 0, -Infinity, 2]);
    assert.deepEqual(Array.from(await u.b!.data()), [1, 2, 3]);
    assert.deepEqual(Array.from(await u.c!.data()), [0]);
    assert.equal((await state.foundNan.a!.data())[0], 1);
    assert.equal((await state.foundNan.b!.data())[0], 0);
    assert.equal((await state.foundNan.c!.data())[0], 1);
    tf.dispose(u);
    // a subset of names: the others keep their flag
    [u, state] = runUpdate(tx, { a: tf.ones([2, 2]) }, state);
    assert.equal((await state.foundNan.a!.data())[0], 0);
    assert.equal((await state.foundNan.c!.data())[0], 1);
    tf.dispose([u, state.foundNan, params]);
  },
);

testOnBackends(
  "zeroNans() before adam matches a float64 Adam on the gradients with NaN read as 0 over 100 steps, with a flat tensor count",
  async () => {
    const w0 = seeded(SHAPES, 11);
    const grads = Array.from(
      { length: 100 },
      (_, t) =>
        seeded(SHAPES, 300 + t).map((g, k) =>
          g.map((x, i) => ((t + i + k) % 7 === 0 ? NaN : x))
        ),
    );
    const got = await runSteps(
      chain(zeroNans(), adam(0.01)),
      SHAPES,
      w0,
      grads,
    );
    const want = w0.map((w) => w.slice());
    const step = adamRef({ lr: 0.01, eps: 1e-8, gc: false })(SHAPES);
    grads.forEach((g, t) =>
      step(want, g.map((x) => x.map((v) => (Number.isNaN(v) ? 0 : v))), t + 1)
    );
    got.forEach((w, k) =>
      assertClose(w, want[k]!, { rtol: 1e-4, atol: 1e-5, what: `p${k}` })
    );
  },
);

Deno.test("zeroNans() refuses a name its state was not built for, and a foreign state, with a TypeError", () => {
  const tx = zeroNans();
  const s = tx.init({ w: tf.zeros([1]) });
  assert.throws(
    () => tx.update({ v: tf.zeros([1]) }, s),
    /unknown parameter name "v"/,
  );
  assert.throws(() => tx.update({ w: tf.zeros([1]) }, {} as never), /foundNan/);
  tf.dispose(s.foundNan);
});
