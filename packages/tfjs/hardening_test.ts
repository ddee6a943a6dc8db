// Issue 12 ("Hardening"), items 4, 8, 9, 10 and 13 for @centra/tfjs.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { adamw, initState, masked, sgd, trace } from "@centra/chain";
import { decayMask, fineTuning } from "@centra/match/recipes";
import { mask } from "@centra/match/select";
import { byLayer, byRole } from "@centra/match/selectors";
import { assertClose, testOnBackends } from "@centra/testing/mod.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { buildChain, chainNames, registerChain } from "./register_chain.ts";
import { trainStep } from "./train_step.ts";
import { memoryIO, release, tinyData, tinyModel } from "./_test_utils.ts";

let id = 0;
const unique = (what: string) => `tfjs_hardening_${id++}/${what}`;

testOnBackends(
  "ChainOptimizer.from, registerChain and buildChain look names up as own entries",
  () => {
    assert.throws(
      () => ChainOptimizer.from("constructor", {}),
      (e: Error) =>
        e instanceof TypeError &&
        e.message.startsWith('buildChain: no chain named "constructor"'),
    );
    assert.throws(
      () => ChainOptimizer.from("toString", {}),
      /buildChain: no chain named "toString"/,
    );
    // "valueOf" is no built-in: it can be registered, and built
    if (!chainNames().includes("valueOf")) {
      registerChain("valueOf", (o) => sgd(Number(o.lr)));
    }
    assert.ok(chainNames().includes("valueOf"));
    const opt = ChainOptimizer.from("valueOf", { lr: 0.5 });
    assert.equal(opt.spec?.name, "valueOf");
    assert.throws(() => registerChain("sgd", () => sgd(1)), RangeError);
    // a schedule named "constructor", an option key toString
    assert.throws(
      () =>
        buildChain("sgd", {
          learningRate: { schedule: "constructor", initValue: 1 },
        }),
      /"schedule" must be one of constant, .*got "constructor"/,
    );
    assert.throws(
      () => buildChain("sgd", { learningRate: 0.1, toString: 1 }),
      /unknown option "toString"/,
    );
    assert.throws(
      () =>
        buildChain("sgd", {
          learningRate: { schedule: "stepDecay", initValue: 1, valueOf: 2 },
        }),
      /unknown option "valueOf" for stepDecay/,
    );
    const hp = ChainOptimizer.from("sgd", { learningRate: 0.1 });
    assert.throws(
      () => hp.setHyperparam("toString", 1),
      /no hyperparameter "toString" \(known: learningRate\)/,
    );
    assert.throws(
      () => hp.setHyperparam("constructor", 1),
      /no hyperparameter "constructor"/,
    );
    hp.dispose();
    opt.dispose();
    assert.throws(
      () => new ChainOptimizer(sgd(0.1), { spce: {} } as never),
      /ChainOptimizer: options must be \{ spec\?, fused\? \}, got unknown option "spce"/,
    );
  },
);

Deno.test("ChainOptimizer.from checks JSON options with the aliases' own schema", () => {
  assert.throws(
    () => ChainOptimizer.from("adam", { learningRate: 0.1, amsgrad: "no" }),
    /option amsgrad must be a boolean, got "no"/,
  );
  assert.throws(
    () => ChainOptimizer.from("sgd", { learningRate: 0.1, momentun: 0.9 }),
    /unknown option "momentun"/,
  );
  // a weight decay mask is a record of booleans, so it can be saved
  const opt = ChainOptimizer.from("adamw", {
    learningRate: 0.1,
    weightDecay: 0.1,
    weightDecayMask: { "a/kernel": true, "a/bias": false },
  });
  assert.equal(opt.getConfig().name, "adamw");
  opt.dispose();
  assert.throws(
    () =>
      ChainOptimizer.from("adamw", {
        learningRate: 0.1,
        weightDecayMask: { "a/kernel": 1 },
      }),
    /weightDecayMask must be a record of booleans/,
  );
});

testOnBackends(
  "ChainOptimizer and trainStep refuse int32 and bool variables, naming them",
  async () => {
    const wi = tf.variable(tf.tensor1d([1, 2, 3], "int32"), true, unique("i"));
    const opt = ChainOptimizer.from("sgd", { learningRate: 0.1 });
    const g = tf.ones([3]);
    assert.throws(
      () => opt.applyGradients({ [wi.name]: g }),
      new RegExp(
        `"${wi.name}" must be float32 \\(gradient float32, variable int32\\)`,
      ),
    );
    const tx = sgd(0.1);
    const before = tf.memory().numTensors;
    assert.throws(
      () =>
        trainStep(tx, initState(tx, {}), {
          loss: () => tf.sum(tf.cast(wi, "float32")) as tf.Scalar,
          variables: [wi],
        }),
      TypeError,
    );
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(Array.from(await wi.data()), [1, 2, 3]);
    opt.dispose();
    tf.dispose([wi, g]);
  },
);

testOnBackends(
  "trainStep() leaves no tensor behind when tfjs refuses the loss",
  () => {
    const w = tf.variable(tf.ones([3]), true, unique("w"));
    const tx = sgd(0.1);
    const state = initState(tx, { [w.name]: w });
    const before = tf.memory().numTensors;
    assert.throws(
      () =>
        trainStep(tx, state, {
          loss: () => tf.mul(w, 2) as unknown as tf.Scalar,
          variables: [w],
        }),
      (e: Error) => e instanceof TypeError && /scalar/.test(e.message),
    );
    assert.equal(tf.memory().numTensors, before, "a rank-1 loss");
    const other = tf.variable(tf.ones([2]), true, unique("other"));
    const before2 = tf.memory().numTensors;
    assert.throws(
      () =>
        trainStep(tx, state, {
          loss: () => tf.sum(tf.mul(other, 2)) as tf.Scalar,
          variables: [w],
        }),
      TypeError,
    );
    assert.equal(tf.memory().numTensors, before2, "a loss w does not reach");
    assert.throws(
      () =>
        trainStep(tx, state, { loss: () => tf.sum(w), varaibles: [] } as never),
      /trainStep: unknown option "varaibles"/,
    );
    tf.dispose([w, other]);
  },
);

