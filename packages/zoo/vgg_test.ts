import assert from "node:assert/strict";
import {
  assertTrainStep,
  fullSizeCount,
  testOnBackends,
} from "./_test_utils.ts";
import { vgg11, vgg16 } from "./vgg.ts";

// torchvision's vgg11_bn, vgg16_bn and vgg16 (trainable parameters).
Deno.test("vgg11() and vgg16() match torchvision's parameter counts at ImageNet size", async () => {
  assert.equal(await fullSizeCount(() => vgg11()), 132_868_840);
  assert.equal(await fullSizeCount(() => vgg16()), 138_365_992);
  assert.equal(
    await fullSizeCount(() => vgg16({ batchNorm: false })),
    138_357_544,
  );
  assert.equal(
    await fullSizeCount(() => vgg11({ batchNorm: false })),
    132_863_336,
  );
});

Deno.test("vgg16() with the CIFAR head has the GC code's 14,728,266 parameters", async () => {
  assert.equal(await fullSizeCount(() => vgg16({ head: "cifar" })), 14_728_266);
});

Deno.test("vgg11() names layers by stage and flattens 7x7x512 at 224x224", () => {
  const model = vgg11({ width: 1 / 16 });
  const names = model.layers.map((l) => l.name);
  assert.equal(new Set(names).size, names.length);
  for (
    const n of [
      "vgg11/stage1_conv1",
      "vgg11/stage1_bn1",
      "vgg11/stage5_pool",
      "vgg11/fc1",
      "vgg11/drop2",
      "vgg11/fc",
    ]
  ) {
    assert.ok(names.includes(n), n);
  }
  assert.deepEqual(model.getLayer("vgg11/flatten").outputShape, [
    null,
    7 * 7 * 32,
  ]);
  model.dispose();
});

Deno.test("vgg11() rejects a bad head", () => {
  // @ts-expect-error: not a head
  assert.throws(() => vgg11({ head: "none" }), /head must be .* got "none"/);
});

testOnBackends("vgg11() trains one step with sgd and GC", async () => {
  const model = vgg11({ head: "cifar", width: 1 / 16, numClasses: 4, seed: 3 });
  await assertTrainStep(model);
  model.dispose();
});
testOnBackends(
  "vgg16() trains one step with sgd and GC (imagenet head)",
  async () => {
    const model = vgg16({
      width: 1 / 16,
      inputShape: [32, 32, 3],
      numClasses: 4,
      seed: 3,
    });
    await assertTrainStep(model);
    model.dispose();
  },
);
