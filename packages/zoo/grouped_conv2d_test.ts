import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { assertClose, read, testOnBackends } from "./_test_utils.ts";
import { GroupedConv2D } from "./grouped_conv2d.ts";

testOnBackends(
  "GroupedConv2D equals one convolution per channel group",
  async () => {
    const layer = new GroupedConv2D({
      filters: 6,
      kernelSize: 3,
      groups: 3,
      strides: 2,
      useBias: true,
      biasInitializer: tf.initializers.randomNormal({ seed: 2 }),
      kernelInitializer: tf.initializers.randomNormal({ seed: 3 }),
    });
    const x = tf.randomNormal([2, 7, 7, 9], 0, 1, "float32", 1) as tf.Tensor4D;
    const y = layer.apply(x) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 4, 4, 6]);
    const [kernel, bias] = layer.getWeights() as [tf.Tensor4D, tf.Tensor1D];
    assert.deepEqual(kernel.shape, [3, 3, 3, 6]);
    const expected = tf.tidy(() =>
      tf.concat(
        [0, 1, 2].map((g) =>
          tf.conv2d(
            tf.slice(x, [0, 0, 0, 3 * g], [-1, -1, -1, 3]),
            tf.slice(kernel, [0, 0, 0, 2 * g], [-1, -1, -1, 2]),
            2,
            "same",
          )
        ),
        3,
      ).add(bias)
    );
    assertClose(await read(y), await read(expected), {
      rtol: 1e-4,
      atol: 1e-5,
    });
    tf.dispose([x, y, expected]);
    layer.dispose();
  },
);

testOnBackends(
  "GroupedConv2D with one group equals tf.layers.conv2d",
  async () => {
    const x = tf.randomNormal([1, 5, 5, 4], 0, 1, "float32", 4);
    const grouped = new GroupedConv2D({
      filters: 3,
      kernelSize: 3,
      groups: 1,
      padding: "valid",
    });
    const y = grouped.apply(x) as tf.Tensor;
    const plain = tf.layers.conv2d({
      filters: 3,
      kernelSize: 3,
      useBias: false,
    });
    tf.dispose(plain.apply(x) as tf.Tensor);
    plain.setWeights(grouped.getWeights());
    const z = plain.apply(x) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 3, 3, 3]);
    assertClose(await read(y), await read(z), { rtol: 1e-4, atol: 1e-5 });
    tf.dispose([x, y, z]);
    grouped.dispose();
    plain.dispose();
  },
);

Deno.test("GroupedConv2D survives a save and load", async () => {
  const input = tf.input({ shape: [6, 6, 4] });
  const output = new GroupedConv2D({
    filters: 4,
    kernelSize: 3,
    groups: 2,
    name: "gc_save",
  })
    .apply(input) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  const layer = loaded.layers[1]!;
  assert.ok(layer instanceof GroupedConv2D);
  assert.equal(layer.groups, 2);
  const x = tf.randomNormal([1, 6, 6, 4], 0, 1, "float32", 5);
  const a = model.predict(x) as tf.Tensor, b = loaded.predict(x) as tf.Tensor;
  assertClose(await read(a), await read(b));
  tf.dispose([x, a, b]);
  model.dispose();
  loaded.dispose();
});

Deno.test("GroupedConv2D rejects channel counts that groups do not divide", () => {
  assert.throws(
    () => new GroupedConv2D({ filters: 5, kernelSize: 3, groups: 2 }),
    /filters \(5\) must be a multiple of groups \(2\)/,
  );
  const layer = new GroupedConv2D({ filters: 4, kernelSize: 3, groups: 2 });
  assert.throws(
    () => layer.apply(tf.input({ shape: [4, 4, 3] })),
    /input channels \(3\)/,
  );
  assert.throws(
    () => new GroupedConv2D({ filters: 4, kernelSize: 0, groups: 2 }),
    /kernelSize .* got 0/,
  );
});

Deno.test("GroupedConv2D reports its class as centra>GroupedConv2D and names itself validly", () => {
  const a = new GroupedConv2D({ filters: 2, kernelSize: 1, groups: 2 });
  const b = new GroupedConv2D({ filters: 2, kernelSize: 1, groups: 2 });
  assert.equal(a.getClassName(), "centra>GroupedConv2D");
  assert.match(a.name, /^grouped_conv2d_\d+$/);
  assert.notEqual(a.name, b.name);
  const y = a.apply(tf.input({ shape: [3, 3, 2] })) as tf.SymbolicTensor;
  assert.deepEqual(y.shape, [null, 3, 3, 2]);
  assert.equal(a.weights[0]!.name, `${a.name}/kernel`);
});
