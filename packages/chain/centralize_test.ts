import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  applyUpdates,
  centralize,
  convGcAxes,
  defaultGcAxes,
  type GradientTransformation,
  initState,
  runUpdate,
  sgd,
} from "./mod.ts";
import {
  assertClose,
  randn,
  read,
  testOnBackends,
} from "@centra/testing/mod.ts";

function tensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(
    Float32Array.from(randn(shape.reduce((a, b) => a * b, 1), seed)),
    shape,
  );
}

function gc(g: tf.Tensor, name = "w"): tf.Tensor {
  const [u] = centralize().update({ [name]: g }, {});
  return u[name]!;
}

/** Per-unit means over every axis but the last, in float64 on the host. */
async function unitMeans(t: tf.Tensor): Promise<Float64Array> {
  const v = await read(t);
  const out = t.shape[t.shape.length - 1]!;
  const sums = new Float64Array(out);
  for (let i = 0; i < v.length; i++) sums[i % out]! += v[i]!;
  return sums.map((s) => s / (v.length / out));
}

testOnBackends(
  "centralize() gives every output unit a zero-mean gradient (Dense and Conv2D layouts)",
  async () => {
    for (const shape of [[6, 5], [3, 3, 4, 8], [5, 2, 7]]) {
      const g = tensor(shape, 11);
      const means = await unitMeans(gc(g));
      assertClose(means, new Float64Array(means.length), {
        atol: 1e-6,
        what: `means of [${shape}]`,
      });
      // and the operation is exactly g - mean(g) per unit, checked on the host
      const raw = await read(g);
      const rawMeans = await unitMeans(g);
      const out = shape[shape.length - 1]!;
      const want = raw.map((x, i) => x - rawMeans[i % out]!);
      assertClose(await read(gc(g)), want, {
        atol: 1e-6,
        what: `P g for [${shape}]`,
      });
    }
  },
);

testOnBackends(
  "centralize() is idempotent and never increases the norm (P² = P, ‖Pg‖ ≤ ‖g‖)",
  async () => {
    for (let seed = 0; seed < 5; seed++) {
      const g = tensor([3, 3, 2, 6], seed).add(seed); // a shifted gradient has a large mean
      const once = gc(g);
      const twice = gc(once);
      assertClose(await read(twice), await read(once), {
        atol: 1e-5,
        what: "P(Pg)",
      });
      const n0 = (await read(tf.norm(g)))[0]!;
      const n1 = (await read(tf.norm(once)))[0]!;
      assert.ok(n1 <= n0 * (1 + 1e-6), `‖Pg‖ = ${n1} > ‖g‖ = ${n0}`);
      // Proposition 4.2's identity: ‖Pg‖² = ‖g‖² - M‖mean‖² per unit
      const means = await unitMeans(g);
      const m = g.size / g.shape[3]!;
      const drop = means.reduce((s, x) => s + m * x * x, 0);
      assert.ok(
        Math.abs(n1 * n1 - (n0 * n0 - drop)) <= 1e-3 * n0 * n0,
        "norm identity",
      );
    }
  },
);

testOnBackends(
  "centralize() leaves rank-1 tensors and size-1 reductions unchanged",
  () => {
    const bias = tensor([7], 3);
    const single = tensor([1, 4], 4); // Dense with one input: GC would zero it
    const [u] = centralize().update({ b: bias, s: single }, {});
    assert.equal(u.b, bias);
    assert.equal(u.s, single);
    assert.equal(defaultGcAxes("x", [4]), null);
    assert.equal(convGcAxes("d/kernel", [4, 4]), null);
    assert.deepEqual(convGcAxes("c/kernel", [3, 4, 4]), [0, 1]);
  },
);

