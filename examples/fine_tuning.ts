// Per-layer learning rates for fine-tuning (the paper's 5.5 setup): pretrain
// a small network on one task, put a new head on it for another task, and
// fine-tune with 0.1 for the head and 0.01 for the pretrained layers, SGDM +
// GC, through model.fit with a ChainOptimizer.
//
//   tools/deno run -A examples/fine_tuning.ts
import * as tf from "@tensorflow/tfjs";
import { sgd } from "@centra/chain";
import {
  byLayer,
  describeParams,
  fineTuning,
  gcAxes,
  perLayerLearningRates,
} from "@centra/match";
import { ChainOptimizer } from "@centra/tfjs";

// Two 3-class tasks on the same inputs: which of features 0-2 (task A) or
// 3-5 (task B) is largest.
const xs = tf.randomNormal([256, 8], 0, 1, "float32", 1);
const ysA = tf.oneHot(tf.argMax(xs.slice([0, 0], [-1, 3]), -1), 3);
const ysB = tf.oneHot(tf.argMax(xs.slice([0, 3], [-1, 3]), -1), 3);

// Layer names are global in tfjs, so every build gets its own prefix.
function build(prefix: string): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: 32,
        activation: "relu",
        inputShape: [8],
        kernelInitializer: init(1),
        name: `${prefix}_fc1`,
      }),
      tf.layers.dense({
        units: 32,
        activation: "relu",
        kernelInitializer: init(2),
        name: `${prefix}_fc2`,
      }),
      tf.layers.dense({
        units: 3,
        kernelInitializer: init(3),
        name: `${prefix}_head`,
      }),
    ],
  });
}
const loss = (yTrue: tf.Tensor, yPred: tf.Tensor) =>
  tf.losses.softmaxCrossEntropy(yTrue, yPred);

// Pretrain on task A.
const pretrained = build("ft_pre");
pretrained.compile({
  optimizer: ChainOptimizer.from("sgd", { learningRate: 0.05, momentum: 0.9 }),
  loss,
});
await pretrained.fit(xs, ysA, { epochs: 20, batchSize: 32, verbose: 0 });
const backbone = pretrained.layers.slice(0, 2).map((l) => l.getWeights());

// Fine-tune on task B with a new head, once per recipe, from the same start.
const recipes = {
  // The paper's recipe in one call: 0.1 for the head, 0.01 for the rest,
  // momentum 0.9, GC on every conv/FC kernel over its exact axes.
  fineTuning: (m: tf.LayersModel, head: string) =>
    fineTuning(m, { head: byLayer(head) }),
  // The same idea spelled out, with any optimizer per group: SGDM + GC at
  // 0.1 for the head, plain SGDM at 0.01 for the backbone.
  perLayerLearningRates: (m: tf.LayersModel, head: string) => {
    const axes = gcAxes(m);
    return perLayerLearningRates(m, {
      groups: { head: { select: byLayer(head), learningRate: 0.1 } },
      otherLearningRate: 0.01,
      optimizer: (lr, label) =>
        sgd(lr, { momentum: 0.9, gc: label === "head" ? axes : false }),
    });
  },
};
for (const [name, recipe] of Object.entries(recipes)) {
  const model = build(`ft_${name}`);
  model.layers.slice(0, 2).forEach((l, i) => l.setWeights(backbone[i]!));
  if (name === "fineTuning") {
    for (const p of describeParams(model)) {
      console.log(
        `${p.name.padEnd(28)} ${p.layerClass.padEnd(6)} GC axes ${
          JSON.stringify(p.gcAxes)
        }`,
      );
    }
  }
  const optimizer = new ChainOptimizer(recipe(model, `ft_${name}_head`));
  model.compile({ optimizer, loss, metrics: ["accuracy"] });
  const h = await model.fit(xs, ysB, { epochs: 10, batchSize: 32, verbose: 0 });
  const l = h.history.loss as number[];
  const acc = h.history.acc as number[];
  console.log(
    `${name}: loss ${l[0]!.toFixed(4)} -> ${
      l.at(-1)!.toFixed(4)
    }, training accuracy ${(acc.at(-1)! * 100).toFixed(1)}%`,
  );
  optimizer.dispose();
}
