// Values at the edges of each formula's domain (issue 12, items 1, 5, 6, 7):
// tensors with no elements, bounds of 0 reached at run time, hyperparameters
// that float32 cannot hold, and powers of the step count, on every backend.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adam,
  adaptiveGradClip,
  centralize,
  chain,
  clipByGlobalNorm,
  clipByNorm,
  constantSchedule,
  disposeReplaced,
  disposeState,
  ema,
  exponentialDecaySchedule,
  type GradientTransformation,
  hyperparamScalar,
  initState,
  injectHyperparams,
  linearSchedule,
  runUpdate,
  scale,
  scaleByAdam,
  scaleByLearningRate,
  scaleByRms,
  setHyperparam,
  sgd,
  stepDecaySchedule,
  trace,
} from "./mod.ts";
import { evaluate, foldNumber, hyper, input, mul, powInt } from "./expr.ts";
import { assertClose, read, rng, testOnBackends } from "@centra/testing/mod.ts";
import {
  makeOptimizer,
  OPTIMIZER_ROWS,
} from "@centra/testing/optimizer_table.ts";

const OPTIMIZERS: [string, () => GradientTransformation<unknown>][] = [
  // every optimizer's settings of the table (testing/optimizer_table.ts)
  ...OPTIMIZER_ROWS.flatMap(([name, row]) =>
    row.boundaries.map((v): [string, () => GradientTransformation<unknown>] => [
      v.label,
      () => makeOptimizer(name, v.lr, v.options),
    ])
  ),
  [
    "clip chain",
    () =>
      chain(
        clipByGlobalNorm(1),
        clipByNorm(1),
        adaptiveGradClip(0.1),
        sgd(0.1),
      ),
  ],
];

// --- item 1: tensors with no elements -------------------------------------

testOnBackends(
  "centralize() leaves a tensor with a dimension of 0 as it is",
  async () => {
    const before = tf.memory().numTensors;
    const e = tf.zeros([4, 0]);
    const [u] = runUpdate(centralize(), { e }, {});
    assert.deepEqual(u.e!.shape, [4, 0]);
    assert.equal((await read(u.e!)).length, 0);
    tf.dispose([e, u.e!]);
    assert.equal(tf.memory().numTensors, before);
  },
);

for (const [name, make] of OPTIMIZERS) {
  testOnBackends(
    `${name}: a tensor with no elements is a no-op and the others train as without it`,
    async () => {
      const w = tf.tensor2d([[1, -2], [3, 0.5], [-1, 2]]);
      const g = tf.tensor2d([[0.3, -0.1], [0.2, 0.4], [-0.5, 0.1]]);
      const empty = {
        e: tf.zeros([4, 0]),
        z: tf.zeros([0]),
        c: tf.zeros([3, 3, 0, 2]),
      };
      const withEmpty = make(), alone = make();
      let s1 = initState(withEmpty, { w, ...empty });
      let s2 = initState(alone, { w });
      const before = tf.memory().numTensors;
      for (let step = 0; step < 3; step++) {
        const [u1, n1] = runUpdate(withEmpty, { w: g, ...empty }, s1, {
          w,
          ...empty,
        });
        const [u2, n2] = runUpdate(alone, { w: g }, s2, { w });
        for (const k of Object.keys(empty) as (keyof typeof empty)[]) {
          assert.deepEqual(u1[k]!.shape, empty[k].shape);
        }
        const a = await read(u1.w!), b = await read(u2.w!);
        assert.ok(a.every(Number.isFinite), `${name}: ${a}`);
        assertClose(a, b, { rtol: 0, atol: 0, what: `${name} step ${step}` });
        tf.dispose([...Object.values(u1), ...Object.values(u2)]);
        disposeReplaced(s1, n1);
        disposeReplaced(s2, n2);
        s1 = n1;
        s2 = n2;
      }
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
      disposeState(s1);
      disposeState(s2);
      tf.dispose([w, g, ...Object.values(empty)]);
    },
  );
}

// --- item 5: boundary values reached at run time ---------------------------