testOnBackends(
  "centralize({ axes }) uses the resolver's axes (Conv2DTranspose keeps axis -2)",
  async () => {
    // Conv2DTranspose kernel [kh, kw, out, in]: one unit per index of axis 2
    const g = tensor([2, 2, 3, 4], 9);
    const [u] = centralize({ axes: () => [0, 1, -1] }).update({ t: g }, {});
    const perUnit = tf.mean(u.t!, [0, 1, 3]);
    assertClose(await read(perUnit), [0, 0, 0], {
      atol: 1e-6,
      what: "per-unit means over axis 2",
    });
    assert.throws(
      () => centralize({ axes: () => [4] }).update({ t: g }, {}),
      RangeError,
    );
    assert.throws(
      () => centralize({ axes: () => [0.5] }).update({ t: g }, {}),
      /axis 0.5 for "t"/,
    );
  },
);

async function theorem41(
  tx: GradientTransformation<unknown>,
  id: string,
  withGc: boolean,
): Promise<number> {
  // A small model whose gradients depend on the weights: Dense + Conv2D kernels
  const vars: Record<string, tf.Variable> = {
    [`${id}/dense/kernel`]: tf.variable(
      tensor([5, 3], 1),
      true,
      `${id}/dense/kernel`,
    ),
    [`${id}/conv/kernel`]: tf.variable(
      tensor([3, 3, 2, 4], 2),
      true,
      `${id}/conv/kernel`,
    ),
    [`${id}/conv/bias`]: tf.variable(tensor([4], 3), true, `${id}/conv/bias`),
  };
  const [dense, conv, bias] = Object.values(vars) as [
    tf.Variable,
    tf.Variable,
    tf.Variable,
  ];
  const x = tensor([8, 5], 4),
    y = tensor([8, 3], 5),
    img = tensor([2, 6, 6, 2], 6);
  const before = [await unitMeans(dense), await unitMeans(conv)];
  let state = initState(tx, vars);
  for (let step = 0; step < 20; step++) {
    const { grads, value } = tf.variableGrads(() =>
      tf.add(
        tf.mean(tf.square(tf.sub(tf.tanh(tf.matMul(x, dense)), y))),
        tf.mean(
          tf.square(
            tf.add(
              tf.conv2d(img as tf.Tensor4D, conv as tf.Tensor4D, 1, "same"),
              bias,
            ),
          ),
        ),
      ) as tf.Scalar, Object.values(vars));
    const [u, next] = runUpdate(tx, grads, state, vars);
    state = next;
    applyUpdates(vars, u);
    tf.dispose([u, grads, value]);
  }
  const after = [await unitMeans(dense), await unitMeans(conv)];
  let drift = 0;
  before.forEach((b, k) =>
    b.forEach((m, i) => drift = Math.max(drift, Math.abs(m - after[k]![i]!)))
  );
  tf.dispose([Object.values(vars), x, y, img, state as tf.TensorContainer]);
  if (withGc) assert.ok(drift < 1e-5, `${id}: unit means drifted by ${drift}`);
  return drift;
}

let n = 0;
testOnBackends(
  "sgd() with GC keeps every unit's weight mean at its initial value (Theorem 4.1)",
  async () => {
    await theorem41(sgd(0.1, { gc: true }), `thm_sgd${n++}`, true);
    const without = await theorem41(sgd(0.1), `thm_sgd${n++}`, false);
    assert.ok(
      without > 1e-3,
      `without GC the means should move (moved ${without})`,
    );
  },
);

testOnBackends(
  "sgd({ momentum, nesterov }) with GC and L2 decay keeps unit weight means (Theorem 4.1)",
  async () => {
    // with L2 decay the paper's GC acts on g + λw, so the means still stay put
    await theorem41(
      sgd(0.1, { momentum: 0.9, gc: true, weightDecay: 1e-2 }),
      `thm_sgdm${n++}`,
      true,
    );
    await theorem41(
      sgd(0.1, { momentum: 0.9, nesterov: true, gc: true }),
      `thm_nest${n++}`,
      true,
    );
    const without = await theorem41(
      sgd(0.1, { momentum: 0.9, weightDecay: 1e-2 }),
      `thm_sgdm${n++}`,
      false,
    );
    assert.ok(
      without > 1e-3,
      `without GC the means should move (moved ${without})`,
    );
  },
);
