// reduceLrOnPlateau against Keras's documented ReduceLROnPlateau rule, epoch
// by epoch, on hand-written sequences of monitored values with the rates
// worked out by hand below; its counters saved with the optimizer so that
// a resumed run continues the same schedule; inside a real fit; bad options.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { reloaded } from "./_test_utils.ts";
import {
  reduceLrOnPlateau,
  type ReduceLrOnPlateauOptions,
} from "./reduce_lr_on_plateau.ts";

/** A model compiled with `optimizer`, for a callback to drive. */
function holder(optimizer: tf.Optimizer): tf.LayersModel {
  const m = tf.sequential({
    layers: [tf.layers.dense({ units: 1, inputShape: [1] })],
  });
  m.compile({ optimizer, loss: "meanSquaredError" });
  return m;
}

/** Runs the callback on the values, epoch by epoch; the rate after each. */
async function rates(
  opt: ChainOptimizer,
  options: ReduceLrOnPlateauOptions,
  values: number[],
  monitor = options.monitor ?? "val_loss",
  from = 0,
): Promise<number[]> {
  const cb = reduceLrOnPlateau(options);
  cb.setModel(holder(opt));
  await cb.onTrainBegin();
  const out: number[] = [];
  for (const [i, v] of values.entries()) {
    await cb.onEpochEnd(from + i, { [monitor]: v });
    out.push((await opt.readHyperparams()).learningRate!);
  }
  return out;
}

const f32 = Math.fround;

// factor 0.5, patience 2, minDelta 0.01, cooldown 1, minLr 0.02, lr 0.1:
// e0 1.0: best 1.0.  e1 0.9 < 0.99: best 0.9.  e2 0.895, e3 0.893: not
// below 0.89, wait 1, 2 = patience: lr 0.05, cooldown 1, wait 0.  e4 0.95:
// cooldown ends (1 -> 0, wait 0), and as Keras counts the same epoch once
// the cooldown is over: wait 1.  e5 0.8: best.  e6, e7: wait 1, 2: lr 0.025,
// cooldown 1.  e8: cooldown over, wait 1.  e9: wait 2: max(0.0125, 0.02) =
// 0.02.  e10, e11, e12: wait 1, 2, 3, but lr 0.02 is not above minLr: no
// change (and the wait is not reset, as in Keras).
const LOSSES = [
  1.0,
  0.9,
  0.895,
  0.893,
  0.95,
  0.8,
  0.85,
  0.86,
  0.87,
  0.88,
  0.89,
  0.9,
  0.91,
];
const WANT = [
  0.1,
  0.1,
  0.1,
  0.05,
  0.05,
  0.05,
  0.05,
  0.025,
  0.025,
  0.02,
  0.02,
  0.02,
  0.02,
].map(f32);
const OPTIONS: ReduceLrOnPlateauOptions = {
  factor: 0.5,
  patience: 2,
  minDelta: 0.01,
  cooldown: 1,
  minLr: 0.02,
};

Deno.test("reduceLrOnPlateau() follows Keras's rule epoch by epoch (patience, minDelta, cooldown, minLr)", async () => {
  for (const reduceOnPlateau of [true, false]) {
    const opt = ChainOptimizer.from("sgd", {
      learningRate: 0.1,
      reduceOnPlateau,
    });
    assert.deepEqual(await rates(opt, OPTIONS, LOSSES), WANT);
    opt.dispose();
  }
});

Deno.test('reduceLrOnPlateau() in "auto" mode maximises a monitor named *acc*, and patience 0 reduces at the first epoch without improvement', async () => {
  // e0 0.5: best.  e1 0.6: best.  e2 0.6, not above 0.6: wait 1 >= 0: lr
  // 0.1.  e3 0.7: best.  e4 0.65: wait 1: lr 0.01.
  const opt = ChainOptimizer.from("adam", {
    learningRate: 1,
    reduceOnPlateau: true,
  });
  assert.deepEqual(
    await rates(opt, { monitor: "val_acc", patience: 0, minDelta: 0 }, [
      0.5,
      0.6,
      0.6,
      0.7,
      0.65,
    ]),
    [1, 1, 0.1, 0.1, 0.01].map(f32),
  );
  // mode "min" overrides the name: rising accuracy is then no improvement.
  // e0 0.5: best.  e1 0.6: wait 1 = patience: 0.5.  e2 0.7: wait 1: 0.25.
  const min = ChainOptimizer.from("adam", { learningRate: 1 });
  assert.deepEqual(
    await rates(min, {
      monitor: "val_acc",
      mode: "min",
      patience: 1,
      minDelta: 0,
      factor: 0.5,
    }, [0.5, 0.6, 0.7]),
    [1, 0.5, 0.25].map(f32),
  );
  opt.dispose();
  min.dispose();
});

