import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adam,
  chain,
  type GradientTransformation,
  scaleByLearningRate,
  sgd,
  trace,
} from "@centra/chain";
import { assertClose, testOnBackends, withStep } from "@centra/testing/mod.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { registerChain } from "./register_chain.ts";
import {
  memoryIO,
  readWeights,
  release,
  tinyData,
  tinyModel,
} from "./_test_utils.ts";

const compileArgs = (optimizer: tf.Optimizer) => ({
  optimizer,
  loss: "categoricalCrossentropy",
  metrics: ["accuracy"],
});

/** Two models with the same initial weights. */
function twins(seed: number): [tf.Sequential, tf.Sequential] {
  const a = tinyModel(seed);
  const b = tinyModel(seed);
  b.setWeights(a.getWeights());
  return [a, b];
}

/** Agreement to float32 rounding over a few steps (fused against op by op). */
const FLOAT32 = { rtol: 1e-4, atol: 1e-5 };

function exact(backend: string): { rtol: number; atol: number } {
  // cpu is bit-exact; WebGPU kernels may reassociate sums.
  return backend === "cpu" ? { rtol: 0, atol: 0 } : { rtol: 1e-4, atol: 1e-5 };
}

async function assertSameWeights(
  a: tf.LayersModel,
  b: tf.LayersModel,
  tol: { rtol: number; atol: number },
) {
  const wa = await readWeights(a);
  const wb = await readWeights(b);
  assert.equal(wa.length, wb.length);
  wa.forEach((w, i) => assertClose(w, wb[i]!, { ...tol, what: `weight ${i}` }));
}

for (const fused of [false, true]) {
  testOnBackends(
    `ChainOptimizer(sgd momentum) in fit matches tf.train.momentum (${
      fused ? "fused, to float32 rounding" : "op by op, bit for bit on cpu"
    })`,
    async (backend) => {
      const { xs, ys } = tinyData();
      const [a, b] = twins(3);
      const ours = ChainOptimizer.from("sgd", {
        learningRate: 0.1,
        momentum: 0.9,
      }, { fused });
      const theirs = tf.train.momentum(0.1, 0.9);
      a.compile(compileArgs(ours));
      b.compile(compileArgs(theirs));
      const ha = await a.fit(xs, ys, {
        epochs: 3,
        batchSize: 8,
        shuffle: false,
        verbose: 0,
      });
      const hb = await b.fit(xs, ys, {
        epochs: 3,
        batchSize: 8,
        shuffle: false,
        verbose: 0,
      });
      // fused kernels round once per output, not once per op
      const tol = fused ? FLOAT32 : exact(backend);
      await assertSameWeights(a, b, tol);
      assertClose(ha.history.loss as number[], hb.history.loss as number[], {
        ...tol,
        what: "loss",
      });
      assert.equal(ours.iterations, 6);
      ours.dispose();
      theirs.dispose();
      release(a, b, xs, ys);
    },
  );
}

testOnBackends(
  "ChainOptimizer(adam) in fit matches tf.train.adam",
  async () => {
    const { xs, ys } = tinyData();
    const [a, b] = twins(4);
    const ours = ChainOptimizer.from("adam", { learningRate: 0.01, eps: 1e-7 });
    const theirs = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
    a.compile(compileArgs(ours));
    b.compile(compileArgs(theirs));
    await a.fit(xs, ys, {
      epochs: 2,
      batchSize: 8,
      shuffle: false,
      verbose: 0,
    });
    await b.fit(xs, ys, {
      epochs: 2,
      batchSize: 8,
      shuffle: false,
      verbose: 0,
    });
    // Adam's bias correction is computed differently (tfjs keeps running
    // powers), so the match is to float32 rounding, not bit-exact.
    await assertSameWeights(a, b, { rtol: 1e-4, atol: 1e-5 });
    ours.dispose();
    theirs.dispose();
    release(a, b, xs, ys);
  },
);

