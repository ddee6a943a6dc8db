import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { modelParams } from "./model_params.ts";
import { smallCnn } from "./small_cnn.ts";

Deno.test("modelParams() keys trainable variables by their tf.Variable name", () => {
  const model = smallCnn({ width: 0.25, name: "mp_a" });
  const { params, variables } = modelParams(model);
  assert.deepEqual(Object.keys(params), [
    "mp_a/conv1/kernel",
    "mp_a/bn1/gamma",
    "mp_a/bn1/beta",
    "mp_a/conv2/kernel",
    "mp_a/bn2/gamma",
    "mp_a/bn2/beta",
    "mp_a/fc1/kernel",
    "mp_a/fc1/bias",
    "mp_a/fc/kernel",
    "mp_a/fc/bias",
  ]);
  for (const w of model.trainableWeights) {
    assert.equal((w.read() as tf.Variable).name, w.name);
    assert.equal(variables[w.name], w.read());
    assert.equal(params[w.name], w.read());
    assert.ok(variables[w.name] instanceof tf.Variable);
  }
  model.dispose();
});

Deno.test("modelParams() includes non-trainable weights on request and skips frozen layers", () => {
  const model = smallCnn({ width: 0.25, name: "mp_b" });
  const all = Object.keys(
    modelParams(model, { includeNonTrainable: true }).params,
  );
  assert.ok(all.includes("mp_b/bn1/moving_mean"));
  assert.ok(all.includes("mp_b/bn2/moving_variance"));
  assert.equal(all.length, 14);
  model.getLayer("mp_b/conv1").trainable = false;
  const trainable = Object.keys(modelParams(model).params);
  assert.ok(!trainable.includes("mp_b/conv1/kernel"));
  assert.equal(trainable.length, 9);
  model.dispose();
});

Deno.test("modelParams() works for hand-written, nested and loaded models", async () => {
  const inner = tf.sequential({
    name: "mp_inner",
    layers: [
      tf.layers.dense({ units: 3, inputShape: [4], name: "mp_inner_fc" }),
    ],
  });
  const x = tf.input({ shape: [4] });
  const h = inner.apply(x) as tf.SymbolicTensor;
  const y = tf.layers.dense({ units: 2, name: "mp_head" }).apply(
    h,
  ) as tf.SymbolicTensor;
  const outer = tf.model({ inputs: x, outputs: y });
  assert.deepEqual(Object.keys(modelParams(outer).params), [
    "mp_inner_fc/kernel",
    "mp_inner_fc/bias",
    "mp_head/kernel",
    "mp_head/bias",
  ]);
  let artifacts: tf.io.ModelArtifacts | undefined;
  await outer.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  const { params, variables } = modelParams(loaded);
  // The originals are alive, so tfjs gives the loaded variables new names.
  assert.equal(Object.keys(params).length, 4);
  for (const [name, v] of Object.entries(variables)) assert.equal(v.name, name);
  assert.ok(!Object.keys(params).includes("mp_head/kernel"));
  outer.dispose();
  loaded.dispose();
});

Deno.test("modelParams() rejects what is not a LayersModel", () => {
  // @ts-expect-error: not a model
  assert.throws(() => modelParams({}), /model must be a tf.LayersModel/);
});
