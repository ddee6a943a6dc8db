// adadelta against tf.train.adadelta: tfjs 4.22 divides by the previous
// step's E[g²] (0 before the first step, so that sqrt(E[Δx²] + eps) /
// sqrt(E[g²] + eps) is 1), where Zeiler 2012 (Algorithm 1), optax, Keras and
// PyTorch divide by this step's. centra follows the paper by default; the
// first test pins the difference down so that a tfjs that follows the paper
// fails it. `tfjsCompat: true` takes tfjs's rule (its parity over 100 steps
// is the row's tfjs case, testing/rows/adadelta.ts); the tests below check
// its state against tfjs's and the consequence of that rule: both averages
// are fed the same numbers from the same zeros, so the ratio is 1 at every
// step and tf.train.adadelta(lr) steps exactly as tf.train.sgd(lr).
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adadelta,
  applyUpdates,
  disposeState,
  initState,
  runUpdate,
  scaleByAdadelta,
  sgd,
} from "./mod.ts";
import {
  assertClose,
  randn,
  read,
  testOnBackends,
} from "@centra/testing/mod.ts";

testOnBackends(
  "adadelta() takes Zeiler's first step -lr g sqrt(eps / ((1 - ρ) g² + eps)), where tf.train.adadelta (tfjs 4.22) takes -lr g",
  async () => {
    const v = tf.variable(tf.zeros([2]), true, "adadeltaFirstStep/w");
    const opt = tf.train.adadelta(0.5, 0.95, 1e-3);
    const g = tf.tensor1d([2, -0.25]);
    opt.applyGradients([{ name: v.name, tensor: g }]);
    const theirs = Array.from(await read(v));
    const params = { w: tf.zeros([2]) };
    const tx = adadelta(0.5, { rho: 0.95, eps: 1e-3 });
    const state = initState(tx, params);
    const [u, next] = runUpdate(tx, { w: g }, state, params);
    const ours = Array.from(await read(u.w!));
    [2, -0.25].forEach((gi, i) => {
      const paper = -0.5 * gi * Math.sqrt(1e-3 / (0.05 * gi * gi + 1e-3));
      assert.ok(Math.abs(ours[i]! - paper) < 1e-6, `ours ${ours[i]}`);
      assert.equal(theirs[i], -0.5 * gi, `tf.train.adadelta ${theirs[i]}`);
    });
    opt.dispose();
    tf.dispose([v, g, params, u, next as tf.TensorContainer]);
  },
);

/** Seeded gradients of very different scales, step by step. */
function gradients(steps: number, size: number): Float32Array[] {
  return Array.from(
    { length: steps },
    (_, t) => Float32Array.from(randn(size, 700 + t), (x) => x * (1 + t % 5)),
  );
}

testOnBackends(
  "scaleByAdadelta({ tfjsCompat: true }) keeps E[g²] and E[Δx²] equal to tf.train.adadelta's accum_grad and accum_var (tfjs's defaults rho 0.95, eps 1e-7)",
  async () => {
    const size = 6, grads = gradients(7, size);
    const v = tf.variable(tf.zeros([size]), true, "adadeltaTfjsState/w");
    const opt = tf.train.adadelta(0.001);
    const tx = scaleByAdadelta({ tfjsCompat: true });
    let state = tx.init({ w: v });
    for (const g of grads) {
      const gt = tf.tensor1d(g);
      opt.applyGradients([{ name: v.name, tensor: gt }]);
      const [u, next] = tx.update({ w: gt }, state);
      state = next;
      tf.dispose([gt, u]);
    }
    const weights = await opt.getWeights();
    const theirs = Object.fromEntries(weights.map((w) => [w.name, w.tensor]));
    const eG = Array.from(await read(state.eG.w!));
    const eX = Array.from(await read(state.eX.w!));
    // (1 - rho) is rounded to float32 here, in float64 by tfjs: a few ulps
    assertClose(eG, await read(theirs[`${v.name}/accum_grad`]!), {
      rtol: 1e-6,
      what: "E[g²] against accum_grad",
    });
    assertClose(eX, await read(theirs[`${v.name}/accum_var`]!), {
      rtol: 1e-6,
      what: "E[Δx²] against accum_var",
    });
    // and rho is 0.95: E[g²] = Σ 0.05 · 0.95^(T-t) g_t², in float64
    const want = Array.from(
      { length: size },
      (_, i) => grads.reduce((a, g) => 0.95 * a + 0.05 * g[i]! * g[i]!, 0),
    );
    eG.forEach((x, i) => assert.ok(Math.abs(x - want[i]!) <= 1e-5 * want[i]!));
    opt.dispose();
    tf.dispose([v, weights.map((w) => w.tensor)]);
    disposeState(state);
  },
);

testOnBackends(
  "adadelta(lr, { tfjsCompat: true }) and tf.train.adadelta(lr) step exactly as sgd(lr): E[Δx²] stays equal to E[g²], so their ratio is 1",
  async () => {
    const size = 8, lr = 0.05, grads = gradients(40, size);
    const start = Float32Array.from(randn(size, 77));
    const ours = { w: tf.variable(tf.tensor1d(start), true, "tfjsSgd/ours") };
    const plain = { w: tf.variable(tf.tensor1d(start), true, "tfjsSgd/sgd") };
    const theirs = tf.variable(tf.tensor1d(start), true, "tfjsSgd/theirs");
    const tfjsSgd = tf.variable(tf.tensor1d(start), true, "tfjsSgd/tfjsSgd");
    const tx = adadelta(lr, { tfjsCompat: true, rho: 0.8, eps: 1e-3 });
    const ref = sgd(lr);
    const opt = tf.train.adadelta(lr, 0.8, 1e-3), optSgd = tf.train.sgd(lr);
    let s = initState(tx, ours), r = initState(ref, plain);
    for (const g of grads) {
      const gt = tf.tensor1d(g);
      const [u, next] = runUpdate(tx, { w: gt }, s, ours);
      const [v, nextR] = runUpdate(ref, { w: gt }, r, plain);
      s = next;
      r = nextR;
      applyUpdates(ours, u);
      applyUpdates(plain, v);
      opt.applyGradients([{ name: theirs.name, tensor: gt }]);
      optSgd.applyGradients([{ name: tfjsSgd.name, tensor: gt }]);
      tf.dispose([gt, u, v]);
    }
    const sgdW = Array.from(await read(plain.w));
    assert.notDeepEqual(sgdW, Array.from(start), "the weights moved");
    assert.deepEqual(Array.from(await read(ours.w)), sgdW, "centra");
    assert.deepEqual(
      Array.from(await read(theirs)),
      Array.from(await read(tfjsSgd)),
      "tf.train.adadelta against tf.train.sgd",
    );
    opt.dispose();
    optSgd.dispose();
    disposeState(s);
    disposeState(r);
    tf.dispose([ours.w, plain.w, theirs, tfjsSgd]);
  },
);