testOnBackends(
  "ChainOptimizer works in minimize and applyGradients with a map or a list",
  async () => {
    const w = tf.variable(tf.tensor1d([1, -2]), true, "co_test_min/w");
    const target = tf.tensor1d([3, 3]);
    const opt = ChainOptimizer.from("sgd", { learningRate: 0.1 });
    const loss = opt.minimize(
      () => tf.sum(tf.square(tf.sub(w, target))),
      true,
      [w],
    );
    assert.ok(loss !== null);
    assertClose(await loss.data(), [4 + 25]);
    // w - 0.1 * 2 (w - target)
    assertClose(await w.data(), [1.4, -1]);
    opt.applyGradients({ [w.name]: tf.tensor1d([1, 1]) });
    assertClose(await w.data(), [1.3, -1.1]);
    opt.applyGradients([{ name: w.name, tensor: tf.tensor1d([-1, 0]) }]);
    assertClose(await w.data(), [1.4, -1.1]);
    assert.equal(opt.iterations, 3);
    opt.dispose();
    tf.dispose([w, loss, target]);
  },
);

testOnBackends(
  "ChainOptimizer keeps working when a layer is frozen and the model recompiled (tfjs crashes)",
  async () => {
    const { xs, ys } = tinyData();
    for (
      const make of [
        () => tf.train.momentum(0.1, 0.9),
        () => tf.train.adam(0.01),
      ]
    ) {
      const m = tinyModel(5);
      const opt = make();
      m.compile(compileArgs(opt));
      await m.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
      m.layers[0]!.trainable = false;
      m.compile(compileArgs(opt));
      await assert.rejects(
        m.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 }),
        `tfjs ${opt.getClassName()}`,
      );
      opt.dispose();
      m.dispose();
    }

    const m = tinyModel(5);
    const opt = ChainOptimizer.from("sgd", {
      learningRate: 0.1,
      momentum: 0.9,
    });
    m.compile(compileArgs(opt));
    await m.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
    const convName = m.layers[0]!.getWeights()[0]!;
    const frozenBefore = await convName.data();
    m.layers[0]!.trainable = false;
    m.compile(compileArgs(opt));
    await m.fit(xs, ys, { epochs: 2, batchSize: 8, verbose: 0 });
    assertClose(await m.layers[0]!.getWeights()[0]!.data(), frozenBefore, {
      rtol: 0,
      atol: 0,
      what: "frozen kernel",
    });
    assert.equal(opt.iterations, 6);
    // The frozen layer's momentum is kept, and used again once it trains.
    m.layers[0]!.trainable = true;
    m.compile(compileArgs(opt));
    const h = await m.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
    assert.ok(Number.isFinite(h.history.loss![0] as number));
    assert.equal(opt.variableNames.length, 6);
    opt.dispose();
    release(m, xs, ys);
  },
);

testOnBackends(
  "ChainOptimizer: a variable seen later gets its own fresh state",
  async () => {
    const a = tf.variable(tf.tensor1d([0, 0]), true, "co_test_late/a");
    const b = tf.variable(tf.tensor2d([[0, 0]]), true, "co_test_late/b");
    const opt = ChainOptimizer.from("sgd", { learningRate: 1, momentum: 0.5 });
    opt.applyGradients({ [a.name]: tf.ones([2]) }); // m_a = 1
    opt.applyGradients({ [a.name]: tf.ones([2]), [b.name]: tf.ones([1, 2]) }); // m_a = 1.5, m_b = 1
    assertClose(await a.data(), [-2.5, -2.5]);
    assertClose(await b.data(), [-1, -1]);
    assert.deepEqual(opt.variableNames, [a.name, b.name]);
    opt.dispose();
    release(a, b);
  },
);

