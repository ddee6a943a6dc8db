// Save and resume: train, save the model with its optimizer state to disk,
// load it back and keep training where it stopped (momentum, schedule step
// and all), as if never interrupted.
//
//   tools/deno run -A examples/save_resume.ts
import * as tf from "@tensorflow/tfjs";
import { ChainOptimizer } from "@centra/tfjs";
import { fileSystem } from "@centra/tfjs/file-system";

function build(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        units: 8,
        activation: "relu",
        inputShape: [4],
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        units: 2,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
  model.compile({
    optimizer: ChainOptimizer.from("sgd", {
      learningRate: { schedule: "cosineDecay", initValue: 0.1, decaySteps: 40 },
      momentum: 0.9,
      weightDecay: 5e-4,
      gc: true,
    }),
    loss: "meanSquaredError",
  });
  return model;
}

const xs = tf.randomNormal([64, 4], 0, 1, "float32", 3);
const ys = tf.concat([xs.sum(1, true), xs.slice([0, 0], [-1, 1])], 1);
const fit = (m: tf.LayersModel, epochs: number) =>
  m.fit(xs, ys, { epochs, batchSize: 16, shuffle: false, verbose: 0 });

// Straight through: 4 epochs.
const straight = build();
await fit(straight, 4);

// Interrupted: 2 epochs, save (weights + optimizer state), load, 2 more.
const dir = await Deno.makeTempDir();
const first = build();
await fit(first, 2);
await first.save(fileSystem(dir), { includeOptimizer: true });
const resumed = await tf.loadLayersModel(fileSystem(dir)); // optimizer restored too
console.log(`saved to ${dir}; optimizer: ${resumed.optimizer.getClassName()}`);
await fit(resumed, 2);

const a = await (straight.predict(xs) as tf.Tensor).data();
const b = await (resumed.predict(xs) as tf.Tensor).data();
const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
console.log(`max difference between straight and resumed predictions: ${diff}`);
await Deno.remove(dir, { recursive: true });
if (diff > 1e-5) {
  throw new Error("resume did not reproduce the uninterrupted run");
}
