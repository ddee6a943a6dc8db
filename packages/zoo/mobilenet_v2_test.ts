import assert from "node:assert/strict";
import {
  assertTrainStep,
  fullSizeCount,
  testOnBackends,
} from "./_test_utils.ts";
import { countParams } from "./count_params.ts";
import { mobilenetV2 } from "./mobilenet_v2.ts";
import { withZeroInit } from "./_layers.ts";

Deno.test("mobilenetV2() matches torchvision's 3,504,872 parameters (Keras: 3,538,984 with BN statistics)", async () => {
  assert.equal(await fullSizeCount(() => mobilenetV2()), 3_504_872);
  const model = withZeroInit(() => mobilenetV2());
  assert.equal(model.countParams(), 3_538_984);
  model.dispose();
});

Deno.test("mobilenetV2() rounds channels to multiples of 8 and keeps 1280 below width 1", () => {
  const model = mobilenetV2({ width: 0.35 });
  const channels = (n: string) =>
    model.getLayer(`mobilenet_v2/${n}`).outputShape[3];
  assert.equal(channels("stem_conv"), 16);
  assert.equal(channels("block1_project_conv"), 8);
  assert.equal(channels("block17_project_conv"), 112);
  assert.equal(channels("head_conv"), 1280);
  assert.equal(countParams(model) > 0, true);
  model.dispose();
});

Deno.test("mobilenetV2() depthwise kernels are [3, 3, channels, 1]", () => {
  const model = mobilenetV2({ stem: "cifar", width: 0.5, name: "mnv2_dw" });
  const dw = model.getLayer("mnv2_dw/block2_dwconv");
  assert.equal(dw.getClassName(), "DepthwiseConv2D");
  assert.deepEqual(dw.getWeights()[0]!.shape, [3, 3, 48, 1]);
  // CIFAR stem: stride 1 in the stem and in the second stage.
  assert.equal(
    model.getLayer("mnv2_dw/block3_project_conv").outputShape[1],
    32,
  );
  assert.equal(
    model.getLayer("mnv2_dw/block4_project_conv").outputShape[1],
    16,
  );
  model.dispose();
});

// The step checks that every update is centralized over its own axes: the
// 3x3 window for depthwise kernels, all but the last axis otherwise.
testOnBackends(
  "mobilenetV2() trains one step with sgd and per-layer GC axes",
  async () => {
    const model = mobilenetV2({
      stem: "cifar",
      width: 0.25,
      inputShape: [8, 8, 3],
      numClasses: 4,
      seed: 3,
    });
    await assertTrainStep(model);
    model.dispose();
  },
);
