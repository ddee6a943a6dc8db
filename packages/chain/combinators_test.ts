import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  addDecayedWeights,
  applyIfFinite,
  chain,
  freeze,
  type GradientTransformation,
  identity,
  initState,
  injectHyperparams,
  masked,
  multiSteps,
  multiTransform,
  namedChain,
  partition,
  runUpdate,
  scale,
  setHyperparam,
  sgd,
  stepDecaySchedule,
  trace,
} from "./mod.ts";
import { assertClose, read, testOnBackends } from "@centra/testing/mod.ts";

const params = () => ({
  "head/kernel": tf.ones([2, 2]),
  "body/kernel": tf.ones([2, 2]),
  "body/bias": tf.ones([2]),
});
const grads = (v = 1) => ({
  "head/kernel": tf.fill([2, 2], v),
  "body/kernel": tf.fill([2, 2], v),
  "body/bias": tf.fill([2], v),
});
const first = async (t: tf.Tensor | undefined) => (await read(t!))[0]!;

testOnBackends(
  "partition() sends each parameter to its label's transform, and multiTransform is its alias",
  async () => {
    const tx = partition(
      { head: sgd(0.1), body: sgd(0.01, { momentum: 0.9 }) },
      (name) => name.split("/")[0]!,
    );
    assert.equal(multiTransform, partition);
    const p = params();
    let state = initState(tx, p);
    let u;
    [u, state] = runUpdate(tx, grads(), state, p);
    [u, state] = runUpdate(tx, grads(), state, p);
    assert.ok(Math.abs(await first(u["head/kernel"]) + 0.1) < 1e-7);
    assert.ok(Math.abs(await first(u["body/kernel"]) + 0.019) < 1e-7); // 0.01 * (1 + 0.9)
    assert.throws(
      () => partition({ a: identity() }, { x: "a" }).init(p),
      /names "x", which is not a parameter/,
    );
    assert.throws(
      () => partition({ a: identity() }, () => "b").init(p),
      /label "b", which is not one of: a/,
    );
  },
);

testOnBackends(
  "masked() runs the inner transform on the selection only; freeze() zeroes it",
  async () => {
    const p = params();
    const tx = masked(trace(0.5), (name) => name.startsWith("body/"));
    let state = initState(tx, p);
    assert.deepEqual(
      Object.keys((state.inner as { trace: object }).trace).sort(),
      ["body/bias", "body/kernel"],
    );
    let u;
    [u, state] = runUpdate(tx, grads(), state, p);
    [u, state] = runUpdate(tx, grads(), state, p);
    assert.equal(await first(u["body/kernel"]), 1.5);
    assert.equal(await first(u["head/kernel"]), 1);
    const [z] = runUpdate(freeze({ "head/kernel": true }), grads(), {}, p);
    assert.equal(await first(z["head/kernel"]), 0);
    assert.equal(await first(z["body/kernel"]), 1);
    assert.throws(
      () => masked(identity(), { "nope/kernel": true }).init(p),
      /"nope\/kernel"/,
    );
    assert.throws(() => freeze({ "nope/kernel": true }).init(p), TypeError);
    assert.throws(
      () => addDecayedWeights(0.1, { mask: { ghost: true } }).init(p),
      /"ghost", which is not a parameter/,
    );
  },
);

testOnBackends(
  "transforms accept a subset of the parameters and carry the others' state (frozen layers)",
  () => {
    const p = params();
    const tx = sgd(0.1, { momentum: 0.9 });
    let state = initState(tx, p);
    [, state] = runUpdate(tx, grads(), state, p);
    const before = state;
    const headTrace =
      (before as [unknown, { trace: Record<string, tf.Tensor> }])[1]
        .trace["head/kernel"];
    const sub = { "body/kernel": tf.ones([2, 2]) };
    let u;
    [u, state] = runUpdate(tx, sub, state, p);
    assert.deepEqual(Object.keys(u), ["body/kernel"]);
    const after =
      (state as [unknown, { trace: Record<string, tf.Tensor> }])[1].trace;
    assert.equal(
      after["head/kernel"],
      headTrace,
      "the absent parameter's momentum is the same tensor",
    );
    assert.equal(headTrace!.isDisposed, false);
  },
);