testOnBackends(
  "clipByGlobalNorm(tf.scalar(0)) and clipByNorm(tf.scalar(0)) keep zero gradients zero and clip others to 0",
  async () => {
    for (
      const tx of [clipByGlobalNorm(tf.scalar(0)), clipByNorm(tf.scalar(0))]
    ) {
      const [u] = runUpdate(
        tx,
        { a: tf.zeros([3]), b: tf.tensor1d([3, -4]) },
        {},
      );
      assert.deepEqual(Array.from(await read(u.a!)), [0, 0, 0]);
      assert.deepEqual(Array.from(await read(u.b!)).map(Math.abs), [0, 0]);
    }
  },
);

testOnBackends(
  "clipByGlobalNorm and clipByNorm with a tensor bound at or above the norm return the gradient itself",
  async () => {
    // norm 5 exactly in float32 (sqrt(9 + 16)): a bound of 5 is at the
    // norm, so the gradient is unchanged, bit for bit; so above it
    const g = tf.tensor1d([0.3, -0.4, 3, 4]);
    const five = tf.tensor1d([3, 4]);
    for (const [x, m] of [[five, 5], [five, 7], [g, 11], [g, 1e30]] as const) {
      for (
        const tx of [clipByGlobalNorm(tf.scalar(m)), clipByNorm(tf.scalar(m))]
      ) {
        const [u] = runUpdate(tx, { x }, {});
        assert.deepEqual(
          Array.from(await read(u.x!)),
          Array.from(await read(x)),
        );
      }
    }
    // just below: rescaled to norm 4.5
    const [c] = runUpdate(clipByGlobalNorm(tf.scalar(4.5)), { x: five }, {});
    assertClose(await read(c.x!), [2.7, 3.6], { rtol: 1e-6, atol: 0 });
    // a negative tensor bound (unchecked on the device) counts as 0
    const [u] = runUpdate(clipByNorm(tf.scalar(-1)), { g }, {});
    assert.deepEqual(Array.from(await read(u.g!)).map(Math.abs), [0, 0, 0, 0]);
  },
);

testOnBackends(
  "a max norm scheduled down to 0 turns zero gradients into zeros, not NaN",
  async () => {
    const tx = injectHyperparams(
      (hp) => chain(clipByGlobalNorm(hp.maxNorm), sgd(0.1)),
      {
        maxNorm: linearSchedule({
          initValue: 1,
          endValue: 0,
          transitionSteps: 2,
        }),
      },
    );
    const params = { w: tf.ones([2, 2]) };
    let state = initState(tx, params);
    for (let step = 0; step < 4; step++) {
      const [u, next] = runUpdate(tx, { w: tf.zeros([2, 2]) }, state, params);
      assert.deepEqual(Array.from(await read(u.w!)).map(Math.abs), [
        0,
        0,
        0,
        0,
      ]);
      state = next;
    }
    assert.equal((await read(state.hyperparams.maxNorm!))[0], 0);
  },
);

testOnBackends(
  "scaleByAdam with tensor b1 = b2 = 1 or eps = 0 gives no NaN",
  async () => {
    const g = tf.tensor1d([0, 2, -3]);
    // b1 = 1: the first moment never moves (0), the correction 1 - 1^t = 0
    // is skipped: update 0 where 0/0 was
    const one = scaleByAdam({ b1: tf.scalar(1), b2: tf.scalar(1), eps: 1e-8 });
    const [u1] = runUpdate(one, { w: g }, initState(one, { w: g }));
    assert.deepEqual(Array.from(await read(u1.w!)).map(Math.abs), [0, 0, 0]);
    // eps = 0 and a zero gradient: a zero moment over a zero denominator is 0
    const bare = scaleByAdam({ eps: 0 });
    const [u2] = runUpdate(bare, { w: g }, initState(bare, { w: g }));
    assertClose(await read(u2.w!), [0, 1, -1], { rtol: 1e-6, atol: 0 });
    const amp = scaleByAdam({ eps: tf.scalar(0), amsgrad: true });
    const [u3] = runUpdate(amp, { w: g }, initState(amp, { w: g }));
    assertClose(await read(u3.w!), [0, 1, -1], { rtol: 1e-6, atol: 0 });
  },
);

