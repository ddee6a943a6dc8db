// addNoise() and its generator noiseSample(): the draws are standard normal
// and independent across steps, streams and seeds (statistics with bounds of
// about five standard errors), the variance anneals as eta / t^gamma, and a
// state restored from fresh tensors (as a load gives) draws what the
// uninterrupted run drew. The optimizer built on it (noisySgd) is checked
// against a float64 reference drawing the same noise in its table row.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  addNoise,
  type AddNoiseState,
  disposeReplaced,
  disposeState,
  initState,
  noiseSample,
  noisySgd,
  runUpdate,
} from "./mod.ts";
import { read, testOnBackends } from "@centra/testing/mod.ts";

const N = 200_000;
const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / x.length;
const moment = (x: Float64Array, k: number) => {
  const m = mean(x);
  return x.reduce((s, v) => s + (v - m) ** k, 0) / x.length;
};
const corr = (a: Float64Array, b: Float64Array) => {
  const ma = mean(a), mb = mean(b);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
};
const share = (x: Float64Array, k: number) =>
  x.filter((v) => Math.abs(v) < k).length / x.length;

Deno.test("noiseSample() draws standard normals: mean, variance, kurtosis and the 1σ/2σ shares within five standard errors", () => {
  const z = noiseSample(N, { seed: 1, step: 1, stream: 0 });
  const se = 1 / Math.sqrt(N);
  assert.ok(Math.abs(mean(z)) < 5 * se, `mean ${mean(z)}`);
  // var(s²) = 2 for a normal; var(kurtosis) ≈ 24 / N
  assert.ok(Math.abs(moment(z, 2) - 1) < 5 * Math.SQRT2 * se, "variance");
  assert.ok(
    Math.abs(moment(z, 4) / moment(z, 2) ** 2 - 3) < 5 * Math.sqrt(24) * se,
    "kurtosis",
  );
  // P(|z| < 1) = 0.682689, P(|z| < 2) = 0.954500 (erf(1/√2), erf(√2))
  const p1 = 0.682689492, p2 = 0.954499736;
  assert.ok(Math.abs(share(z, 1) - p1) < 5 * Math.sqrt(p1 * (1 - p1)) * se);
  assert.ok(Math.abs(share(z, 2) - p2) < 5 * Math.sqrt(p2 * (1 - p2)) * se);
  assert.ok(z.every(Number.isFinite));
});

Deno.test("noiseSample() is a pure function of (seed, step, stream), uncorrelated across each of them and between neighbours", () => {
  const at = (seed: number, step: number, stream: number) =>
    noiseSample(N, { seed, step, stream });
  const base = at(5, 2, 1);
  assert.deepEqual(base, at(5, 2, 1));
  // a shorter draw is a prefix of a longer one
  assert.deepEqual(
    noiseSample(7, { seed: 5, step: 2, stream: 1 }),
    base.slice(0, 7),
  );
  const limit = 5 / Math.sqrt(N);
  for (
    const [what, other] of [
      ["next step", at(5, 3, 1)],
      ["next stream", at(5, 2, 2)],
      ["next seed", at(6, 2, 1)],
      ["step and stream swapped", at(5, 1, 2)],
    ] as const
  ) {
    const r = corr(base, other);
    assert.ok(Math.abs(r) < limit, `${what}: correlation ${r}`);
  }
  // neighbouring elements (the two halves of a Box-Muller pair, and pairs)
  const r1 = corr(base.subarray(0, N - 1), base.subarray(1));
  assert.ok(Math.abs(r1) < limit, `lag 1: ${r1}`);
  assert.throws(
    () => noiseSample(3, { seed: -1, step: 1, stream: 0 }),
    (e) => e instanceof RangeError && /seed .* got -1/.test(e.message),
  );
});