Deno.test("reduceLrOnPlateau() counters saved with the optimizer: a run resumed at any epoch continues the same schedule", async () => {
  for (let j = 0; j <= LOSSES.length; j++) {
    const a = ChainOptimizer.from("sgd", {
      learningRate: 0.1,
      reduceOnPlateau: true,
    });
    const first = await rates(a, OPTIONS, LOSSES.slice(0, j));
    const b = await reloaded(a);
    // a new callback, as a new process would make
    const rest = await rates(b, OPTIONS, LOSSES.slice(j), "val_loss", j);
    assert.deepEqual([...first, ...rest], WANT, `resumed after ${j} epochs`);
    b.dispose();
  }
});

Deno.test("reduceLrOnPlateau() reduces the rate inside model.fit when val_loss stalls", async () => {
  await tf.setBackend("cpu");
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 1, inputShape: [2] })],
  });
  const optimizer = ChainOptimizer.from("sgd", {
    learningRate: 1e-8,
    reduceOnPlateau: true,
  });
  model.compile({ optimizer, loss: "meanSquaredError" });
  const [x, y] = [tf.ones([6, 2]), tf.zeros([6, 1])];
  const fit = (epochs: number) =>
    model.fit(x, y, {
      epochs,
      verbose: 0,
      validationData: [x, y],
      callbacks: [reduceLrOnPlateau({ factor: 0.5, patience: 2 })],
    });
  await fit(5);
  // e0 best; e1, e2 wait 1, 2: halved; e3, e4: halved again
  const { learningRate } = await optimizer.readHyperparams();
  assert.equal(learningRate, f32(f32(f32(1e-8) * 0.5) * 0.5));
  // a second fit continues the counters (wait 0 after e4's reduction):
  // e5, e6 wait 1, 2: halved; and the tensor count stays as it was
  const before = tf.memory().numTensors;
  await fit(2);
  assert.equal(
    (await optimizer.readHyperparams()).learningRate,
    f32(learningRate! * 0.5),
  );
  assert.equal(tf.memory().numTensors, before);
  optimizer.dispose();
  tf.dispose([x, y]);
  model.dispose();
});

Deno.test("reduceLrOnPlateau() names bad options and refuses an optimizer it cannot drive", async () => {
  const bad: [ReduceLrOnPlateauOptions, typeof TypeError, RegExp][] = [
    [{ factor: 1 }, RangeError, /factor must be in \[0, 1\), got 1/],
    [
      { patience: -1 },
      RangeError,
      /patience must be a non-negative integer, got -1/,
    ],
    [
      { cooldown: 0.5 },
      RangeError,
      /cooldown must be a non-negative integer, got 0.5/,
    ],
    [
      { minDelta: -1 },
      RangeError,
      /minDelta must be finite and at least 0, got -1/,
    ],
    [
      { minLr: NaN },
      RangeError,
      /minLr must be finite and at least 0, got NaN/,
    ],
    [
      { factor: "0.5" as never },
      TypeError,
      /factor must be a number, got "0.5"/,
    ],
    [
      { mode: "up" as never },
      TypeError,
      /mode must be "auto", "min" or "max", got "up"/,
    ],
    [{ monitor: "" }, TypeError, /monitor must be a non-empty string/],
    [{ min_lr: 0 } as never, TypeError, /unknown option "min_lr"/],
  ];
  for (const [o, kind, message] of bad) {
    assert.throws(
      () => reduceLrOnPlateau(o),
      (e: Error) => e instanceof kind && message.test(e.message),
      String(message),
    );
  }
  const scheduled = ChainOptimizer.from("sgd", {
    learningRate: { schedule: "cosineDecay", initValue: 1, decaySteps: 5 },
  });
  const cb = reduceLrOnPlateau();
  cb.setModel(holder(scheduled));
  await assert.rejects(
    async () => await cb.onTrainBegin(),
    /reduceLrOnPlateau: the learning rate is a schedule/,
  );
  const theirs = tf.train.adam(0.1);
  cb.setModel(holder(theirs));
  await assert.rejects(
    async () => await cb.onTrainBegin(),
    /must be a ChainOptimizer/,
  );
  scheduled.dispose();
  theirs.dispose();
});
