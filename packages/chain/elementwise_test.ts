// elementwise() from a definition: what it derives from the math (state,
// init, checks, step count) and what it refuses when the stage is built.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { add, elementwise, hyper, mul, slot, sub } from "./expr.ts";
import { describe } from "./fuser.ts";
import {
  adaptiveGradClip,
  addDecayedWeights,
  centralize,
  clipByGlobalNorm,
  clipByNorm,
  clipByValue,
  ema,
  scale,
  scaleByAdam,
  scaleByLearningRate,
  scaleByRms,
  scaleByRss,
  scaleBySchedule,
  trace,
} from "./mod.ts";
import { read, testOnBackends } from "@centra/testing/mod.ts";

const refuses = (fn: () => unknown, message: RegExp) =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof TypeError && message.test(e.message),
  );

testOnBackends(
  "elementwise() refuses a hyper() with no value, or an undeclared slot, when the transform is built",
  () => {
    refuses(
      () =>
        elementwise({
          where: "s",
          hypers: { k: undefined },
          math: ({ g, hypers: h }) => ({ update: mul(g, h.k) }),
        }),
      /^s: hyperparameter "k" has no value$/,
    );
    refuses(
      () =>
        elementwise({
          where: "s",
          math: ({ g }) => ({ update: mul(g, hyper("lr")) }),
        }),
      /s: hyper\("lr"\) has no value/,
    );
    refuses(
      () =>
        elementwise({
          where: "s",
          slots: { m: 0 },
          math: ({ g }) => ({ update: add(g, slot("other")) }),
        }),
      /s: the math reads input\("slot:other"\)/,
    );
    refuses(
      () =>
        elementwise({
          where: "s",
          slots: { m: null },
          math: ({ g, slots: s }) => ({ update: add(g, s.m) }),
        }),
      /s: slot "m" is declared empty/,
    );
    refuses(
      () =>
        elementwise({
          where: "s",
          slots: { m: 0 },
          math: ({ g }) => ({ update: g, slots: { n: g } as never }),
        }),
      /s: the math writes slot "n", which is not a declared slot/,
    );
    refuses(
      () =>
        elementwise({
          where: "s",
          hypers: { count: 1 },
          math: ({ g }) => ({ update: g }),
        }),
      /"count" is reserved/,
    );
    assert.throws(
      () =>
        elementwise({
          where: "s",
          hypers: { b: [2, { min: 0, max: 1 }] },
          math: ({ g, hypers: h }) => ({ update: mul(g, h.b) }),
        }),
      (e: unknown) =>
        e instanceof RangeError &&
        /s: b must be in \[0, 1\], got 2/.test(e.message),
    );
    refuses(
      () =>
        elementwise({
          where: "s",
          hypers: { b: (c: tf.Scalar) => c },
          math: ({ g, hypers: h }) => ({ update: mul(g, h.b) }),
        }),
      /s: b cannot be a schedule/,
    );
  },
);

testOnBackends(
  "elementwise() derives the state: declared slots in order, a count when the math reads it or a schedule drives it",
  async () => {
    const params = { w: tf.tensor1d([1, 2]), b: tf.tensor1d([3]) };
    const g = { w: tf.tensor1d([4, -2]), b: tf.tensor1d([1]) };
    // m = d * m + (1 - d) * g, update m / t: computed here in float64
    const tx = elementwise({
      where: "avg",
      hypers: { d: 0.5 },
      slots: { m: 0, unused: null, s: 1 },
      math: ({ g, count, hypers: h, slots: s }) => {
        const m = add(mul(h.d, s.m), mul(sub(1, h.d), g));
        return { update: mul(m, count), slots: { m } };
      },
    });
    let state = tx.init(params);
    assert.deepEqual(Object.keys(state), ["count", "m", "unused", "s"]);
    assert.deepEqual(state.unused, {});
    assert.deepEqual(Array.from(await read(state.s.w!)), [1, 1]);
    const want = { w: [0, 0], b: [0] };
    for (let t = 1; t <= 3; t++) {
      const carried = state.s;
      let u;
      [u, state] = tx.update(g, state);
      // a slot the math does not write is carried over as it is
      assert.equal(state.s, carried);
      assert.equal((await read(state.count!))[0], t);
      for (const k of ["w", "b"] as const) {
        const gk = Array.from(await read(g[k]));
        want[k] = want[k].map((m, i) => 0.5 * m + 0.5 * gk[i]!);
        assert.deepEqual(
          Array.from(await read(u[k]!)),
          want[k].map((m) => m * t),
        );
      }
    }
    // no count without a reader; a schedule brings one, read before the step
    const plain = elementwise({
      where: "plain",
      hypers: { k: 2 },
      math: ({ g, hypers: h }) => ({ update: mul(g, h.k) }),
    });
    assert.deepEqual(Object.keys(plain.init(params)), []);
    const seen: number[] = [];
    const sched = elementwise({
      where: "sched",
      hypers: {
        k: [(c: tf.Scalar) => {
          seen.push(c.dataSync()[0]!);
          return tf.add(c, 1) as tf.Scalar;
        }, { schedule: true }],
      },
      math: ({ g, hypers: h }) => ({ update: mul(g, h.k) }),
    });
    let ss = sched.init(params);
    assert.deepEqual(Object.keys(ss), ["count"]);
    let u;
    [u, ss] = sched.update(g, ss);
    [u, ss] = sched.update(g, ss);
    assert.deepEqual(seen, [0, 1]);
    assert.deepEqual(Array.from(await read(u.w!)), [8, -4]);
    tf.dispose([params, g]);
  },
);

