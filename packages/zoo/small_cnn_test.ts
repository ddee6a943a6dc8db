import type * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { assertTrainStep, read, testOnBackends } from "./_test_utils.ts";
import { countParams } from "./count_params.ts";
import { modelParams } from "./model_params.ts";
import { smallCnn } from "./small_cnn.ts";

Deno.test("smallCnn() has 105,914 trainable parameters at width 1", () => {
  const model = smallCnn();
  assert.equal(countParams(model), 105_914);
  assert.equal(
    countParams(smallCnn({ batchNorm: false, name: "nobn" })),
    105_914 - 96 + 48,
  );
  assert.deepEqual(model.outputs[0]!.shape, [null, 10]);
  model.dispose();
});

Deno.test("smallCnn() is deterministic under a seed", async () => {
  const weights = (m: tf.LayersModel) => Promise.all(m.getWeights().map(read));
  const a = smallCnn({ seed: 7, width: 0.25, name: "a" });
  const b = smallCnn({ seed: 7, width: 0.25, name: "b" });
  const c = smallCnn({ seed: 8, width: 0.25, name: "c" });
  const [wa, wb, wc] = await Promise.all([weights(a), weights(b), weights(c)]);
  assert.deepEqual(wa, wb);
  assert.notDeepEqual(wa[0], wc[0]);
  // Layers of one model get different seeds.
  assert.notDeepEqual(wa[0]!.slice(0, 8), wa[2]!.slice(0, 8));
  [a, b, c].forEach((m) => m.dispose());
});

Deno.test("smallCnn() built twice gets distinct variable names; a name option keeps them stable", () => {
  const a = smallCnn({ width: 0.25 });
  const b = smallCnn({ width: 0.25 });
  const c = smallCnn({ width: 0.25, name: "student" });
  const ka = Object.keys(modelParams(a).params);
  const kb = Object.keys(modelParams(b).params);
  assert.ok(ka.every((k) => !kb.includes(k)), "variable names collide");
  // Layer names stay as built; tfjs suffixes the second model's variables.
  assert.deepEqual(a.layers.map((l) => l.name), b.layers.map((l) => l.name));
  assert.ok(
    Object.keys(modelParams(c).params).includes("student/conv1/kernel"),
  );
  [a, b, c].forEach((m) => m.dispose());
});

testOnBackends("smallCnn() trains one step with sgd and GC", async () => {
  const model = smallCnn({ width: 0.25, seed: 3 });
  await assertTrainStep(model);
  model.dispose();
});
