// scaleByNovograd(), written by hand (its second moment is one scalar per
// parameter): the state's shapes, tensor hyperparameters, partial updates,
// the 0/0 guard, and refusals that leave the tensor count as it was. Its
// numbers against a float64 reference are in the table row
// (testing/rows/novograd.ts).
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  disposeReplaced,
  disposeState,
  initState,
  runUpdate,
  scaleByNovograd,
} from "./mod.ts";
import { read, testOnBackends } from "@centra/testing/mod.ts";

testOnBackends(
  "scaleByNovograd() keeps one scalar second moment per parameter and carries over the state of parameters without an update",
  async () => {
    const before = tf.memory().numTensors;
    const tx = scaleByNovograd({ eps: 0 });
    const params = { a: tf.zeros([2, 3]), b: tf.zeros([4]) };
    let state = initState(tx, params);
    assert.deepEqual(state.nu.a!.shape, []);
    assert.deepEqual(state.mu.a!.shape, [2, 3]);
    const g1 = { a: tf.fill([2, 3], 2), b: tf.tensor1d([3, 0, 0, 4]) };
    let [u, next] = runUpdate(tx, g1, state, params);
    disposeReplaced(state, next);
    state = next;
    // ‖g_b‖² = 25: v = 25 and the first update is g / 5
    assert.equal((await read(state.nu.b!))[0], 25);
    assert.deepEqual(
      Array.from(await read(u.b!)),
      [0.6, 0, 0, 0.8].map(Math.fround),
    );
    tf.dispose(u);
    // only b: a's moments are the same tensors, b's advance
    const oldA = [state.mu.a, state.nu.a];
    const g2 = { b: tf.tensor1d([0, 0, 0, 1]) };
    [u, next] = runUpdate(tx, g2, state, params);
    assert.equal(next.mu.a, oldA[0]);
    assert.equal(next.nu.a, oldA[1]);
    // v = 0.25 · 25 + 0.75 · 1, m = 0.9 m + g / sqrt(v)
    const v = 0.25 * 25 + 0.75;
    assert.ok(Math.abs((await read(next.nu.b!))[0]! - v) < 1e-5);
    const want = [0.9 * 0.6, 0, 0, 0.9 * 0.8 + 1 / Math.sqrt(v)];
    (await read(u.b!)).forEach((x, i) =>
      assert.ok(Math.abs(x - want[i]!) < 1e-6)
    );
    disposeReplaced(state, next);
    disposeState(next);
    tf.dispose([u, g1, g2, params]);
    assert.equal(tf.memory().numTensors, before);
  },
);

testOnBackends(
  "scaleByNovograd() takes scalar tensors as hyperparameters, and gives 0, not 0/0, for a zero gradient with eps 0",
  async () => {
    const h = { b1: tf.scalar(0.5), b2: tf.scalar(0.6), eps: tf.scalar(0) };
    const withTensors = scaleByNovograd(h);
    const withNumbers = scaleByNovograd({ b1: 0.5, b2: 0.6, eps: 0 });
    const params = { w: tf.zeros([3]) };
    const gs = [[0, 0, 0], [1, -2, 2], [0.5, 0.5, -1]].map((x) =>
      tf.tensor1d(x)
    );
    let sa = initState(withTensors, params),
      sb = initState(withNumbers, params);
    for (const g of gs) {
      const [ua, na] = runUpdate(withTensors, { w: g }, sa, params);
      const [ub, nb] = runUpdate(withNumbers, { w: g }, sb, params);
      const a = await read(ua.w!), b = await read(ub.w!);
      assert.ok(a.every(Number.isFinite), `finite: ${a}`);
      assert.deepEqual(Array.from(a), Array.from(b));
      disposeReplaced(sa, na);
      disposeReplaced(sb, nb);
      sa = na;
      sb = nb;
      tf.dispose([ua, ub]);
    }
    disposeState([sa, sb]);
    tf.dispose([gs, params, Object.values(h)]);
  },
);

testOnBackends(
  "scaleByNovograd() refuses a state that is not its own, and missing params with weightDecay, by name, allocating nothing",
  () => {
    const tx = scaleByNovograd({ weightDecay: 0.1 });
    const params = { w: tf.zeros([2]) };
    const g = { w: tf.ones([2]) };
    const state = initState(tx, params);
    const stray = { v: tf.ones([2]) };
    const before = tf.memory().numTensors;
    assert.throws(
      () => tx.update(g, state),
      (e) => e instanceof TypeError && /needs params/.test(e.message),
    );
    const wrong = { ...state, nu: { w: state.mu.w! } };
    assert.throws(
      () => tx.update(g, wrong, params),
      (e) =>
        e instanceof TypeError &&
        /second moment of "w" should be a scalar tensor/.test(e.message),
    );
    assert.throws(
      () => tx.update(stray, state, params),
      (e) => e instanceof TypeError && /"v"/.test(e.message),
    );
    assert.throws(
      () => scaleByNovograd({ b2: 1.5 }),
      (e) =>
        e instanceof RangeError &&
        /b2 must be in \[0, 1\], got 1.5/.test(e.message),
    );
    assert.equal(tf.memory().numTensors, before);
    disposeState(state);
    tf.dispose([params, g, stray]);
  },
);
