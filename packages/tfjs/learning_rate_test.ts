import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { assertClose, testOnBackends } from "@centra/testing/mod.ts";
import { chain } from "../chain/chain.ts";
import { sgd } from "../chain/optimizers.ts";
import { partition } from "../chain/partition.ts";
import { scaleByLearningRate } from "../chain/scale.ts";
import { trace } from "../chain/trace.ts";
import type { GradientTransformation } from "../chain/types.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { currentLearningRate, learningRateLogger } from "./learning_rate.ts";

testOnBackends(
  "currentLearningRate() reads chains after a step and tfjs optimizers always",
  async () => {
    const w = tf.variable(tf.zeros([2]), true, "lr_test/w");
    const opt = ChainOptimizer.from("adam", { learningRate: 0.003 });
    // readable before the first step (issue 12, item 10)
    assertClose([(await currentLearningRate(opt))!], [0.003], { rtol: 1e-7 });
    opt.applyGradients({ [w.name]: tf.ones([2]) });
    assertClose([(await currentLearningRate(opt))!], [0.003], { rtol: 1e-7 });
    assert.equal(await currentLearningRate(tf.train.adam(0.02)), 0.02);
    assert.equal(await currentLearningRate(undefined), undefined);
    opt.dispose();
    w.dispose();
  },
);

testOnBackends(
  "learningRateLogger() records a schedule per epoch (and per batch if asked)",
  async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 1, inputShape: [2] })],
    });
    const steps = 4; // 8 samples, batch 2
    const optimizer = ChainOptimizer.from("sgd", {
      learningRate: {
        schedule: "cosineDecay",
        initValue: 0.1,
        decaySteps: 3 * steps,
      },
    });
    model.compile({ optimizer, loss: "meanSquaredError" });
    const batchLrs: number[] = [];
    const h = await model.fit(tf.ones([8, 2]), tf.ones([8, 1]), {
      epochs: 3,
      batchSize: 2,
      verbose: 0,
      callbacks: [
        learningRateLogger({ everyBatch: true, key: "learning_rate" }),
        new tf.CustomCallback({
          onBatchEnd: (_b, logs) => void batchLrs.push(logs!.learning_rate!),
        }),
      ],
    });
    // Step k (from 0) used 0.05 (1 + cos(pi k / 12)).
    const at = (k: number) => 0.05 * (1 + Math.cos((Math.PI * k) / 12));
    assertClose(h.history.learning_rate as number[], [at(3), at(7), at(11)], {
      rtol: 1e-5,
      what: "epoch lr",
    });
    assertClose(batchLrs, Array.from({ length: 12 }, (_, k) => at(k)), {
      rtol: 1e-5,
      what: "batch lr",
    });
    assert.throws(() => learningRateLogger({ key: "" }), TypeError);
    optimizer.dispose();
    model.dispose();
  },
);

testOnBackends(
  "learningRateLogger() reads a hand-built chain's scaleByLearningRate",
  async () => {
    const fit = async (tx: GradientTransformation<unknown>) => {
      const model = tf.sequential({
        layers: [tf.layers.dense({ units: 1, inputShape: [2] })],
      });
      const optimizer = new ChainOptimizer(tx);
      model.compile({ optimizer, loss: "meanSquaredError" });
      const warnings: unknown[] = [];
      const warn = console.warn;
      console.warn = (...a: unknown[]) => warnings.push(a.join(" "));
      try {
        const h = await model.fit(tf.ones([4, 2]), tf.ones([4, 1]), {
          epochs: 3,
          batchSize: 2,
          verbose: 0,
          callbacks: [learningRateLogger()],
        });
        return { lr: h.history.lr?.map(Number), warnings, model };
      } finally {
        console.warn = warn;
        optimizer.dispose();
      }
    };
    // The case: a constant rate, as built.
    const constant = await fit(sgd(0.1, { momentum: 0.9 }));
    assert.deepEqual(constant.lr, [0.1, 0.1, 0.1]);
    assert.deepEqual(constant.warnings, []);
    constant.model.dispose();
    // A schedule: each epoch logs the rate of its last step (steps 1, 3, 5
    // of 0.2 * 0.5^step, counting from 0), as float32.
    const scheduled = await fit(
      chain(
        trace(0.9),
        scaleByLearningRate((c) => tf.mul(0.2, tf.pow(0.5, c))),
      ),
    );
    assertClose(scheduled.lr!, [0.1, 0.025, 0.00625], { rtol: 1e-6 });
    scheduled.model.dispose();
    // Hidden inside partition: nothing logged, one warning that says why.
    const hidden = await fit(
      partition({ all: sgd(0.1) }, () => "all") as GradientTransformation<
        unknown
      >,
    );
    assert.equal(hidden.lr, undefined);
    assert.equal(hidden.warnings.length, 1);
    assert.match(
      String(hidden.warnings[0]),
      /no learning rate.*injectHyperparams/,
    );
    hidden.model.dispose();
  },
);
