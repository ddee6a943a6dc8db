import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { assertClose, testOnBackends } from "../chain/_test_utils.ts";
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
