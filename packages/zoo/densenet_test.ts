import assert from "node:assert/strict";
import {
  assertTrainStep,
  fullSizeCount,
  testOnBackends,
} from "./_test_utils.ts";
import { densenet121 } from "./densenet.ts";

Deno.test("densenet121() matches torchvision's 7,978,856 parameters at ImageNet size", async () => {
  assert.equal(await fullSizeCount(() => densenet121()), 7_978_856);
});

Deno.test("densenet121() with the CIFAR stem has the GC code's 6,956,298 parameters", async () => {
  assert.equal(
    await fullSizeCount(() => densenet121({ stem: "cifar" })),
    6_956_298,
  );
});

Deno.test("densenet121() grows by the growth rate and halves at transitions", () => {
  const model = densenet121({ width: 1 / 8 });
  const channels = (n: string) =>
    model.getLayer(`densenet121/${n}`).outputShape[3];
  // growth 4, stem 8 channels; block 1 adds 6 x 4, transition halves 32.
  assert.equal(channels("stem_conv"), 8);
  assert.equal(channels("block1_layer5_concat"), 32);
  assert.equal(channels("transition1_conv"), 16);
  assert.equal(channels("block4_layer15_concat"), 128);
  assert.deepEqual(model.getLayer("densenet121/transition3_pool").outputShape, [
    null,
    7,
    7,
    128 - 64,
  ]);
  model.dispose();
});

testOnBackends("densenet121() trains one step with sgd and GC", async () => {
  const model = densenet121({
    stem: "cifar",
    width: 1 / 8,
    inputShape: [8, 8, 3],
    numClasses: 4,
    seed: 3,
  });
  await assertTrainStep(model);
  model.dispose();
});
