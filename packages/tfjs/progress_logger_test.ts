import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { testOnBackends } from "@centra/testing/mod.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { formatEpochLine, progressLogger } from "./progress_logger.ts";

testOnBackends(
  "progressLogger() draws a live bar and prints one line per epoch",
  async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 2, inputShape: [3], activation: "softmax" }),
      ],
    });
    const optimizer = ChainOptimizer.from("sgd", {
      learningRate: 0.05,
      momentum: 0.9,
    });
    model.compile({
      optimizer,
      loss: "categoricalCrossentropy",
      metrics: ["accuracy"],
    });
    const out: string[] = [];
    await model.fit(
      tf.ones([12, 3]),
      tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], "int32"), 2),
      {
        epochs: 2,
        batchSize: 4,
        verbose: 0,
        validationSplit: 0.25,
        callbacks: [
          progressLogger({
            write: (t) => out.push(t),
            live: true,
            redrawMs: 0,
            barWidth: 9,
          }),
        ],
      },
    );
    const text = out.join("");
    assert.ok(
      text.includes("\r\x1b[K[###------] 1/3  loss "),
      JSON.stringify(text.slice(0, 80)),
    );
    assert.match(text, /\[#########\] 3\/3/);
    const lines = text.split("\n").filter((l) => l.length > 0).map((l) =>
      l.slice(l.lastIndexOf("\x1b[K") + 3)
    );
    assert.equal(lines.length, 2);
    assert.match(
      lines[1]!,
      /^epoch 2\/2 {2}loss [\d.e+-]+ {2}acc [\d.e+-]+ {2}val_loss [\d.e+-]+ {2}val_acc [\d.e+-]+ {2}lr 0\.0500 {2}[\d.]+ steps\/s {2}[\d.]+s$/,
    );
    optimizer.dispose();
    model.dispose();
  },
);

Deno.test("formatEpochLine() orders the metrics and formats small and large values", () => {
  assert.equal(
    formatEpochLine(3, 12, { lr: 1e-4, zeta: 12345, acc: 0.5, loss: 0.25 }, {
      steps: 20,
      seconds: 4,
    }),
    "epoch  3/12  loss 0.2500  acc 0.5000  lr 1.000e-4  zeta 1.235e+4  5.00 steps/s  4.0s",
  );
  assert.throws(() => progressLogger({ barWidth: 0 }), RangeError);
  assert.throws(() => progressLogger({ redrawMs: -1 }), RangeError);
});
