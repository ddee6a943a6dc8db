import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { describeParams, type ParamInfo } from "./describe_params.ts";
import {
  everyLayerExpected,
  everyLayerModel,
  fileIO,
  nestedModel,
  uniquePrefix,
} from "./_test_utils.ts";

await tf.setBackend("cpu");

/** Everything but the variable's (possibly suffixed) name. */
function withoutName(i: ParamInfo): Omit<ParamInfo, "name"> {
  const { name: _, ...rest } = i;
  return rest;
}

/** A custom layer this package does not know: y = x · kernel ⊙ scale + bias. */
class MatchTestCustom extends tf.layers.Layer {
  static className = "MatchTestCustom";
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const n = (inputShape as tf.Shape)[1] as number;
    this.addWeight("kernel", [n, 2], "float32", tf.initializers.ones());
    this.addWeight("scale", [1, 2], "float32", tf.initializers.ones());
    this.addWeight("bias", [2], "float32", tf.initializers.zeros());
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const [k, s, b] = this.weights.map((w) => w.read());
    return tf.add(
      tf.mul(tf.matMul(x as tf.Tensor2D, k as tf.Tensor2D), s!),
      b!,
    );
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [(inputShape as tf.Shape)[0] ?? null, 2];
  }
}

Deno.test("describeParams() describes every layer type as written out by hand", () => {
  const p = uniquePrefix("desc");
  const model = everyLayerModel(p);
  const expected = everyLayerExpected(p);
  const infos = describeParams(model);
  // every variable once (the shared Dense and nested model included)
  assert.deepEqual(
    infos.map((i) => i.originalName).sort(),
    Object.keys(expected).sort(),
  );
  for (const info of infos) {
    const want = expected[info.originalName]!;
    assert.equal(info.name, info.originalName, "fresh names carry no suffix");
    assert.deepEqual(
      {
        layerName: info.layerName,
        layerPath: info.layerPath,
        layerClass: info.layerClass,
        role: info.role,
        shape: info.shape,
        trainable: info.trainable,
        layout: info.layout,
        outputAxes: info.outputAxes,
        gcAxes: info.gcAxes,
      },
      want,
      info.name,
    );
  }
  // the order is model.weights' order
  assert.deepEqual(infos.map((i) => i.name), model.weights.map((w) => w.name));
  // and the name is what a Params map is keyed by
  const trainable = infos.filter((i) => i.trainable).map((i) => i.name);
  assert.deepEqual(
    trainable,
    model.trainableWeights.map((w) => (w.read() as tf.Variable).name),
  );
});

Deno.test("describeParams() describes a model saved to disk and loaded back identically", async () => {
  const p = uniquePrefix("disk");
  const model = everyLayerModel(p);
  // a frozen layer must stay frozen through the file
  model.getLayer(`${p}c1d`).trainable = false;
  const dir = await Deno.makeTempDir({ prefix: "centra_match_" });
  try {
    await model.save(fileIO(dir));
    const loaded = await tf.loadLayersModel(fileIO(dir));
    const built = describeParams(model);
    const read = describeParams(loaded);
    assert.deepEqual(read.map(withoutName), built.map(withoutName));
    // tfjs makes the loaded variables' names unique; the original names agree
    for (const [i, info] of read.entries()) {
      assert.ok(info.name.startsWith(built[i]!.originalName), info.name);
    }
    assert.equal(
      read.find((i) => i.originalName === `${p}c1d/kernel`)!.trainable,
      false,
    );
    // and the weights themselves came back
    const w0 = model.getLayer(`${p}c2dt`).getWeights()[0]!;
    const w1 = loaded.getLayer(`${p}c2dt`).getWeights()[0]!;
    assert.deepEqual(Array.from(w1.dataSync()), Array.from(w0.dataSync()));
    loaded.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
    model.dispose();
  }
});