testOnBackends(
  "ChainOptimizer: save with includeOptimizer, load, train on = uninterrupted training",
  async (backend) => {
    const { xs, ys } = tinyData(24);
    const [a, b] = twins(6);
    const fitArgs = { batchSize: 8, shuffle: false, verbose: 0 as const };
    const spec = {
      learningRate: {
        schedule: "cosineDecay",
        initValue: 0.05,
        decaySteps: 12,
      },
      momentum: 0.9,
      gc: true,
    };
    const optA = ChainOptimizer.from("sgd", spec);
    a.compile(compileArgs(optA));
    await a.fit(xs, ys, { ...fitArgs, epochs: 4 });

    const optB = ChainOptimizer.from("sgd", spec);
    b.compile(compileArgs(optB));
    await b.fit(xs, ys, { ...fitArgs, epochs: 2 });
    const io = memoryIO();
    await b.save(io.save, { includeOptimizer: true });
    const artifacts = io.artifacts();
    assert.equal(
      (artifacts.trainingConfig?.optimizer_config as { class_name?: string })
        .class_name,
      "centra.ChainOptimizer",
    );
    const specs = artifacts.weightSpecs!.filter((s) => s.group === "optimizer")
      .map((s) => s.name);
    assert.equal(specs[0], "iter");
    assert.ok(
      specs.some((n) => n.endsWith("/kernel/inner/2/trace")),
      specs.join(", "),
    );
    const c = await tf.loadLayersModel(io.load());
    const optC = c.optimizer as ChainOptimizer;
    assert.ok(optC instanceof ChainOptimizer);
    assert.equal(optC.iterations, 6);
    await c.fit(xs, ys, { ...fitArgs, epochs: 2 });
    await assertSameWeights(a, c, exact(backend));
    assert.deepEqual(
      await optC.readHyperparams(),
      await optA.readHyperparams(),
    );
    for (const o of [optA, optB, optC]) o.dispose();
    release(a, b, c, xs, ys);
  },
);

registerChain(
  "co_test_custom",
  (o) => chain(trace(Number(o.decay_rate)), scaleByLearningRate(Number(o.lr))),
);

testOnBackends(
  "ChainOptimizer: a custom registered chain round-trips, underscores and all",
  async () => {
    const opt = ChainOptimizer.from("co_test_custom", {
      decay_rate: 0.5,
      lr: 1,
      note: "snake_case_value",
    });
    const m = tinyModel(8);
    m.compile(compileArgs(opt));
    const { xs, ys } = tinyData(8);
    await m.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
    const io = memoryIO();
    await m.save(io.save, { includeOptimizer: true });
    const loaded = await tf.loadLayersModel(io.load());
    const lopt = loaded.optimizer as ChainOptimizer;
    assert.deepEqual(lopt.spec, {
      name: "co_test_custom",
      options: { decay_rate: 0.5, lr: 1, note: "snake_case_value" },
    });
    await loaded.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
    assert.equal(lopt.iterations, 2);
    opt.dispose();
    lopt.dispose();
    release(m, loaded, xs, ys);
  },
);

testOnBackends(
  "ChainOptimizer.dispose() returns tf.memory() to where it was; no growth per step or save",
  async () => {
    const { xs, ys } = tinyData(8);
    const m = tinyModel(9);
    const x = tf.tidy(() => xs.slice(0, 4));
    const y = tf.tidy(() => ys.slice(0, 4));
    const base = tf.memory().numTensors;
    const opt = ChainOptimizer.from("adam", { learningRate: 1e-3, gc: true });
    m.compile(compileArgs(opt));
    await m.trainOnBatch(x, y).then(tf.dispose);
    const afterOne = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) tf.dispose(await m.trainOnBatch(x, y));
    assert.equal(tf.memory().numTensors, afterOne, "per step");
    const io = memoryIO();
    await m.save(io.save, { includeOptimizer: true });
    const afterSave = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await m.save(io.save, { includeOptimizer: true });
    }
    assert.equal(tf.memory().numTensors, afterSave, "per save");
    opt.dispose();
    assert.equal(tf.memory().numTensors, base, "after dispose");
    assert.throws(() => opt.applyGradients({}), /disposed/);
    release(m, xs, ys, x, y);
  },
);

