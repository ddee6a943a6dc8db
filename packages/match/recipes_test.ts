import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  applyUpdates,
  chain,
  freeze,
  initState,
  runUpdate,
  sgd,
} from "@centra/chain";
import type { Params, Updates } from "@centra/chain/types";
import { mask } from "./select.ts";
import {
  convLayers,
  decayMask,
  fineTuning,
  gcConvOnly,
  noDecay,
  perLayerLearningRates,
} from "./recipes.ts";
import { byClass, byLayer, byRole, type Selector } from "./selectors.ts";
import {
  everyLayerExpected,
  everyLayerModel,
  meansOver,
  nestedModel,
  uniquePrefix,
} from "./_test_utils.ts";
import {
  assertClose,
  randn,
  read,
  testOnBackends,
} from "@centra/testing/mod.ts";

await tf.setBackend("cpu");

function paramsOf(model: tf.LayersModel): Record<string, tf.Variable> {
  return Object.fromEntries(
    model.trainableWeights.map((w) => [w.name, w.read() as tf.Variable]),
  );
}

function randomLike(params: Params, seed: number): Updates {
  return Object.fromEntries(
    Object.entries(params).map(([n, p], i) => [
      n,
      tf.tensor(Float32Array.from(randn(p.size, seed * 100 + i)), p.shape),
    ]),
  );
}

/** `g` minus its means over `axes`, on the host. */
function centre(
  g: Float64Array,
  shape: number[],
  axes: number[] | null,
): Float64Array {
  if (axes === null) return g;
  const means = meansOver(g, shape, axes);
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const strides = shape.map((_, i) =>
    shape.slice(i + 1).reduce((a, b) => a * b, 1)
  );
  return g.map((x, flat) => {
    let key = 0;
    for (const a of kept) {
      key = key * shape[a]! + (Math.floor(flat / strides[a]!) % shape[a]!);
    }
    return x - means[key]!;
  });
}

/** Conv, batch norm, Dense head; layer names carry the prefix. */
function small(p: string): tf.LayersModel {
  return tf.sequential({
    name: `${p}model`,
    layers: [
      tf.layers.conv2dTranspose({
        filters: 3,
        kernelSize: 2,
        inputShape: [4, 4, 2],
        name: `${p}up`,
      }),
      tf.layers.batchNormalization({ name: `${p}bn` }),
      tf.layers.flatten({ name: `${p}flat` }),
      tf.layers.dense({ units: 2, name: `${p}head` }),
    ],
  });
}