Deno.test("describeParams() follows nested Sequential models and marks frozen layers", () => {
  const p = uniquePrefix("nest");
  const { model, backbone } = nestedModel(p, { side: 8, units: 3 });
  backbone.trainable = false;
  const infos = describeParams(model);
  const byName = (a: unknown[], b: unknown[]) =>
    String(a[0]).localeCompare(String(b[0]));
  assert.deepEqual(
    infos.map((i) => [i.name, i.layerPath.join(" > "), i.trainable]).sort(
      byName,
    ),
    [
      [`${p}head/kernel`, `${p}head`, true],
      [`${p}head/bias`, `${p}head`, true],
      [`${p}conv/kernel`, `${p}backbone > ${p}conv`, false],
      [`${p}conv/bias`, `${p}backbone > ${p}conv`, false],
    ].sort(byName),
  );
  model.dispose();
});

Deno.test("describeParams() gives unknown layers no GC axes and takes their layouts as options", () => {
  const p = uniquePrefix("custom");
  const model = tf.sequential({
    layers: [new MatchTestCustom({ name: `${p}cu`, inputShape: [3] })],
  });
  const plain = describeParams(model);
  assert.deepEqual(
    plain.map((i) => [i.role, i.layerClass, i.layout, i.outputAxes, i.gcAxes]),
    [
      ["kernel", "MatchTestCustom", "unknown", null, null],
      ["scale", "MatchTestCustom", "unknown", null, null],
      ["bias", "MatchTestCustom", "none", null, null],
    ],
  );
  const taught = describeParams(model, {
    layouts: { MatchTestCustom: { kernel: "output_last", scale: "none" } },
  });
  assert.deepEqual(
    taught.map((i) => [i.role, i.layout, i.outputAxes, i.gcAxes]),
    [
      ["kernel", "output_last", [1], [0]],
      ["scale", "none", null, null],
      ["bias", "none", null, null],
    ],
  );
  model.dispose();
});

Deno.test("describeParams() centralizes embeddings over the vocabulary only when asked", () => {
  const p = uniquePrefix("emb");
  const model = tf.sequential({
    layers: [
      tf.layers.embedding({
        inputDim: 10,
        outputDim: 4,
        inputShape: [3],
        name: `${p}emb`,
      }),
    ],
  });
  const [off] = describeParams(model);
  const [on] = describeParams(model, { embeddings: true });
  assert.deepEqual([off!.layout, off!.outputAxes, off!.gcAxes], ["embedding", [
    1,
  ], null]);
  assert.deepEqual([on!.layout, on!.outputAxes, on!.gcAxes], [
    "embedding",
    [1],
    [0],
  ]);
  model.dispose();
});

Deno.test("describeParams() returns frozen descriptions", () => {
  const p = uniquePrefix("frz");
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 2, inputShape: [3], name: `${p}fc` })],
  });
  const [kernel] = describeParams(model);
  assert.ok(Object.isFrozen(kernel));
  assert.ok(Object.isFrozen(kernel!.shape));
  assert.ok(Object.isFrozen(kernel!.gcAxes));
  model.dispose();
});

Deno.test("describeParams() rejects what is not a model and bad options", () => {
  assert.throws(
    () => describeParams({} as tf.LayersModel),
    (e: Error) =>
      e instanceof TypeError && /expected a tf\.LayersModel/.test(e.message),
  );
  assert.throws(
    () =>
      describeParams(
        tf.layers.dense({ units: 2 }) as unknown as tf.LayersModel,
      ),
    TypeError,
  );
  const p = uniquePrefix("opt");
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 2, inputShape: [3], name: `${p}fc` })],
  });
  assert.throws(
    () => describeParams(model, { embeddings: "yes" as unknown as boolean }),
    /embeddings must be a boolean, got yes/,
  );
  assert.throws(
    () =>
      describeParams(model, {
        layouts: { Dense: { kernel: "last" as "none" } },
      }),
    (e: Error) =>
      e instanceof TypeError &&
      /"Dense" role "kernel".*got "last"/.test(e.message),
  );
  assert.throws(
    () =>
      describeParams(model, {
        layouts: { Dense: null as unknown as Record<string, "none"> },
      }),
    /layouts for "Dense" must be a record/,
  );
  model.dispose();
});