testOnBackends(
  "applyIfFinite() skips non-finite steps, counts them, and gives up after maxConsecutiveErrors",
  async () => {
    const p = { w: tf.zeros([2]) };
    const tx = applyIfFinite(sgd(1, { momentum: 0.5 }), {
      maxConsecutiveErrors: 2,
    });
    let state = initState(tx, p);
    let u;
    [u, state] = runUpdate(tx, { w: tf.tensor1d([1, 1]) }, state, p);
    assert.equal(await first(u.w), -1);
    [u, state] = runUpdate(tx, { w: tf.tensor1d([NaN, 1]) }, state, p);
    assert.deepEqual(Array.from(await read(u.w!)), [0, 0]);
    [u, state] = runUpdate(tx, { w: tf.tensor1d([1, Infinity]) }, state, p);
    assert.deepEqual(Array.from(await read(u.w!)), [0, 0]);
    assert.equal(await first(state.totalNotfinite), 2);
    assert.equal(await first(state.lastFinite), 0);
    // momentum untouched by the two skipped steps: 0.5 * 1 + 1
    [u, state] = runUpdate(tx, { w: tf.tensor1d([1, 1]) }, state, p);
    assert.equal(await first(u.w), -1.5);
    assert.equal(await first(state.notfiniteCount), 0);
    // three in a row: the third is applied anyway
    for (let i = 0; i < 3; i++) {
      [u, state] = runUpdate(tx, { w: tf.tensor1d([NaN, 1]) }, state, p);
    }
    assert.ok(Number.isNaN(await first(u.w)));
    assert.throws(
      () => applyIfFinite(identity(), { maxConsecutiveErrors: -1 }),
      RangeError,
    );
    // multiSteps keeps its counter in a tensor, so it nests either way: a
    // NaN mini-step is skipped whole (the window does not advance)
    const wrapped = applyIfFinite(multiSteps(sgd(1), 2));
    let ws = initState(wrapped, p);
    for (const g of [[1, 1], [NaN, 1], [3, 5]]) {
      [u, ws] = runUpdate(wrapped, { w: tf.tensor1d(g) }, ws, p);
    }
    assert.deepEqual(Array.from(await read(u.w!)), [-2, -3]);
    assert.equal(await first(ws.inner.miniStep), 0);
    // a transform that keeps a changing host-side value cannot be wrapped
    const hostCounter: GradientTransformation<{ n: number }> = {
      init: () => ({ n: 0 }),
      update: (updates, state) => [updates, { n: state.n + 1 }],
    };
    for (
      const outer of [applyIfFinite(hostCounter), multiSteps(hostCounter, 2)]
    ) {
      const hs = initState(outer as GradientTransformation<unknown>, p);
      assert.throws(
        () =>
          runUpdate(
            outer as GradientTransformation<unknown>,
            { w: tf.ones([2]) },
            hs,
            p,
          ),
        /host-side value at state\.n \(0 -> 1\)/,
      );
    }
  },
);

testOnBackends(
  "multiSteps() over k mini-batches equals one step on their mean",
  async () => {
    const p = { w: tf.zeros([3]) };
    const k = 3;
    const inner = () => sgd(0.1, { momentum: 0.9 });
    const acc = multiSteps(inner(), k);
    const ref = inner();
    let sa = initState(acc, p), sr = initState(ref, p);
    const mini = [[1, 2, 3], [4, 5, 6], [-2, 0, 9]];
    for (let step = 0; step < 2; step++) {
      let u;
      for (let i = 0; i < k; i++) {
        [u, sa] = runUpdate(
          acc,
          { w: tf.tensor1d(mini[i]!.map((x) => x * (step + 1))) },
          sa,
          p,
        );
        if (i < k - 1) {
          assert.deepEqual(Array.from(await read(u.w!)), [
            0,
            0,
            0,
          ]);
        }
      }
      const mean = [0, 1, 2].map((j) =>
        mini.reduce((s, m) => s + m[j]!, 0) * (step + 1) / k
      );
      let r;
      [r, sr] = runUpdate(ref, { w: tf.tensor1d(mean) }, sr, p);
      assertClose(await read(u!.w!), await read(r.w!), {
        what: `step ${step}`,
      });
    }
    assert.throws(
      () => multiSteps(identity(), 0),
      /everyK must be an integer >= 1, got 0/,
    );
  },
);

testOnBackends(
  "injectHyperparams() exposes, schedules and sets hyperparameters in the state",
  async () => {
    const p = { w: tf.zeros([1]) };
    const tx = injectHyperparams(
      (hp) => sgd(hp.learningRate, { momentum: hp.momentum }),
      {
        learningRate: stepDecaySchedule(1, { stepSize: 2, gamma: 0.5 }),
        momentum: 0,
      },
    );
    let state = initState(tx, p);
    const lrs: number[] = [];
    for (let i = 0; i < 5; i++) {
      let u;
      [u, state] = runUpdate(tx, { w: tf.ones([1]) }, state, p);
      lrs.push(-(await first(u.w)));
      lrs[i] = Number(lrs[i]!.toFixed(6));
    }
    assert.deepEqual(lrs, [1, 1, 0.5, 0.5, 0.25]);
    state = setHyperparam(state, { name: "momentum", value: 0.5 });
    assert.equal(await first(state.hyperparams.momentum), 0.5);
    assert.throws(
      () => setHyperparam(state, { name: "beta", value: 1 }),
      /no hyperparameter named "beta"/,
    );
    assert.throws(
      () => setHyperparam(state, { name: "momentum", value: NaN }),
      RangeError,
    );
  },
);

testOnBackends(
  "chain() and namedChain() apply transforms in order and keep one state each",
  async () => {
    const tx: GradientTransformation<unknown[]> = chain(
      scale(2),
      trace(0.5),
      scale(-1),
    );
    const nt = namedChain({
      double: scale(2),
      momentum: trace(0.5),
      flip: scale(-1),
    });
    const p = { w: tf.zeros([1]) };
    let s1 = initState(tx, p), s2 = initState(nt, p);
    let u1, u2;
    for (let i = 0; i < 2; i++) {
      [u1, s1] = runUpdate(tx, { w: tf.ones([1]) }, s1, p);
      [u2, s2] = runUpdate(nt, { w: tf.ones([1]) }, s2, p);
    }
    assert.equal(await first(u1!.w), -3);
    assert.equal(await first(u2!.w), -3);
    assert.deepEqual(Object.keys(s2), ["double", "momentum", "flip"]);
    assert.throws(
      () => tx.update({ w: tf.ones([1]) }, [], p),
      /state must be a list of 3 states/,
    );
  },
);
