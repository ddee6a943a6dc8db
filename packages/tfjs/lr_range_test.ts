import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  chain,
  injectHyperparams,
  scaleByLearningRate,
  sgd,
  stateless,
} from "@centra/chain";
import { testOnBackends } from "@centra/testing/mod.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { lrRangeTest } from "./lr_range.ts";

let count = 0;

/** Dense -> batch norm -> dense softmax, seeded; names unique per call. */
function bnModel(): tf.Sequential {
  const p = `lrr${count++}`;
  return tf.sequential({
    layers: [
      tf.layers.dense({
        name: `${p}_fc1`,
        units: 6,
        inputShape: [5],
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.batchNormalization({ name: `${p}_bn` }),
      tf.layers.reLU({ name: `${p}_relu` }),
      tf.layers.dense({
        name: `${p}_fc2`,
        units: 3,
        activation: "softmax",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
}

function bnData(n = 40): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  return tf.tidy(() => {
    const xs = tf.randomNormal([n, 5], 0, 1, "float32", 3) as tf.Tensor2D;
    const ys = tf.oneHot(tf.argMax(xs.slice([0, 0], [n, 3]), 1), 3);
    return { xs, ys: ys as tf.Tensor2D };
  });
}

/**
 * Every weight's bits (float32 as uint32, so -0 and NaN compare exactly),
 * read asynchronously (WebGPU in Deno has no dataSync).
 */
async function bits(tensors: readonly tf.Tensor[]): Promise<number[][]> {
  const out: number[][] = [];
  for (const t of tensors) {
    out.push(Array.from(new Uint32Array((await t.data()).slice().buffer)));
  }
  return out;
}

async function optimizerBits(opt: ChainOptimizer) {
  const ws = await opt.getWeights();
  const out = [];
  for (const w of ws) {
    out.push({ name: w.name, bits: (await bits([w.tensor]))[0] });
  }
  return out;
}

testOnBackends(
  "lrRangeTest() puts back weights, batch-norm statistics and the optimizer bit for bit",
  async () => {
    const model = bnModel();
    const twin = bnModel();
    twin.setWeights(model.getWeights());
    const opt = ChainOptimizer.from("adam", { learningRate: 0.01, gc: true });
    const opt2 = ChainOptimizer.from("adam", { learningRate: 0.01, gc: true });
    model.compile({ optimizer: opt, loss: "categoricalCrossentropy" });
    twin.compile({ optimizer: opt2, loss: "categoricalCrossentropy" });
    const { xs, ys } = bnData();
    const fit = (m: tf.LayersModel) =>
      m.fit(xs, ys, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
    await fit(model);
    await fit(twin);

    const weights = await bits(model.weights.map((w) => w.read()));
    const state = await optimizerBits(opt);
    const iterations = opt.iterations;
    const tensors = tf.memory().numTensors;
    const r = await lrRangeTest(model, { xs, ys }, {
      minLr: 1e-5,
      maxLr: 1,
      steps: 12,
      batchSize: 8,
    });
    assert.equal(r.learningRates.length, 12);
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual(await bits(model.weights.map((w) => w.read())), weights);
    assert.deepEqual(await optimizerBits(opt), state);
    assert.equal(opt.iterations, iterations);
    assert.equal(model.optimizer, opt);

    // and training goes on exactly as if the test had not run
    await fit(model);
    await fit(twin);
    assert.deepEqual(
      await bits(model.weights.map((w) => w.read())),
      await bits(twin.weights.map((w) => w.read())),
    );
    tf.dispose([xs, ys]);
    opt.dispose();
    opt2.dispose();
    model.dispose();
    twin.dispose();
  },
);

/**
 * y = w·x with MSE and plain SGD: the loss of each batch, before its update,
 * in float64 from w_{i+1} = w_i − lr_i · mean(2(w_i·x − y)·x).
 */
function linearReference(
  xs: number[],
  lrs: number[],
  batch: number,
  w0: number,
): number[] {
  let w = w0;
  return lrs.map((lr, i) => {
    const start = (i * batch) % xs.length;
    const b = xs.slice(start, start + batch);
    const loss = b.reduce((s, x) => s + (w * x - 2 * x) ** 2, 0) / b.length;
    const grad = b.reduce((s, x) => s + 2 * (w * x - 2 * x) * x, 0) /
      b.length;
    w -= lr * grad;
    return loss;
  });
}

function linearModel(w0: number): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        name: `lrr${count++}_w`,
        units: 1,
        inputShape: [1],
        useBias: false,
        kernelInitializer: tf.initializers.constant({ value: w0 }),
      }),
    ],
  });
  return model;
}

testOnBackends(
  "lrRangeTest() sweeps the rate exponentially; each loss is its batch's before the update (float64 reference)",
  async () => {
    const x = [0.5, -1, 1.5, 0.25, -0.75, 1];
    const model = linearModel(0.5);
    const opt = ChainOptimizer.from("sgd", { learningRate: 0.1 });
    model.compile({ optimizer: opt, loss: "meanSquaredError" });
    const xs = tf.tensor2d(x, [6, 1]);
    const ys = tf.tensor2d(x.map((v) => 2 * v), [6, 1]);
    const r = await lrRangeTest(model, { xs, ys }, {
      minLr: 1e-3,
      maxLr: 1,
      steps: 10,
      batchSize: 4,
      divergeFactor: Infinity,
    });
    assert.equal(r.learningRates.length, 10);
    assert.equal(r.diverged, false);
    for (let i = 0; i < 10; i++) {
      const want = 1e-3 * 1000 ** (i / 9);
      assert.ok(Math.abs(r.learningRates[i]! / want - 1) < 1e-12, `lr ${i}`);
    }
    // batches of 4 from 6 examples: [0..4), [4..6), [2..6), [0..4), ...
    const ref = linearReference(x, r.learningRates, 4, 0.5);
    r.losses.forEach((l, i) =>
      assert.ok(
        Math.abs(l - ref[i]!) <= 1e-5 * Math.max(1, ref[i]!),
        `step ${i}: ${l} vs ${ref[i]}`,
      )
    );
    // smoothing: the bias-corrected average starts at the first loss
    assert.ok(Math.abs(r.smoothed[0]! - r.losses[0]!) < 1e-9);
    assert.ok(r.minimum.loss <= Math.min(...r.smoothed));
    tf.dispose([xs, ys]);
    opt.dispose();
    model.dispose();
  },
);

testOnBackends(
  "lrRangeTest() stops when the loss diverges, suggests a rate below the stability limit, and restores",
  async () => {
    // For y = w·x with MSE, SGD diverges once lr > 1/mean(x²) = 1/1 here;
    // the targets' noise (orthogonal to x) keeps the loss above 0.
    const x = Array.from({ length: 32 }, (_, i) => (i % 2 === 0 ? 1 : -1));
    const noise = x.map((_, i) => (i % 4 < 2 ? 0.1 : -0.1));
    const model = linearModel(-3);
    const opt = ChainOptimizer.from("sgd", { learningRate: 0.1 });
    model.compile({ optimizer: opt, loss: "meanSquaredError" });
    const xs = tf.tensor2d(x, [32, 1]);
    const ys = tf.tensor2d(x.map((v, i) => 2 * v + noise[i]!), [32, 1]);
    const before = await bits(model.weights.map((w) => w.read()));
    const tensors = tf.memory().numTensors;
    const r = await lrRangeTest(model, { xs, ys }, {
      minLr: 1e-4,
      maxLr: 100,
      steps: 100,
      batchSize: 8,
    });
    assert.equal(r.diverged, true);
    assert.ok(r.learningRates.length < 100);
    assert.ok(r.learningRates.at(-1)! > 1, `${r.learningRates.at(-1)}`);
    assert.ok(r.suggestion !== null && r.suggestion < 1, `${r.suggestion}`);
    assert.ok(r.learningRates.includes(r.minimum.learningRate));
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual(await bits(model.weights.map((w) => w.read())), before);
    tf.dispose([xs, ys]);
    opt.dispose();
    model.dispose();
  },
);

testOnBackends(
  "lrRangeTest() rethrows what a step throws, after restoring everything",
  async () => {
    let calls = 0;
    const tx = injectHyperparams(
      (hp) =>
        chain(
          stateless((u) => {
            if (++calls === 3) throw new Error("step 3 failed");
            return u;
          }),
          scaleByLearningRate(hp.learningRate!),
        ),
      { learningRate: 0.1 },
    );
    const model = bnModel();
    const opt = new ChainOptimizer(tx);
    model.compile({ optimizer: opt, loss: "categoricalCrossentropy" });
    const { xs, ys } = bnData();
    const before = await bits(model.weights.map((w) => w.read()));
    const tensors = tf.memory().numTensors;
    await assert.rejects(
      lrRangeTest(model, { xs, ys }, { steps: 10 }),
      /step 3 failed/,
    );
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual(await bits(model.weights.map((w) => w.read())), before);
    assert.equal(model.optimizer, opt);
    assert.equal(opt.state, null, "the model's optimizer was never stepped");
    // ChainOptimizer.minimize (fit's and trainOnBatch's step): a step that
    // throws frees the gradients and the loss
    calls = 2;
    assert.throws(
      () =>
        opt.minimize(() =>
          tf.losses.softmaxCrossEntropy(
            ys,
            // not training: batch norm would update its statistics
            model.apply(xs, { training: false }) as tf.Tensor,
          ) as tf.Scalar
        ),
      /step 3 failed/,
    );
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual(await bits(model.weights.map((w) => w.read())), before);
    tf.dispose([xs, ys]);
    opt.dispose();
    model.dispose();
  },
);

testOnBackends(
  "lrRangeTest() refuses bad input by name, changing nothing",
  async () => {
    const model = bnModel();
    const { xs, ys } = bnData(8);
    const before = await bits(model.weights.map((w) => w.read()));
    const refuse = async (
      options: Record<string, unknown>,
      err: RegExp,
      type: typeof TypeError | typeof RangeError,
      data: { xs: tf.Tensor; ys: tf.Tensor } = { xs, ys },
    ) => {
      const tensors = tf.memory().numTensors;
      await assert.rejects(
        lrRangeTest(model, data, options),
        (e: Error) => e instanceof type && err.test(e.message),
      );
      assert.equal(tf.memory().numTensors, tensors, String(err));
      assert.deepEqual(await bits(model.weights.map((w) => w.read())), before);
    };
    await refuse({}, /an uncompiled model/, TypeError);
    model.compile({ optimizer: "sgd", loss: "categoricalCrossentropy" });
    await refuse(
      {},
      /compiled with a ChainOptimizer, got SGDOptimizer/,
      TypeError,
    );
    const bare = new ChainOptimizer(sgd(0.1));
    model.compile({ optimizer: bare, loss: "categoricalCrossentropy" });
    await refuse({}, /no injected learningRate/, TypeError);
    const opt = ChainOptimizer.from("sgd", { learningRate: 0.1 });
    model.compile({ optimizer: opt, loss: "categoricalCrossentropy" });
    await refuse(
      { minLr: 0 },
      /minLr must be a finite number > 0, got 0/,
      RangeError,
    );
    await refuse({ maxLr: Infinity }, /maxLr .* got Infinity/, RangeError);
    await refuse(
      { minLr: 1, maxLr: 0.5 },
      /maxLr must be above minLr, got minLr 1 and maxLr 0.5/,
      RangeError,
    );
    await refuse(
      { steps: 1 },
      /steps must be an integer >= 2, got 1/,
      RangeError,
    );
    await refuse({ batchSize: 2.5 }, /batchSize .* got 2.5/, RangeError);
    await refuse(
      { smoothing: 1 },
      /smoothing must be in \[0, 1\), got 1/,
      RangeError,
    );
    await refuse({ divergeFactor: 1 }, /divergeFactor .* got 1/, RangeError);
    await refuse({ stepz: 3 }, /unknown option "stepz"/, TypeError);
    const short = ys.slice(0, 4);
    await refuse({}, /same number of examples/, RangeError, { xs, ys: short });
    short.dispose();
    const scheduled = ChainOptimizer.from("sgd", {
      learningRate: { schedule: "cosineDecay", initValue: 0.1, decaySteps: 10 },
    });
    model.compile({ optimizer: scheduled, loss: "categoricalCrossentropy" });
    await refuse({ steps: 3 }, /learningRate follows a schedule/, TypeError);
    assert.equal(scheduled.state, null);
    tf.dispose([xs, ys]);
    bare.dispose();
    opt.dispose();
    scheduled.dispose();
    model.dispose();
  },
);