testOnBackends(
  "ChainOptimizer: a failed step leaves weights and state exactly as they were",
  async () => {
    const w = tf.variable(
      tf.tensor2d([[1, 2], [3, 4]]),
      true,
      "co_test_fail/w",
    );
    const v = tf.variable(tf.tensor1d([5]), true, "co_test_fail/v");
    let explode = false, misshape = false;
    const inner = chain(trace(0.9), scaleByLearningRate(0.1));
    const tx: GradientTransformation<unknown> = {
      init: (p) => inner.init(p),
      update: (u, s, p) => {
        if (explode) throw new Error("boom");
        const [out, next] = inner.update(u, s as unknown[], p);
        if (!misshape) return [out, next];
        return [{ [w.name]: tf.reshape(out[w.name]!, [4]) }, next];
      },
    };
    const opt = new ChainOptimizer(tx);
    opt.applyGradients({ [w.name]: tf.ones([2, 2]) });
    const snapshot = async () => ({
      w: Array.from(await w.data()),
      v: Array.from(await v.data()),
      state: await opt.getWeights().then((ws) =>
        Promise.all(
          ws.map(async (x) => [x.name, Array.from(await x.tensor.data())]),
        )
      ),
      n: tf.memory().numTensors,
    });
    const before = await snapshot();
    assert.throws(
      () => opt.applyGradients({ [w.name]: tf.ones([3]) }),
      TypeError,
    );
    assert.throws(
      () => opt.applyGradients({ "co_test_fail/none": tf.ones([3]) }),
      /no variable named "co_test_fail\/none"/,
    );
    assert.throws(
      () => opt.applyGradients({ [w.name]: tf.ones([2, 2], "int32") }),
      /float32/,
    );
    assert.throws(
      () =>
        opt.applyGradients([{ name: w.name, tensor: tf.ones([2, 2]) }, {
          name: w.name,
          tensor: tf.ones([2, 2]),
        }]),
      /twice/,
    );
    // A chain that returns a wrong-shaped update is refused before its new
    // state replaces the old one.
    misshape = true;
    assert.throws(
      () => opt.applyGradients({ [w.name]: tf.ones([2, 2]) }),
      (e: unknown) => e instanceof TypeError && /shape \[4\]/.test(e.message),
    );
    misshape = false;
    explode = true;
    assert.throws(
      () => opt.applyGradients({ [w.name]: tf.ones([2, 2]) }),
      /boom/,
    );
    // A new variable joining the failed step must not stay behind either.
    assert.throws(
      () =>
        opt.applyGradients({
          [w.name]: tf.ones([2, 2]),
          [v.name]: tf.ones([1]),
        }),
      /boom/,
    );
    const after = await snapshot();
    // The gradients created for the calls above are the only new tensors.
    assert.deepEqual({ ...after, n: 0 }, { ...before, n: 0 });
    assert.deepEqual(opt.variableNames, [w.name]);
    explode = false;
    opt.dispose();
    tf.dispose([w, v]);
  },
);

testOnBackends(
  "ChainOptimizer: getConfig names its spec; a bare chain cannot be saved",
  () => {
    const opt = ChainOptimizer.from("adamw", {
      learningRate: 1e-3,
      weightDecay: 0.01,
      gc: "conv",
    });
    const config = opt.getConfig();
    assert.equal(config.name, "adamw");
    const back = ChainOptimizer.fromConfig<ChainOptimizer>(
      ChainOptimizer,
      config,
    );
    assert.deepEqual(back.spec, opt.spec);
    assert.throws(() => new ChainOptimizer(trace(0.9)).getConfig(), TypeError);
    assert.throws(
      () => ChainOptimizer.from("sgd", { learningRate: 0.1, momentun: 0.9 }),
      /unknown option "momentun"/,
    );
    assert.throws(() => ChainOptimizer.from("nope"), /no chain named "nope"/);
    assert.throws(
      () => ChainOptimizer.from("sgd", { learningRate: -1 }),
      RangeError,
    );
    assert.throws(
      () => new ChainOptimizer(null as unknown as GradientTransformation),
      TypeError,
    );
    assert.equal(ChainOptimizer.className, "centra.ChainOptimizer");
    for (
      const builtin of [
        "SGD",
        "Momentum",
        "Adam",
        "Adagrad",
        "Adadelta",
        "Adamax",
        "RMSProp",
      ]
    ) {
      assert.notEqual(ChainOptimizer.className, builtin);
    }
    opt.dispose();
    back.dispose();
  },
);

testOnBackends(
  "ChainOptimizer.setWeights restores state onto renamed variables and rejects mismatches",
  async () => {
    const a = tf.variable(tf.zeros([2]), true, "co_test_rename/k");
    const opt = ChainOptimizer.from("sgd", { learningRate: 1, momentum: 0.5 });
    opt.applyGradients({ [a.name]: tf.ones([2]) }); // m = 1
    const saved = (await opt.getWeights()).map((w) => ({
      name: w.name,
      tensor: w.tensor.clone(),
    }));
    // tfjs renames a reloaded variable "<name>_<n>".
    const b = tf.variable(tf.zeros([2]), true, "co_test_rename/k_1");
    const opt2 = ChainOptimizer.from("sgd", { learningRate: 1, momentum: 0.5 });
    await opt2.setWeights(saved);
    assert.equal(opt2.iterations, 1);
    opt2.applyGradients({ [b.name]: tf.ones([2]) }); // m = 1.5
    assertClose(await b.data(), [-1.5, -1.5]);

    const opt3 = ChainOptimizer.from("adam", { learningRate: 1 });
    await opt3.setWeights(saved);
    const c = tf.variable(tf.zeros([2]), true, "co_test_rename/c");
    assert.throws(
      () => opt3.applyGradients({ [c.name]: tf.ones([2]) }),
      TypeError,
    );
    assertClose(await c.data(), [0, 0]);
    tf.dispose(saved.map((s) => s.tensor));
    for (const o of [opt, opt2, opt3]) o.dispose();
    release(a, b, c);
  },
);