testOnBackends(
  "scaleByRms with eps 0, centred or not, and ema(1) give no NaN on zero gradients",
  async () => {
    const g = tf.tensor1d([0, 2]);
    for (const centered of [false, true]) {
      const tx = scaleByRms({ eps: 0, centered });
      let s = initState(tx, { w: g });
      for (let i = 0; i < 5; i++) {
        const [u, n] = runUpdate(tx, { w: g }, s);
        const v = await read(u.w!);
        assert.equal(v[0], 0);
        assert.ok(Number.isFinite(v[1]!), `centered ${centered}: ${v}`);
        s = n;
      }
    }
    const e = ema(1);
    const [u] = runUpdate(e, { w: g }, initState(e, { w: g }));
    assert.deepEqual(Array.from(await read(u.w!)), [0, 0]);
  },
);

Deno.test("setHyperparam checks the new value against the ranges of the transforms built from it", () => {
  const tx = injectHyperparams(
    (hp) => adam(hp.learningRate, { b1: hp.b1 }),
    { learningRate: 0.1, b1: 0.9 },
  );
  const state = initState(tx, { w: tf.zeros([2]) });
  const before = tf.memory().numTensors;
  const lr = state.hyperparams.learningRate!;
  for (
    const [name, value] of [
      ["learningRate", -1],
      ["learningRate", 1e39],
      ["learningRate", NaN],
      ["b1", 1],
      ["b1", 0.99999999], // 1 in float32
    ] as const
  ) {
    assert.throws(
      () => setHyperparam(state, { name, value }),
      (e: Error) =>
        e instanceof RangeError && e.message.includes(String(value)),
      `${name} = ${value}`,
    );
  }
  assert.equal(tf.memory().numTensors, before);
  assert.equal(lr.isDisposed, false);
  const next = setHyperparam(state, { name: "learningRate", value: 0 });
  assert.equal(next.hyperparams.learningRate!.dataSync()[0], 0);
  // the replacement carries the ranges on
  assert.throws(
    () => setHyperparam(next, { name: "learningRate", value: -0.5 }),
    RangeError,
  );
  assert.throws(
    () =>
      hyperparamScalar("demo", {
        name: "learningRate",
        value: -1,
        old: next.hyperparams.learningRate!,
      }),
    /learningRate/,
  );
  disposeState(next);
});

Deno.test("injectHyperparams refuses a number out of its transform's range, as the transform would", () => {
  const before = tf.memory().numTensors;
  assert.throws(
    () => injectHyperparams((hp) => sgd(hp.learningRate), { learningRate: -1 }),
    (e: Error) => e instanceof RangeError && /-1/.test(e.message),
  );
  assert.throws(
    () => injectHyperparams((hp) => adam(0.1, { b2: hp.b2 }), { b2: 1 }),
    RangeError,
  );
  assert.throws(
    () =>
      injectHyperparams((hp) => sgd(hp.learningRate), { learningRate: 1e39 }),
    RangeError,
  );
  assert.equal(tf.memory().numTensors, before);
});

// --- item 6: float32 overflow ----------------------------------------------