testOnBackends(
  "elementwise() derives the structural checks: names and shapes against the state, params when the math reads p",
  () => {
    const params = { w: tf.zeros([2, 2]) };
    const tx = elementwise({
      where: "stage",
      slots: { m: 0 },
      math: ({ g, p, slots: s }) => ({
        update: add(add(g, s.m), p),
        slots: { m: g },
      }),
    });
    const state = tx.init(params);
    const n0 = tf.memory().numTensors;
    const ghost = { ghost: tf.ones([2, 2]) };
    const wrong = { w: tf.ones([4]) };
    const good = { w: tf.ones([2, 2]) };
    const n1 = tf.memory().numTensors;
    refuses(
      () => tx.update(ghost, state, params),
      /stage: unknown parameter name "ghost"/,
    );
    refuses(
      () => tx.update(wrong, state, params),
      /stage: update "w" has shape \[4\] but its state has shape \[2,2\]/,
    );
    refuses(() => tx.update(good, state), /stage: needs params/);
    refuses(
      () => tx.update(good, state, {}),
      /stage: missing parameter "w" in params/,
    );
    refuses(
      () => tx.update(good, [] as never, params),
      /the state does not fit this transformation/,
    );
    assert.equal(
      tf.memory().numTensors,
      n1,
      "a refused update computes nothing",
    );
    tf.dispose([ghost.ghost, wrong.w, good.w]);
    assert.equal(tf.memory().numTensors, n0);
    tf.dispose([params.w, state.m.w!]);
  },
);

testOnBackends(
  "elementwise() math per parameter is checked when it is made, before anything is computed",
  () => {
    const tx = elementwise({
      where: "perParam",
      math: ({ g, count }) => (name) =>
        name === "bad" ? { update: mul(g, count) } : { update: g },
    });
    const g = { ok: tf.ones([2]), bad: tf.ones([2]) };
    const n0 = tf.memory().numTensors;
    refuses(() => tx.update(g, {}), /perParam: math per parameter reads count/);
    assert.equal(tf.memory().numTensors, n0);
    tf.dispose([g.ok, g.bad]);
  },
);

testOnBackends(
  "centra's elementwise transforms keep their state layouts and register their specs for fusers",
  () => {
    const params = { w: tf.zeros([2, 3]) };
    const cases: [string, { init: (p: typeof params) => object }, string[]][] =
      [
        ["scaleByAdam", scaleByAdam(), ["count", "mu", "nu", "nuMax"]],
        ["scaleByAdam amsgrad", scaleByAdam({ amsgrad: true }), [
          "count",
          "mu",
          "nu",
          "nuMax",
        ]],
        ["scaleByRms", scaleByRms(), ["nu", "mu"]],
        ["scaleByRms centered", scaleByRms({ centered: true }), ["nu", "mu"]],
        ["scaleByRss", scaleByRss(), ["sumOfSquares"]],
        ["trace", trace(0.9), ["trace"]],
        ["ema", ema(0.9), ["count", "ema"]],
        ["ema no debias", ema(0.9, { debias: false }), ["count", "ema"]],
        ["scale", scale(2), []],
        ["scaleByLearningRate", scaleByLearningRate(0.1), []],
        ["scaleBySchedule", scaleBySchedule(() => tf.scalar(1)), ["count"]],
        ["centralize", centralize(), []],
        ["addDecayedWeights", addDecayedWeights(0.1), []],
        ["adaptiveGradClip", adaptiveGradClip(0.1), []],
        ["clipByValue", clipByValue(1), []],
        ["clipByNorm", clipByNorm(1), []],
        ["clipByGlobalNorm", clipByGlobalNorm(1), []],
      ];
    for (const [what, tx, keys] of cases) {
      const s = tx.init(params);
      assert.deepEqual(Object.keys(s), keys, what);
      assert.equal(describe(tx)?.kind, "elementwise", what);
      tf.dispose(
        Object.values(s).flatMap((v) =>
          v instanceof tf.Tensor ? [v] : Object.values(v)
        ),
      );
    }
    // an empty slot stays empty
    const adam = scaleByAdam().init(params);
    assert.deepEqual(adam.nuMax, {});
    tf.dispose([adam.count, adam.mu.w!, adam.nu.w!, params.w]);
  },
);