testOnBackends(
  "ChainOptimizer.setHyperparam changes the learning rate for the next steps",
  async () => {
    const w = tf.variable(tf.zeros([1]), true, "co_test_hp/w");
    const opt = ChainOptimizer.from("sgd", { learningRate: 1 });
    // before the first step too (issue 12, item 10): the first step uses it
    assert.deepEqual(await opt.readHyperparams(), { learningRate: 1 });
    opt.setHyperparam("learningRate", 0.25);
    assert.deepEqual(await opt.readHyperparams(), { learningRate: 0.25 });
    opt.applyGradients({ [w.name]: tf.ones([1]) });
    assertClose(await w.data(), [-0.25]);
    opt.setHyperparam("learningRate", 0.5);
    opt.applyGradients({ [w.name]: tf.ones([1]) });
    assertClose(await w.data(), [-0.75]);
    assert.deepEqual(await opt.readHyperparams(), { learningRate: 0.5 });
    assert.throws(
      () => opt.setHyperparam("momentum", 0.5),
      /no hyperparameter "momentum"/,
    );
    assert.throws(
      () => opt.setHyperparam("learningRate", Number.NaN),
      RangeError,
    );
    opt.dispose();
    w.dispose();
  },
);

testOnBackends(
  "ChainOptimizer.setWeights keeps the state of a variable not trained yet, until it is",
  async () => {
    const a = tf.variable(tf.zeros([2]), true, "co_test_pending/a");
    const b = tf.variable(tf.zeros([3]), true, "co_test_pending/b");
    const opt = ChainOptimizer.from("sgd", { learningRate: 1, momentum: 0.5 });
    opt.applyGradients({ [a.name]: tf.ones([2]), [b.name]: tf.ones([3]) }); // m = 1 each
    const saved = (await opt.getWeights()).map((w) => ({
      name: w.name,
      tensor: w.tensor.clone(),
    }));
    opt.dispose();

    const opt2 = ChainOptimizer.from("sgd", { learningRate: 1, momentum: 0.5 });
    await opt2.setWeights(saved);
    tf.dispose(saved.map((s) => s.tensor));
    tf.tidy(() => {
      a.assign(tf.zeros([2]));
      b.assign(tf.zeros([3]));
    });
    opt2.applyGradients({ [a.name]: tf.ones([2]) }); // b frozen: m_a = 1.5
    assert.deepEqual(
      (await opt2.getWeights()).map((w) => w.name).filter((n) =>
        n.startsWith(b.name)
      ),
      [`${b.name}/inner/1/trace`],
    );
    opt2.applyGradients({ [a.name]: tf.ones([2]), [b.name]: tf.ones([3]) }); // m_a = 1.75, m_b = 1.5
    assertClose(await a.data(), [-3.25, -3.25]);
    assertClose(await b.data(), [-1.5, -1.5, -1.5]);

    // A checkpoint taken before any step holds only the step count.
    const unused = ChainOptimizer.from("sgd", { learningRate: 1 });
    const opt3 = ChainOptimizer.from("sgd", { learningRate: 1 });
    await opt3.setWeights(await unused.getWeights());
    unused.dispose();
    opt3.applyGradients({ [a.name]: tf.ones([2]) });
    assert.equal(opt3.iterations, 1);
    opt2.dispose();
    opt3.dispose();
    tf.dispose([a, b]);
  },
);

