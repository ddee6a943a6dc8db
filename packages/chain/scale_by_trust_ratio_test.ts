// scaleByTrustRatio() and normalizeByUpdateNorm() against float64 references
// written here from optax's documented rules (scale_by_trust_ratio,
// normalize_by_update_norm), zero norms included, on every backend.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  initState,
  normalizeByUpdateNorm,
  runUpdate,
  scaleByTrustRatio,
} from "./mod.ts";
import {
  assertClose,
  randn,
  read,
  testOnBackends,
} from "@centra/testing/mod.ts";

const norm64 = (x: ArrayLike<number>) =>
  Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));
const f32 = (x: Float64Array) => x.map((v) => Math.fround(v));

/** optax: r = c max(‖w‖, m) / (max(‖u‖, m) + eps), 1 where a norm is 0. */
function trustRatio64(
  u: Float64Array,
  w: Float64Array,
  { minNorm = 0, coefficient = 1, eps = 0 } = {},
): Float64Array {
  const wn = Math.max(norm64(w), minNorm), un = Math.max(norm64(u), minNorm);
  const r = wn === 0 || un === 0 ? 1 : coefficient * wn / (un + eps);
  return u.map((x) => x * r);
}

const SHAPES = [[3, 4], [5], [2, 2, 3]] as const;

function inputs(seed: number) {
  const us = SHAPES.map((s, k) =>
    f32(randn(s.reduce((a, b) => a * b, 1), seed + k).map((x) => x * (k + 1)))
  );
  const ws = SHAPES.map((s, k) =>
    f32(randn(s.reduce((a, b) => a * b, 1), seed + 50 + k))
  );
  return { us, ws };
}

function tensors(xs: Float64Array[]): Record<string, tf.Tensor> {
  return Object.fromEntries(
    xs.map((
      x,
      k,
    ) => [`p${k}`, tf.tensor(Float32Array.from(x), [...SHAPES[k]!])]),
  );
}

testOnBackends(
  "scaleByTrustRatio() rescales each tensor by ‖w‖ / ‖u‖ (with minNorm, trustCoefficient, eps and a mask) like a float64 reference",
  async () => {
    const before = tf.memory().numTensors;
    const { us, ws } = inputs(300);
    const cases = [
      { opts: {}, ref: {} },
      {
        opts: { minNorm: 5, trustCoefficient: 0.01, eps: 0.3 },
        ref: { minNorm: 5, coefficient: 0.01, eps: 0.3 },
      },
    ];
    for (const c of cases) {
      const tx = scaleByTrustRatio(c.opts);
      const u = tensors(us), w = tensors(ws);
      const [out] = runUpdate(tx, u, initState(tx, w), w);
      for (let k = 0; k < SHAPES.length; k++) {
        assertClose(
          await read(out[`p${k}`]!),
          trustRatio64(us[k]!, ws[k]!, c.ref),
          { rtol: 1e-5, atol: 1e-6, what: `${JSON.stringify(c.opts)} p${k}` },
        );
      }
      tf.dispose([u, w, out]);
    }
    // a mask: p1 passes through unchanged
    const tx = scaleByTrustRatio({ mask: (name) => name !== "p1" });
    const u = tensors(us), w = tensors(ws);
    const [out] = runUpdate(tx, u, initState(tx, w), w);
    assertClose(await read(out.p1!), us[1]!, { rtol: 0, atol: 0, what: "p1" });
    assertClose(await read(out.p0!), trustRatio64(us[0]!, ws[0]!), {
      what: "p0",
    });
    tf.dispose([u, w, out]);
    assert.equal(tf.memory().numTensors, before);
  },
);

testOnBackends(
  "scaleByTrustRatio() takes the ratio as 1 where ‖w‖ or ‖u‖ is 0 (optax), never 0/0",
  async () => {
    const tx = scaleByTrustRatio();
    const w = { a: tf.zeros([3]), b: tf.tensor1d([1, 2, 2]) };
    const u = { a: tf.tensor1d([1, -2, 3]), b: tf.zeros([3]) };
    const [out] = runUpdate(tx, u, initState(tx, w), w);
    assert.deepEqual(Array.from(await read(out.a!)), [1, -2, 3]);
    assert.deepEqual(Array.from(await read(out.b!)), [0, 0, 0]);
    // minNorm > 0 keeps both norms positive: a zero w gets ratio minNorm / ‖u‖
    const tx2 = scaleByTrustRatio({ minNorm: 1 });
    const [out2] = runUpdate(tx2, u, initState(tx2, w), w);
    assertClose(
      await read(out2.a!),
      trustRatio64(Float64Array.from([1, -2, 3]), new Float64Array(3), {
        minNorm: 1,
      }),
      { what: "minNorm" },
    );
    tf.dispose([w, u, out, out2]);
  },
);

testOnBackends(
  "scaleByTrustRatio() refuses bad options and updates without params, naming them",
  () => {
    assert.throws(
      () => scaleByTrustRatio({ eps: -1 }),
      (e) =>
        e instanceof RangeError &&
        /eps must be in \[0, Infinity\], got -1/.test(e.message),
    );
    assert.throws(
      () => scaleByTrustRatio({ trustCoeficient: 1 } as never),
      (e) => e instanceof TypeError && /trustCoeficient/.test(e.message),
    );
    const tx = scaleByTrustRatio();
    const before = tf.memory().numTensors;
    const g = { w: tf.ones([2]) };
    assert.throws(
      () => runUpdate(tx, g, initState(tx, g)),
      (e) => e instanceof TypeError && /params/.test(e.message),
    );
    tf.dispose(g);
    assert.equal(tf.memory().numTensors, before);
  },
);

testOnBackends(
  "normalizeByUpdateNorm() divides every update by the global norm plus eps, times scaleFactor, like a float64 reference",
  async () => {
    const before = tf.memory().numTensors;
    const { us } = inputs(310);
    const global = Math.sqrt(us.reduce((s, u) => s + norm64(u) ** 2, 0));
    for (const [scaleFactor, eps] of [[1, 1e-6], [-0.5, 2]] as const) {
      const tx = normalizeByUpdateNorm({ scaleFactor, eps });
      const u = tensors(us);
      const [out] = runUpdate(tx, u, initState(tx, u));
      for (let k = 0; k < SHAPES.length; k++) {
        assertClose(
          await read(out[`p${k}`]!),
          us[k]!.map((x) => scaleFactor * x / (global + eps)),
          { what: `scaleFactor ${scaleFactor} p${k}` },
        );
      }
      tf.dispose([u, out]);
    }
    // eps 0 and updates that are all zero: zeros, not NaN
    const tx = normalizeByUpdateNorm({ eps: 0 });
    const z = { a: tf.zeros([2]), b: tf.zeros([3]) };
    const [out] = runUpdate(tx, z, initState(tx, z));
    assert.deepEqual(Array.from(await read(out.b!)), [0, 0, 0]);
    tf.dispose([z, out]);
    assert.throws(
      () => normalizeByUpdateNorm({ eps: -1 }),
      (e) => e instanceof RangeError && /eps/.test(e.message),
    );
    assert.equal(tf.memory().numTensors, before);
  },
);
