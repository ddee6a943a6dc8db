import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  applyUpdates,
  disposeState,
  initState,
  lookahead,
  runUpdate,
  sgd,
} from "./mod.ts";
import { assertClose, testOnBackends } from "@centra/testing/mod.ts";
import { runSteps, seeded } from "@centra/testing/run_steps.ts";
import { lookaheadRef } from "@centra/testing/rows/lookahead.ts";
import { sgdRef, type Shape } from "@centra/testing/reference64.ts";

const SHAPES: readonly Shape[] = [[3, 4], [4]];

for (const gc of [false, true]) {
  testOnBackends(
    `lookahead(sgd momentum) ${
      gc ? "with" : "without"
    } GC matches a float64 Lookahead-SGDM (Algorithm 1) over 100 steps, with a flat tensor count`,
    async () => {
      const w0 = seeded(SHAPES, 91);
      const grads = Array.from(
        { length: 100 },
        (_, t) => seeded(SHAPES, 9100 + t).map((g) => g.map((x) => x + 0.2)),
      );
      const tx = lookahead(sgd(0.02, { momentum: 0.9, gc }), {
        syncPeriod: 7,
        alpha: 0.6,
      });
      const got = await runSteps(tx, SHAPES, w0, grads);
      const want = w0.map((w) => w.slice());
      const step = lookaheadRef(
        sgdRef({ lr: 0.02, momentum: 0.9, gc }),
        7,
        0.6,
      )(SHAPES);
      grads.forEach((g, t) => step(want, g, t + 1));
      got.forEach((w, k) =>
        assertClose(w, want[k]!, { rtol: 1e-4, atol: 1e-5, what: `p${k}` })
      );
    },
  );
}

testOnBackends(
  "lookahead() keeps the slow weights of parameters without a gradient, and counts the period on the steps it is given",
  async () => {
    const a = tf.variable(tf.zeros([2]), true, "lookahead_test/a");
    const b = tf.variable(tf.ones([2]), true, "lookahead_test/b");
    const params = { [a.name]: a, [b.name]: b };
    const tx = lookahead(sgd(1), { syncPeriod: 2, alpha: 0.5 });
    let state = initState(tx, params);
    const slowB = state.slow[b.name];
    for (let i = 0; i < 2; i++) {
      const g = { [a.name]: tf.fill([2], -1) };
      const [u, next] = runUpdate(tx, g, state, params);
      state = next;
      applyUpdates(params, u);
      tf.dispose([g, u]);
    }
    // a: 0 -> 1 -> 2 (fast), then 0 + 0.5 (2 - 0) = 1, slow and fast
    assert.deepEqual(Array.from(await a.data()), [1, 1]);
    assert.deepEqual(Array.from(await state.slow[a.name]!.data()), [1, 1]);
    assert.equal(state.slow[b.name], slowB);
    assert.deepEqual(Array.from(await b.data()), [1, 1]);
    assert.equal((await state.stepsSinceSync.data())[0], 0);
    disposeState(state);
    tf.dispose([a, b]);
  },
);

Deno.test("lookahead() refuses bad options, a missing params and a foreign state by name, allocating nothing", () => {
  const before = tf.memory().numTensors;
  assert.throws(
    () => lookahead(sgd(0.1), { syncPeriod: 0 }),
    /syncPeriod must be an integer >= 1, got 0/,
  );
  assert.throws(
    () => lookahead(sgd(0.1), { syncPeriod: 2.5 }),
    /syncPeriod must be an integer >= 1, got 2.5/,
  );
  assert.throws(
    () => lookahead(sgd(0.1), { alpha: -0.1 }),
    /alpha must be in \[0, 1\], got -0.1/,
  );
  assert.throws(
    () => lookahead(sgd(0.1), { k: 5 } as never),
    /unknown option "k"/,
  );
  assert.throws(() => lookahead(5 as never), TypeError);
  assert.equal(tf.memory().numTensors, before);
  const tx = lookahead(sgd(0.1));
  const params = { w: tf.zeros([2]) };
  const state = tx.init(params);
  const g = { w: tf.ones([2]) };
  const n = tf.memory().numTensors;
  assert.throws(() => tx.update(g, state), /needs params/);
  assert.throws(() => tx.update(g, {} as never, params), /stepsSinceSync/);
  assert.throws(
    () => tx.update({ v: tf.ones([2]) }, state, params),
    /unknown parameter name "v"/,
  );
  assert.equal(tf.memory().numTensors, n + 1); // the stray gradient of v
  disposeState(state);
  tf.dispose([params, g]);
});