testOnBackends(
  "addNoise() adds noise of variance eta / t^gamma at step t, keyed by the parameter's place at init",
  async () => {
    const before = tf.memory().numTensors;
    const eta = 0.3, gamma = 0.55, n = 40_000;
    const tx = addNoise(eta, gamma, 99);
    const params = { a: tf.zeros([n]), b: tf.zeros([2, 3]) };
    let state: AddNoiseState = initState(tx, params);
    for (let t = 1; t <= 3; t++) {
      const [u, next] = runUpdate(tx, params, state, params);
      disposeReplaced(state, next);
      state = next;
      const got = await read(u.a!);
      const want = eta / Math.pow(t, gamma);
      // the variance of a sample variance is 2 σ⁴ / n
      const tol = 5 * Math.sqrt(2 / n) * want;
      assert.ok(Math.abs(moment(got, 2) - want) < tol, `step ${t}`);
      // exactly σ_t times the generator's draws of stream 0, and stream 1 for b
      const std = Math.sqrt(want);
      const za = noiseSample(n, { seed: 99, step: t, stream: 0 });
      got.forEach((x, i) =>
        assert.ok(Math.abs(x - std * za[i]!) <= 1e-6 * (1 + Math.abs(x)))
      );
      const zb = noiseSample(6, { seed: 99, step: t, stream: 1 });
      (await read(u.b!)).forEach((x, i) =>
        assert.ok(Math.abs(x - std * zb[i]!) <= 1e-6 * (1 + Math.abs(x)))
      );
      tf.dispose(u);
    }
    disposeState(state);
    tf.dispose(params);
    assert.equal(tf.memory().numTensors, before);
  },
);

testOnBackends(
  "noisySgd() resumed from a state rebuilt from fresh tensors (as a load gives) draws the same noise, bit for bit",
  async () => {
    const tx = noisySgd(0.1, { eta: 0.5, seed: 3, gc: true });
    const params = { "l/kernel": tf.ones([3, 2]), "l/bias": tf.zeros([2]) };
    const g = { "l/kernel": tf.fill([3, 2], 0.5), "l/bias": tf.ones([2]) };
    const before = tf.memory().numTensors;
    let state = initState(tx, params);
    for (let i = 0; i < 4; i++) {
      const [u, next] = runUpdate(tx, g, state, params);
      tf.dispose(u);
      disposeReplaced(state, next);
      state = next;
    }
    // fresh copies: tensors this transform never made, read back once
    const copy = (x: unknown): unknown =>
      x instanceof tf.Tensor
        ? tf.tensor(x.dataSync().slice(), x.shape, x.dtype)
        : Array.isArray(x)
        ? x.map(copy)
        : x !== null && typeof x === "object"
        ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, copy(v)]))
        : x;
    const restored = copy(state) as typeof state;
    const [a, s1] = runUpdate(tx, g, state, params);
    const [b, s2] = runUpdate(tx, g, restored, params);
    for (const k of Object.keys(g)) {
      assert.deepEqual(
        Array.from(await read(b[k]!)),
        Array.from(await read(a[k]!)),
        k,
      );
    }
    // a state without its streams is refused by name, and nothing leaks
    const bad = {} as typeof state;
    assert.throws(() => runUpdate(tx, g, bad, params), TypeError);
    tf.dispose([a, b]);
    disposeState([state, restored, s1, s2]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([params, g]);
  },
);

Deno.test("addNoise() refuses a negative eta or gamma and a seed that is not a 32-bit whole number, by name", () => {
  assert.throws(
    () => addNoise(-1, 0.5),
    (e) =>
      e instanceof RangeError &&
      /eta must be in \[0, Infinity\], got -1/.test(e.message),
  );
  assert.throws(
    () => addNoise(0.1, -0.5),
    (e) => e instanceof RangeError && /gamma .* got -0.5/.test(e.message),
  );
  assert.throws(
    () => addNoise(0.1, 0.5, 2 ** 32),
    (e) => e instanceof RangeError && /seed .* got 4294967296/.test(e.message),
  );
  assert.throws(
    () => addNoise(0.1, 0.5, "1" as never),
    (e) => e instanceof TypeError && /seed/.test(e.message),
  );
});
