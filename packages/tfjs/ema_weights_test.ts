// The averaged weights swapped in and out: outside fit (swapEmaWeights,
// withEmaWeights, overwriteWithEmaWeights) and inside it (emaWeights): the
// values swapped in are the optimizer's averages bit for bit, the weights
// come back bit for bit, training is not changed by the callback, the
// validation of each epoch sees the averages, and nothing leaks.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { findEmaParams } from "@centra/chain";
import { testOnBackends } from "@centra/testing/mod.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { memoryIO } from "./_test_utils.ts";
import { reduceLrOnPlateau } from "./reduce_lr_on_plateau.ts";
import {
  emaWeights,
  overwriteWithEmaWeights,
  swapEmaWeights,
  withEmaWeights,
} from "./ema_weights.ts";

let id = 0;

/** A small seeded dense model. */
function model(seed: number): tf.Sequential {
  const p = `ema_weights_test_${id++}`;
  return tf.sequential({
    name: p,
    layers: [
      tf.layers.dense({
        name: `${p}_a`,
        units: 5,
        inputShape: [3],
        activation: "tanh",
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        name: `${p}_b`,
        units: 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

const data = (n: number, seed: number) =>
  tf.tidy(() => {
    const x = tf.randomUniform([n, 3], -1, 1, "float32", seed);
    return { x, y: tf.sum(tf.sin(x), 1, true) };
  });

async function bits(t: tf.Tensor): Promise<number[]> {
  const copy = Float32Array.from(await t.data() as Float32Array);
  return Array.from(new Uint32Array(copy.buffer));
}

/** Every trainable weight's bits, by variable name. */
async function weightBits(
  m: tf.LayersModel,
): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const w of m.trainableWeights) out[w.name] = await bits(w.read());
  return out;
}

/** The optimizer's averages' bits, by variable name. */
async function emaBits(o: ChainOptimizer): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(findEmaParams(o.state)!)) {
    out[k] = await bits(t);
  }
  return out;
}

testOnBackends(
  "swapEmaWeights() and withEmaWeights() put the averages in bit for bit and restore the weights bit for bit, leaving no tensor",
  async () => {
    const m = model(3);
    const opt = ChainOptimizer.from("adam", {
      learningRate: 0.05,
      useEma: true,
      emaMomentum: 0.8,
    });
    m.compile({ optimizer: opt, loss: "meanSquaredError" });
    const { x, y } = data(16, 1);
    await m.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0, shuffle: false });
    const trained = await weightBits(m);
    const averages = await emaBits(opt);
    assert.notDeepEqual(trained, averages);
    const before = tf.memory().numTensors;
    const back = swapEmaWeights(opt);
    assert.deepEqual(await weightBits(m), averages);
    back();
    back(); // idempotent
    assert.deepEqual(await weightBits(m), trained);
    assert.equal(tf.memory().numTensors, before);
    // withEmaWeights: inside, the averages; after, the weights, also on a throw
    const seen = await withEmaWeights(opt, () => weightBits(m));
    assert.deepEqual(seen, averages);
    await assert.rejects(
      withEmaWeights(opt, () => {
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.deepEqual(await weightBits(m), trained);
    assert.equal(tf.memory().numTensors, before);
    // saved with the averages: the saved model holds them
    const io = memoryIO();
    await withEmaWeights(opt, () => m.save(io.save));
    const loaded = await tf.loadLayersModel(io.load());
    assert.deepEqual(
      Object.values(await weightBits(loaded)),
      Object.values(averages),
    );
    loaded.dispose();
    assert.deepEqual(await weightBits(m), trained);
    overwriteWithEmaWeights(opt);
    assert.deepEqual(await weightBits(m), averages);
    opt.dispose();
    tf.dispose([x, y]);
    m.dispose();
  },
);

Deno.test("swapEmaWeights() refuses an optimizer without averages with a TypeError, changing nothing", async () => {
  await tf.setBackend("cpu");
  const m = model(5);
  const plain = ChainOptimizer.from("sgd", { learningRate: 0.1 });
  m.compile({ optimizer: plain, loss: "meanSquaredError" });
  const { x, y } = data(8, 2);
  await m.fit(x, y, { epochs: 1, verbose: 0 });
  const w = await weightBits(m);
  const theirs = tf.train.sgd(0.1);
  const before = tf.memory().numTensors;
  assert.throws(
    () => swapEmaWeights(plain),
    /swapEmaWeights: this optimizer's state holds no average of the weights: build it with useEma: true/,
  );
  assert.throws(
    () => swapEmaWeights(theirs as never),
    /swapEmaWeights: optimizer must be a ChainOptimizer, got SGDOptimizer/,
  );
  const fresh = ChainOptimizer.from("sgd", { learningRate: 0.1, useEma: true });
  assert.throws(() => overwriteWithEmaWeights(fresh), /no average/);
  assert.deepEqual(await weightBits(m), w);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(
    () => emaWeights({ swapOnEpochs: true } as never),
    /unknown option "swapOnEpochs"/,
  );
  assert.throws(
    () => emaWeights({ swapOnEpoch: 1 } as never),
    /swapOnEpoch must be a boolean, got 1/,
  );
  tf.dispose([x, y]);
  theirs.dispose();
  plain.dispose();
  fresh.dispose();
  m.dispose();
});

/** A callback that records, at each epoch's end, weights, averages and an evaluation. */
function probe(
  m: () => tf.LayersModel,
  val: { x: tf.Tensor; y: tf.Tensor },
  seen: {
    w: Record<string, number[]>;
    avg: Record<string, number[]>;
    loss: number;
    logged: number;
  }[],
): tf.Callback {
  return new (class extends tf.Callback {
    override async onEpochEnd(_e: number, logs?: tf.Logs): Promise<void> {
      const model = m();
      const o = model.optimizer as ChainOptimizer;
      const loss = model.evaluate(val.x, val.y) as tf.Scalar;
      const logged = logs?.val_loss as unknown as number | tf.Scalar;
      seen.push({
        w: await weightBits(model),
        avg: await emaBits(o),
        loss: (await loss.data())[0]!,
        logged: typeof logged === "number" ? logged : (await logged.data())[0]!,
      });
      loss.dispose();
    }
  })();
}

testOnBackends(
  "emaWeights() validates each epoch with the averages, swaps back, leaves training as it was, and ends on the averages",
  async () => {
    const { x, y } = data(20, 3);
    const val = data(6, 4);
    const run = async (withCallback: boolean) => {
      const m = model(11);
      const opt = ChainOptimizer.from("sgd", {
        learningRate: 0.1,
        momentum: 0.9,
        useEma: true,
        emaMomentum: 0.7,
      });
      m.compile({ optimizer: opt, loss: "meanSquaredError" });
      const inside: Parameters<typeof probe>[2] = [];
      const after: Parameters<typeof probe>[2] = [];
      const callbacks = withCallback
        ? [
          probe(() => m, val, inside),
          emaWeights(),
          probe(() => m, val, after),
        ]
        : [];
      const h = await m.fit(x, y, {
        epochs: 2,
        batchSize: 8, // 3 batches, the last one short
        verbose: 0,
        shuffle: false,
        validationData: [val.x, val.y],
        callbacks,
      });
      return { m, opt, inside, after, h };
    };
    const plain = await run(false);
    const ema = await run(true);
    for (const [e, s] of ema.inside.entries()) {
      // before emaWeights' onEpochEnd: the averages are in, and the logged
      // validation loss is theirs
      assert.deepEqual(s.w, s.avg, `epoch ${e}: averages swapped in`);
      assert.ok(
        Math.abs(s.logged - s.loss) <= 1e-6 * Math.abs(s.loss),
        `epoch ${e}: val_loss ${s.logged} is the averages' ${s.loss}`,
      );
      // after it: the trained weights are back
      assert.notDeepEqual(ema.after[e]!.w, s.avg, `epoch ${e}: swapped back`);
    }
    // the callback does not change training: same averages as without it,
    // and it ends with them in the weights (overwriteOnTrainEnd)
    // (the two models' variables have different names: compare in order)
    assert.deepEqual(
      Object.values(await emaBits(ema.opt)),
      Object.values(await emaBits(plain.opt)),
    );
    assert.deepEqual(await weightBits(ema.m), await emaBits(ema.opt));
    assert.notDeepEqual(await weightBits(plain.m), await emaBits(plain.opt));
    for (const r of [plain, ema]) {
      r.opt.dispose();
      r.m.dispose();
    }
    tf.dispose([x, y, val.x, val.y]);
  },
);

Deno.test("emaWeights({ swapOnEpoch }) shows the averages to later callbacks, and fitDataset validates with them; tensor count flat", async () => {
  await tf.setBackend("cpu");
  const m = model(21);
  const opt = ChainOptimizer.from("adam", {
    learningRate: 0.02,
    useEma: true,
    emaMomentum: 0.5,
  });
  m.compile({ optimizer: opt, loss: "meanSquaredError" });
  const { x, y } = data(12, 5);
  const val = data(4, 6);
  const after: Parameters<typeof probe>[2] = [];
  const inside: Parameters<typeof probe>[2] = [];
  const ds = tf.data.zip({
    xs: tf.data.array(x.arraySync() as number[][]),
    ys: tf.data.array(y.arraySync() as number[][]),
  }).batch(4).repeat();
  const counts: number[] = [];
  for (let round = 0; round < 3; round++) {
    await m.fitDataset(ds, {
      epochs: 2,
      batchesPerEpoch: 3,
      verbose: 0,
      validationData: [val.x, val.y],
      callbacks: [
        probe(() => m, val, inside),
        emaWeights({ swapOnEpoch: true, overwriteOnTrainEnd: false }),
        probe(() => m, val, after),
      ],
    });
    counts.push(tf.memory().numTensors);
  }
  for (const s of [...inside, ...after]) assert.deepEqual(s.w, s.avg);
  for (const s of inside) {
    assert.ok(Math.abs(s.logged - s.loss) <= 1e-6 * Math.abs(s.loss));
  }
  // swapped back at the end of training: not the averages
  assert.notDeepEqual(await weightBits(m), await emaBits(opt));
  assert.equal(counts[2], counts[1], `numTensors per round: ${counts}`);
  opt.dispose();
  m.dispose();
  tf.dispose([x, y, val.x, val.y]);
});

Deno.test("model.save (includeOptimizer) and tf.loadLayersModel mid-fit: the resumed fit, with useEma, reduceOnPlateau and both callbacks, ends bit for bit where the uninterrupted one ends", async () => {
  await tf.setBackend("cpu");
  const { x, y } = data(12, 8);
  const val = data(4, 9);
  const json = {
    learningRate: 0.05,
    useEma: true,
    emaMomentum: 0.6,
    reduceOnPlateau: true,
  };
  // patience 1 and a minDelta too large to meet: after the first epoch sets
  // the best value, the rate halves at every epoch, across the save
  const fit = (m: tf.LayersModel, initialEpoch: number, epochs: number) =>
    m.fit(x, y, {
      epochs,
      initialEpoch,
      batchSize: 4,
      verbose: 0,
      shuffle: false,
      validationData: [val.x, val.y],
      callbacks: [
        reduceLrOnPlateau({ factor: 0.5, patience: 1, minDelta: 100 }),
        emaWeights({ overwriteOnTrainEnd: false }),
      ],
    });
  const end = async (m: tf.LayersModel) => {
    const o = m.optimizer as ChainOptimizer;
    return {
      weights: Object.values(await weightBits(m)),
      averages: Object.values(await emaBits(o)),
      hp: await o.readHyperparams(),
      valLoss: [] as number[],
    };
  };
  const ref = model(31);
  ref.compile({
    optimizer: ChainOptimizer.from("adam", json),
    loss: "meanSquaredError",
  });
  const refHistory = await fit(ref, 0, 5);
  const want = await end(ref);
  want.valLoss = refHistory.history.val_loss!.map(Number);
  // the schedule did something: 0.05 halved at epochs 1, 2, 3 and 4
  assert.equal(want.hp.learningRate, Math.fround(0.05 / 16));
  for (const at of [1, 2, 3]) {
    const m = model(31);
    m.compile({
      optimizer: ChainOptimizer.from("adam", json),
      loss: "meanSquaredError",
    });
    const first = await fit(m, 0, at);
    const io = memoryIO();
    await m.save(io.save, { includeOptimizer: true });
    (m.optimizer as ChainOptimizer).dispose();
    m.dispose();
    const loaded = await tf.loadLayersModel(io.load());
    const rest = await fit(loaded, at, 5);
    const got = await end(loaded);
    got.valLoss = [
      ...first.history.val_loss!.map(Number),
      ...rest.history.val_loss!.map(Number),
    ];
    assert.deepEqual(got, want, `saved after epoch ${at}`);
    (loaded.optimizer as ChainOptimizer).dispose();
    loaded.dispose();
  }
  (ref.optimizer as ChainOptimizer).dispose();
  ref.dispose();
  tf.dispose([x, y, val.x, val.y]);
});

Deno.test("withEmaWeights(model) swaps in the averages of a checkpoint just loaded, before any step, also with tfjs's renamed variables", async () => {
  await tf.setBackend("cpu");
  const m = model(41);
  const opt = ChainOptimizer.from("adam", {
    learningRate: 0.05,
    useEma: true,
    emaMomentum: 0.7,
  });
  m.compile({ optimizer: opt, loss: "meanSquaredError" });
  const { x, y } = data(8, 12);
  await m.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0 });
  const trained = Object.values(await weightBits(m));
  const averages = Object.values(await emaBits(opt));
  const io = memoryIO();
  await m.save(io.save, { includeOptimizer: true });
  // m stays alive: the loaded variables are renamed <name>_<n>
  const loaded = await tf.loadLayersModel(io.load());
  const loadedOpt = loaded.optimizer as ChainOptimizer;
  assert.notDeepEqual(
    Object.keys(await weightBits(loaded)),
    Object.keys(await weightBits(m)),
  );
  await assert.rejects(
    withEmaWeights(loadedOpt, () => 0),
    /withEmaWeights|swapEmaWeights: this optimizer's state holds no average/,
  );
  const seen = await withEmaWeights(loaded, () => weightBits(loaded));
  assert.deepEqual(Object.values(seen), averages);
  assert.deepEqual(Object.values(await weightBits(loaded)), trained);
  // the first read of the loaded weights made the optimizer's own `iter`
  // scalar (getWeights); a second swap adds nothing
  const before = tf.memory().numTensors;
  await withEmaWeights(loaded, () => 0);
  assert.equal(tf.memory().numTensors, before);
  // and the original model is untouched
  assert.deepEqual(Object.values(await weightBits(m)), trained);
  const other = model(43);
  other.compile({ optimizer: "sgd", loss: "meanSquaredError" });
  await assert.rejects(
    withEmaWeights(other, () => 0),
    /withEmaWeights: the model's optimizer must be a ChainOptimizer, got SGDOptimizer/,
  );
  loadedOpt.dispose();
  opt.dispose();
  tf.dispose([x, y]);
  for (const mm of [m, loaded, other]) mm.dispose();
});