Deno.test("hyperparameters are checked as float32 values", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["sgd(1e39)", () => sgd(1e39), /1e\+39/],
    ["scale(-1e39)", () => scale(-1e39), /1e\+39/],
    [
      "scaleByLearningRate(3.5e38)",
      () => scaleByLearningRate(3.5e38),
      /3\.5e\+38/,
    ],
    [
      "adam b1 0.99999999",
      () => adam(0.1, { b1: 0.99999999 }),
      /0\.99999999 \(1 in float32\)/,
    ],
    [
      "clipByGlobalNorm(1e-50)",
      () => clipByGlobalNorm(1e-50),
      /1e-50 \(0 in float32\)/,
    ],
    ["trace(2e38 * 2)", () => trace(4e38), /4e\+38/],
    ["constantSchedule(1e39)", () => constantSchedule(1e39), /1e\+39/],
    [
      "linearSchedule spanning 6e38",
      () =>
        linearSchedule({
          initValue: -3e38,
          endValue: 3e38,
          transitionSteps: 2,
        }),
      /endValue - initValue must be finite in float32/,
    ],
    [
      "stepDecaySchedule gamma",
      () => stepDecaySchedule(1, { stepSize: 1, gamma: 1e40 }),
      /1e\+40/,
    ],
  ];
  for (const [what, make, message] of cases) {
    assert.throws(
      make,
      (e: Error) => e instanceof RangeError && message.test(e.message),
      what,
    );
  }
  // float32's largest finite value is accepted
  sgd(3.4028234663852886e38);
});

testOnBackends(
  "sgd at float32's largest learning rate gives finite weights on zero gradients",
  async () => {
    const tx = sgd(3.4028234663852886e38);
    const [u] = runUpdate(
      tx,
      { w: tf.zeros([2]) },
      initState(tx, { w: tf.zeros([2]) }),
    );
    assert.ok((await read(u.w!)).every((x) => x === 0));
  },
);

// --- item 7: powers of the step count ---------------------------------------

Deno.test("powInt on the host is within 25 float32 roundings of the float64 power", () => {
  const rnd = rng(7);
  for (const b of [0.9, 0.999, 0.99999, 0.5, 1, 0]) {
    for (let i = 0; i < 200; i++) {
      const t = i < 50 ? i : Math.floor(rnd() * 2 ** 24);
      const got = foldNumber(powInt(hyper("b"), hyper("t")), { b, t })!;
      const want = Math.pow(Math.fround(b), t);
      assert.ok(
        Math.abs(got - want) <= 25 * 2 ** -24 * want + 1e-45,
        `${b}^${t}: ${got} vs ${want}`,
      );
    }
  }
});

testOnBackends(
  "powInt with tensors matches the host, bit for bit",
  async () => {
    const e = powInt(hyper("b"), hyper("t"));
    // times a tensor of ones (exact), so that evaluate returns a tensor
    // (on cpu the power itself is computed on the host)
    const out = mul(e, input("one"));
    const rnd = rng(11);
    const counts = [
      0,
      1,
      2,
      3,
      7,
      8,
      100,
      1000,
      65535,
      2 ** 24,
      ...Array.from({ length: 20 }, () => Math.floor(rnd() * 2 ** 24)),
    ];
    for (const b of [0.9, 0.999]) {
      for (const t of counts) {
        const host = foldNumber(e, { b, t })!;
        // count a tensor, base a number: factors from float64
        const v1 = evaluate({ x: { v: out } }, () => tf.ones([1]), {
          b,
          t: tf.scalar(t),
        }).x!.v!;
        assert.equal((await read(v1))[0], host, `${b}^${t}`);
        // both tensors: float32 squarings, compared with the same on the host
        const v2 = evaluate({ x: { v: out } }, () => tf.ones([1]), {
          b: tf.scalar(b),
          t: tf.scalar(t),
        }).x!.v!;
        let sq = Math.fround(b), want = 1;
        for (let k = 0; k < 25; k++) {
          if (Math.floor(t / 2 ** k) % 2 === 1) want = Math.fround(want * sq);
          sq = Math.fround(sq * sq);
        }
        // same factors, possibly another order: within a few roundings
        const got = (await read(v2))[0]!;
        assert.ok(
          Math.abs(got - want) <= 8 * 2 ** -24 * want,
          `${b}^${t}: ${got} vs ${want}`,
        );
      }
    }
  },
);