Deno.test("decayMask() decays kernels and embeddings, not biases, norms or PReLU alpha", () => {
  const p = uniquePrefix("dec");
  const model = everyLayerModel(p);
  const expected = everyLayerExpected(p);
  const decayed = [
    "kernel",
    "depthwise_kernel",
    "pointwise_kernel",
    "recurrent_kernel",
    "embeddings",
  ];
  const want = Object.fromEntries(
    Object.entries(expected)
      .filter(([, e]) => e.trainable)
      .map(([n, e]) => [n, decayed.includes(e.role)]),
  );
  assert.deepEqual(decayMask(model), want);
  assert.ok(
    noDecay().test({
      ...expected[`${p}prelu/alpha`]!,
      name: "",
      originalName: "",
    }),
  );
  // a custom exclusion replaces the default one
  const noEmb = decayMask(model, { exclude: byRole(["bias", "embeddings"]) });
  assert.equal(noEmb[`${p}emb/embeddings`], false);
  assert.equal(noEmb[`${p}bn/gamma`], true);
  assert.throws(
    () => decayMask(model, { exclude: byRole("*") }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.startsWith(
        `decayMask: not(byRole("*")) matches no trainable parameter of model "${p}model"`,
      ),
  );
  assert.deepEqual(
    new Set(
      Object.values(
        decayMask(model, { exclude: byRole("*"), allowEmpty: true }),
      ),
    ),
    new Set([false]),
  );
  assert.throws(
    () => decayMask(model, { exclude: "bias" as never }),
    /decayMask: expected a selector, got bias/,
  );
  model.dispose();
});

Deno.test("gcConvOnly() centralizes convolution kernels only, each by its own rule", () => {
  const p = uniquePrefix("gco");
  const model = everyLayerModel(p);
  const expected = everyLayerExpected(p);
  const axes = gcConvOnly(model);
  const conv = [
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "ConvLSTM2D",
  ];
  let centralized = 0;
  for (const [name, e] of Object.entries(expected)) {
    const got = axes(name, e.shape);
    if (conv.includes(e.layerClass)) {
      assert.deepEqual(got, e.gcAxes, name);
      if (got !== null) centralized += 1;
    } else assert.equal(got, null, name);
  }
  assert.equal(centralized, 10);
  assert.ok(
    convLayers().test({
      ...expected[`${p}clstm/kernel`]!,
      name: "",
      originalName: "",
    }),
  );
  model.dispose();
});

testOnBackends(
  "freeze(mask(model, byLayer(...))) keeps a nested backbone as it is",
  async () => {
    const p = uniquePrefix("frz");
    const { model } = nestedModel(p, { side: 5, units: 2 });
    const vars = paramsOf(model);
    const before: Record<string, Float64Array> = {};
    for (const [n, v] of Object.entries(vars)) before[n] = await read(v);
    const tx = chain(
      freeze(mask(model, byLayer(`${p}backbone`))),
      sgd(0.1, { momentum: 0.9 }),
    );
    let state = initState(tx, vars);
    let baseline = -1;
    for (let step = 0; step < 3; step++) {
      const grads = randomLike(vars, step);
      const [u, next] = runUpdate(tx, grads, state, vars);
      state = next;
      applyUpdates(vars, u);
      tf.dispose([grads, u]);
      if (step === 0) baseline = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, baseline);
    for (const [n, v] of Object.entries(vars)) {
      const after = await read(v);
      const same = after.every((x, i) => x === before[n]![i]);
      assert.equal(same, n.startsWith(`${p}conv`), n);
    }
    tf.dispose(state as tf.TensorContainer);
    model.dispose();
  },
);

testOnBackends(
  "perLayerLearningRates() steps each group at its own rate",
  async () => {
    const p = uniquePrefix("plr");
    const model = small(p);
    const vars = paramsOf(model);
    const tx = perLayerLearningRates(model, {
      groups: {
        head: { select: byLayer(`${p}head`), learningRate: 0.1 },
        norm: { select: byClass("BatchNormalization"), learningRate: 0.5 },
      },
      otherLearningRate: 0.01,
    });
    const grads = randomLike(vars, 3);
    const state = initState(tx, vars);
    const [u, next] = runUpdate(tx, grads, state, vars);
    const rate = (n: string) =>
      n.startsWith(`${p}head`) ? 0.1 : n.startsWith(`${p}bn`) ? 0.5 : 0.01;
    for (const [n, g] of Object.entries(grads)) {
      const want = (await read(g)).map((x) => -rate(n) * x);
      assertClose(await read(u[n]!), want, { what: n });
    }
    assert.deepEqual(Object.keys(state as object).sort(), [
      "head",
      "norm",
      "other",
    ]);
    tf.dispose([grads, u, next as tf.TensorContainer]);
    model.dispose();
  },
);

Deno.test("perLayerLearningRates() rejects bad groups, naming them", () => {
  const p = uniquePrefix("plx");
  const model = small(p);
  const head = { select: byLayer(`${p}head`), learningRate: 0.1 };
  const bad: [() => unknown, RegExp, ErrorConstructor][] = [
    [
      () => perLayerLearningRates(model, null as never),
      /options must be an object with groups/,
      TypeError,
    ],
    [
      () => perLayerLearningRates(model, { groups: null as never }),
      /groups must be a record/,
      TypeError,
    ],
    [
      () =>
        perLayerLearningRates(model, {
          groups: { other: head },
          otherLearningRate: 0.01,
        }),
      /the group label "other" is taken by otherLearningRate/,
      TypeError,
    ],
    [
      () =>
        perLayerLearningRates(model, {
          groups: { head: { select: head.select } as never },
        }),
      /group "head" has no learningRate/,
      TypeError,
    ],
    [
      () =>
        perLayerLearningRates(model, {
          groups: {
            head: { select: "head" as unknown as Selector, learningRate: 1 },
          },
        }),
      /perLayerLearningRates \(group "head"\): expected a selector, got head/,
      TypeError,
    ],
    [
      () =>
        perLayerLearningRates(model, {
          groups: { head },
          otherLearningRate: 0.01,
          optimizer: 3 as never,
        }),
      /optimizer must be a function/,
      TypeError,
    ],
    [
      () => perLayerLearningRates(model, { groups: { head } }),
      new RegExp(
        `perLayerLearningRates: labels: parameter "${p}up/kernel" .* is in no group`,
      ),
      RangeError,
    ],
    [
      () =>
        perLayerLearningRates(model, {
          groups: { head: { ...head, select: byLayer("hed") } },
          otherLearningRate: 0.01,
        }),
      /perLayerLearningRates: labels \(group "head"\): byLayer\("hed"\) matches no/,
      RangeError,
    ],
  ];
  for (const [fn, message, type] of bad) {
    assert.throws(
      fn,
      (e: Error) => e instanceof type && message.test(e.message),
    );
  }
  // an empty group is fine when allowed
  perLayerLearningRates(model, {
    groups: { head: { ...head, select: byLayer("hed") } },
    otherLearningRate: 0.01,
    allowEmpty: ["head"],
  });
  model.dispose();
});

testOnBackends(
  "fineTuning() is SGDM + GC at 0.1 for the head and 0.01 for the backbone, decay off biases and norms",
  async () => {
    const p = uniquePrefix("ft");
    const model = small(p);
    const vars = paramsOf(model);
    const w0: Record<string, Float64Array> = {};
    for (const [n, v] of Object.entries(vars)) w0[n] = await read(v);
    const wd = 0.05;
    const tx = fineTuning(model, {
      head: byLayer(`${p}head`),
      weightDecay: wd,
    });
    let state = initState(tx, vars);
    // GC axes written out by hand: Conv2DTranspose [2, 2, 3, 2] keeps axis 2;
    // Dense [48, 2] keeps axis 1; biases and batch norm are left alone.
    const spec: Record<
      string,
      { lr: number; axes: number[] | null; decay: boolean }
    > = {
      [`${p}up/kernel`]: { lr: 0.01, axes: [0, 1, 3], decay: true },
      [`${p}up/bias`]: { lr: 0.01, axes: null, decay: false },
      [`${p}bn/gamma`]: { lr: 0.01, axes: null, decay: false },
      [`${p}bn/beta`]: { lr: 0.01, axes: null, decay: false },
      [`${p}head/kernel`]: { lr: 0.1, axes: [0], decay: true },
      [`${p}head/bias`]: { lr: 0.1, axes: null, decay: false },
    };
    assert.deepEqual(Object.keys(vars).sort(), Object.keys(spec).sort());
    const momentum: Record<string, Float64Array> = {};
    for (let step = 0; step < 2; step++) {
      const grads = randomLike(vars, 10 + step);
      const wNow: Record<string, Float64Array> = {};
      for (const [n, v] of Object.entries(vars)) wNow[n] = await read(v);
      const [u, next] = runUpdate(tx, grads, state, vars);
      state = next;
      for (const [n, s] of Object.entries(spec)) {
        const g = await read(grads[n]!);
        const shape = vars[n]!.shape;
        const decayed = s.decay ? g.map((x, i) => x + wd * wNow[n]![i]!) : g;
        const pg = centre(decayed, shape, s.axes);
        const m = momentum[n] === undefined
          ? pg
          : pg.map((x, i) => 0.9 * momentum[n]![i]! + x);
        momentum[n] = m;
        assertClose(await read(u[n]!), m.map((x) => -s.lr * x), {
          rtol: 1e-4,
          atol: 1e-6,
          what: `${n} step ${step}`,
        });
      }
      applyUpdates(vars, u);
      tf.dispose([grads, u]);
    }
    tf.dispose(state as tf.TensorContainer);
    model.dispose();
  },
);

Deno.test("fineTuning() options: GC on convs only, no GC, and errors", async () => {
  const p = uniquePrefix("fto");
  const model = small(p);
  const vars = paramsOf(model);
  const head = byLayer(`${p}head`);
  const kernel = `${p}head/kernel`;
  const grads = randomLike(vars, 7);
  const g = await read(grads[kernel]!);
  for (const gc of ["conv", false] as const) {
    const tx = fineTuning(model, { head, gc, momentum: 0 });
    const [u, next] = runUpdate(tx, grads, initState(tx, vars), vars);
    // the Dense head is not centralized either way
    assertClose(await read(u[kernel]!), g.map((x) => -0.1 * x), {
      what: String(gc),
    });
    tf.dispose([u, next as tf.TensorContainer]);
  }
  tf.dispose(grads);
  const bad: [() => unknown, RegExp, ErrorConstructor][] = [
    [
      () => fineTuning(model, null as never),
      /fineTuning: options must be an object with a head selector/,
      TypeError,
    ],
    [
      () => fineTuning(model, {} as never),
      /fineTuning \(head\): expected a selector, got undefined/,
      TypeError,
    ],
    [
      () => fineTuning(model, { head, gc: "all" as never }),
      /fineTuning: gc must be true, false, "conv" or an axes resolver, got all/,
      TypeError,
    ],
    [
      () => fineTuning(model, { head: byRank0() }),
      /perLayerLearningRates: labels \(group "backbone"\): not\(.*\) matches no trainable parameter/,
      RangeError,
    ],
  ];
  for (const [fn, message, type] of bad) {
    assert.throws(
      fn,
      (e: Error) => e instanceof type && message.test(e.message),
    );
  }
  model.dispose();
});

/** A head that selects everything, so the backbone is empty. */
function byRank0(): Selector {
  return { description: "everything", test: () => true };
}