testOnBackends(
  "ChainOptimizer reads and sets hyperparameters before the first step and right after tf.loadLayersModel",
  async () => {
    const { xs, ys } = tinyData(8);
    const m = tinyModel(2);
    const opt = ChainOptimizer.from("adam", { learningRate: 0.01 });
    assertClose(
      [(await opt.readHyperparams()).learningRate!],
      [0.01],
      { rtol: 1e-7 },
    );
    opt.setHyperparam("learningRate", 0.02);
    m.compile({ optimizer: opt, loss: "categoricalCrossentropy" });
    await m.fit(xs, ys, { epochs: 2, verbose: 0 });
    assertClose(
      [(await opt.readHyperparams()).learningRate!],
      [0.02],
      { rtol: 1e-7 },
    );
    opt.setHyperparam("learningRate", 0.005);
    const io = memoryIO();
    await m.save(io.save, { includeOptimizer: true });
    const loaded = await tf.loadLayersModel(io.load());
    const lopt = loaded.optimizer as ChainOptimizer;
    // the saved rate, not the one from the options, before any step
    assertClose(
      [(await lopt.readHyperparams()).learningRate!],
      [0.005],
      { rtol: 1e-7 },
    );
    lopt.setHyperparam("learningRate", 0.001);
    await loaded.fit(xs, ys, { epochs: 1, verbose: 0 });
    assertClose(
      [(await lopt.readHyperparams()).learningRate!],
      [0.001],
      { rtol: 1e-7 },
    );
    // a chain without injectHyperparams has none, and says so
    const bare = new ChainOptimizer(sgd(0.1));
    assert.equal(bare.hyperparams(), undefined);
    assert.throws(
      () => bare.setHyperparam("learningRate", 0.1),
      /no hyperparameter "learningRate" \(this chain has no injectHyperparams part\)/,
    );
    for (const o of [opt, lopt, bare]) o.dispose();
    m.dispose();
    loaded.dispose();
    tf.dispose([xs, ys]);
  },
);

testOnBackends(
  "masks and label maps built from a model survive freezing and unfreezing a layer",
  async () => {
    const { xs, ys } = tinyData(8);
    const fit = (m: tf.LayersModel) => m.fit(xs, ys, { epochs: 1, verbose: 0 });
    const hidden = (m: tf.LayersModel) => m.layers[2]!;
    const builders: [string, (m: tf.LayersModel) => tf.Optimizer][] = [
      ["adamw + decayMask", (m) =>
        new ChainOptimizer(
          adamw(0.01, { weightDecay: 0.1, weightDecayMask: decayMask(m) }),
        )],
      ["masked + mask", (m) =>
        new ChainOptimizer(
          masked(
            trace(0.9) as never,
            mask(m, byRole("kernel")),
          ) as never,
        )],
      ["fineTuning", (m) =>
        new ChainOptimizer(
          fineTuning(m, { head: byLayer(m.layers[3]!.name), gc: false }),
        )],
    ];
    for (const [what, build] of builders) {
      // built, then a layer frozen before the first step
      const a = tinyModel(4);
      const optA = build(a);
      hidden(a).trainable = false;
      a.compile({ optimizer: optA, loss: "categoricalCrossentropy" });
      const frozenBefore = await hidden(a).getWeights()[0]!.data();
      await fit(a);
      assertClose(await hidden(a).getWeights()[0]!.data(), frozenBefore, {
        rtol: 0,
        atol: 0,
        what,
      });
      hidden(a).trainable = true;
      a.compile({ optimizer: optA, loss: "categoricalCrossentropy" });
      await fit(a);
      assert.ok(
        (await hidden(a).getWeights()[0]!.data()).some((v, i) =>
          v !== frozenBefore[i]
        ),
        `${what}: the unfrozen layer trains`,
      );
      // built while frozen, then unfrozen
      const b = tinyModel(4);
      hidden(b).trainable = false;
      const optB = build(b);
      b.compile({ optimizer: optB, loss: "categoricalCrossentropy" });
      await fit(b);
      hidden(b).trainable = true;
      b.compile({ optimizer: optB, loss: "categoricalCrossentropy" });
      const before = await hidden(b).getWeights()[0]!.data();
      await fit(b);
      const after = await hidden(b).getWeights()[0]!.data();
      assert.ok(
        after.some((v, i) => v !== before[i]),
        `${what}: the unfrozen layer trains`,
      );
      optA.dispose();
      optB.dispose();
      a.dispose();
      b.dispose();
    }
    // a map built while a layer is frozen still covers it
    const m = tinyModel(4);
    hidden(m).trainable = false;
    const kernel = hidden(m).getWeights()[0]!;
    const name = m.getLayer(hidden(m).name).weights[0]!.name;
    assert.equal(decayMask(m)[name], true);
    assert.equal(mask(m, byRole("kernel"))[name], true);
    assert.ok(kernel.shape.length === 2);
    m.dispose();
    release(xs, ys);
  },
);