testOnBackends(
  "stepDecaySchedule and exponentialDecaySchedule at whole boundaries",
  async () => {
    const step = stepDecaySchedule(1, { stepSize: 60, gamma: 0.1 });
    const stair = exponentialDecaySchedule(1, {
      transitionSteps: 60,
      decayRate: 0.5,
      staircase: true,
    });
    const smooth = exponentialDecaySchedule(2, {
      transitionSteps: 3,
      decayRate: 0.5,
      transitionBegin: 5,
    });
    for (
      const [t, s, h] of [
        [59, 1, 1],
        [60, 0.1, 0.5],
        [120, 0.01, 0.25],
        [179, 0.01, 0.25],
        [180, 0.001, 0.125],
        [3, 1, 1],
      ] as const
    ) {
      const x = 2 * 0.5 ** (Math.max(t - 5, 0) / 3);
      const c = tf.scalar(t);
      assertClose(await read(step(c)), [s], {
        rtol: 3e-7,
        atol: 0,
        what: `step ${t}`,
      });
      assertClose(await read(stair(c)), [h], {
        rtol: 0,
        atol: 0,
        what: `stair ${t}`,
      });
      assertClose(await read(smooth(c)), [x], {
        rtol: 3e-6,
        atol: 0,
        what: `smooth ${t}`,
      });
    }
  },
);

Deno.test("a schedule is checked by its bounds: it may reach an open end of a range, not pass it", () => {
  const before = tf.memory().numTensors;
  const down = (endValue: number) =>
    linearSchedule({ initValue: 0.1, endValue, transitionSteps: 10 });
  assert.throws(
    () => sgd(down(-0.1)),
    (e: Error) => e instanceof RangeError && /reaching -0\.1/.test(e.message),
  );
  assert.throws(
    () =>
      injectHyperparams((hp) => sgd(hp.learningRate), {
        learningRate: down(-0.1),
      }),
    (e: Error) => e instanceof RangeError && /reaching -0\.1/.test(e.message),
  );
  assert.throws(
    () =>
      adam(
        exponentialDecaySchedule(-1, { transitionSteps: 1, decayRate: 0.5 }),
      ),
    RangeError,
  );
  // to 0, the end of learningRate's [0, ∞) and of maxNorm's (0, ∞): defined
  sgd(down(0));
  injectHyperparams(
    (hp) => chain(clipByGlobalNorm(hp.maxNorm), sgd(0.1)),
    { maxNorm: down(0) },
  );
  // b1 in [0, 1): a schedule may reach 1 (no bias correction), not pass it
  const b1 = (end: number) =>
    linearSchedule({ initValue: 0.9, endValue: end, transitionSteps: 5 });
  injectHyperparams((hp) => adam(0.1, { b1: hp.b1 }), { b1: b1(1) });
  assert.throws(
    () => injectHyperparams((hp) => adam(0.1, { b1: hp.b1 }), { b1: b1(1.5) }),
    /b1 \(a schedule reaching 1\.5\) must be in \[0, 1\]/,
  );
  // growth without bound is fine for a learning rate (no upper bound)
  sgd(stepDecaySchedule(0.1, { stepSize: 10, gamma: 2 }));
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("a value set where no range is known yet (a loaded state) is checked by the next step, which changes nothing", () => {
  const tx = injectHyperparams((hp) => sgd(hp.learningRate), {
    learningRate: 0.1,
  });
  const params = { w: tf.ones([2]) };
  let state = initState(tx, params);
  // as if loaded from a checkpoint: a scalar no transform has seen
  state.hyperparams.learningRate!.dispose();
  state = {
    ...state,
    hyperparams: { learningRate: tf.keep(tf.scalar(0.1)) },
  };
  state = setHyperparam(state, { name: "learningRate", value: -1 });
  const before = tf.memory().numTensors;
  const grads = { w: tf.ones([2]) };
  assert.throws(
    () => runUpdate(tx, grads, state, params),
    (e: Error) => e instanceof RangeError && /got -1/.test(e.message),
  );
  assert.equal(tf.memory().numTensors, before + 1);
  assert.equal(state.count.isDisposed, false);
  assert.equal(state.hyperparams.learningRate!.dataSync()[0], -1);
  tf.dispose([grads.w, params.w]);
  disposeState(state);
});