testOnBackends(
  "ChainOptimizer takes the chain's step in fit and trains exactly as without it",
  async (backend) => {
    const { xs, ys } = tinyData();
    const [a, b] = twins(11);
    const stepped = withStep(adam(0.01, { gc: true }));
    const ours = new ChainOptimizer(stepped.tx);
    const plain = new ChainOptimizer(adam(0.01, { gc: true }), {
      fused: false,
    });
    a.compile(compileArgs(ours));
    b.compile(compileArgs(plain));
    const fitArgs = {
      epochs: 2,
      batchSize: 8,
      shuffle: false,
      verbose: 0 as const,
    };
    const ha = await a.fit(xs, ys, fitArgs);
    const hb = await b.fit(xs, ys, fitArgs);
    await assertSameWeights(a, b, exact(backend));
    assertClose(ha.history.loss as number[], hb.history.loss as number[], {
      ...exact(backend),
      what: "loss",
    });
    assert.ok(
      (ha.history.loss![1] as number) < (ha.history.loss![0] as number),
      "the loss goes down",
    );
    assert.deepEqual(stepped.calls, { step: 4, update: 0 });
    assert.equal(ours.iterations, 4);
    // The step path keeps memory flat too.
    const x = tf.tidy(() => xs.slice(0, 4));
    const y = tf.tidy(() => ys.slice(0, 4));
    tf.dispose(await a.trainOnBatch(x, y));
    const n = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) tf.dispose(await a.trainOnBatch(x, y));
    assert.equal(tf.memory().numTensors, n, "per step");
    ours.dispose();
    plain.dispose();
    release(a, b, xs, ys, x, y);
  },
);

testOnBackends(
  "ChainOptimizer: a failed step through the chain's step leaves weights and state exactly as they were",
  async () => {
    const w = tf.variable(
      tf.tensor2d([[1, 2], [3, 4]]),
      true,
      "co_test_step_fail/w",
    );
    const v = tf.variable(tf.tensor1d([5]), true, "co_test_step_fail/v");
    let mode = "ok";
    const { tx, calls } = withStep(
      sgd(0.1, { momentum: 0.9 }),
      (values, next) => {
        if (mode === "throw") throw new Error("boom");
        if (mode === "shape") {
          values[w.name] = tf.reshape(values[w.name]!, [4]);
        }
        if (mode === "missing") delete values[w.name];
        if (mode === "extra") values["co_test_step_fail/none"] = tf.zeros([1]);
        return [values, next];
      },
    );
    const opt = new ChainOptimizer(tx);
    const gw = tf.ones([2, 2]);
    const gv = tf.ones([1]);
    opt.applyGradients({ [w.name]: gw });
    const snapshot = async () => ({
      w: Array.from(await w.data()),
      v: Array.from(await v.data()),
      state: await opt.getWeights().then((ws) =>
        Promise.all(
          ws.map(async (x) => [x.name, Array.from(await x.tensor.data())]),
        )
      ),
      names: opt.variableNames,
      iterations: opt.iterations,
      n: tf.memory().numTensors,
    });
    const before = await snapshot();
    const cases: [string, RegExp][] = [
      ["shape", /a new value of shape \[4\] for "co_test_step_fail\/w"/],
      ["missing", /no new value for "co_test_step_fail\/w"/],
      ["extra", /"co_test_step_fail\/none", which had no gradient/],
      ["throw", /boom/],
    ];
    for (const [m, message] of cases) {
      mode = m;
      assert.throws(() => opt.applyGradients({ [w.name]: gw }), message, m);
      assert.deepEqual(await snapshot(), before, m);
      // A new variable joining the failed step must not stay behind either.
      assert.throws(
        () => opt.applyGradients({ [w.name]: gw, [v.name]: gv }),
        message,
        `${m}, with a new variable`,
      );
      assert.deepEqual(await snapshot(), before, `${m}, with a new variable`);
    }
    assert.equal(calls.step, 1 + 2 * cases.length);
    // The state is still good: m = 0.9 + 1, w -= 0.1 m.
    mode = "ok";
    opt.applyGradients({ [w.name]: gw, [v.name]: gv });
    assertClose(await w.data(), [0.71, 1.71, 2.71, 3.71], { rtol: 1e-6 });
    assertClose(await v.data(), [4.9], { rtol: 1e-6 });
    assert.deepEqual(opt.variableNames, [w.name, v.name]);
    assert.equal(calls.update, 0);
    opt.dispose();
    tf.dispose([w, v, gw, gv]);
  },
);
