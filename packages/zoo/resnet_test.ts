import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  assertTrainStep,
  fullSizeCount,
  testOnBackends,
} from "./_test_utils.ts";
import { countParams } from "./count_params.ts";
import { resnet101, resnet18, resnet34, resnet50 } from "./resnet.ts";

// torchvision's published counts (trainable parameters; batch norm's running
// statistics are buffers there, non-trainable weights here).
Deno.test("resnet18/34/50/101() match torchvision's parameter counts at ImageNet size", async () => {
  assert.equal(await fullSizeCount(() => resnet18()), 11_689_512);
  assert.equal(await fullSizeCount(() => resnet34()), 21_797_672);
  assert.equal(await fullSizeCount(() => resnet50()), 25_557_032);
  assert.equal(await fullSizeCount(() => resnet101()), 44_549_160);
});

Deno.test("resnet50() built with real weights has 25,557,032 trainable parameters", async () => {
  await tf.setBackend("cpu");
  const before = tf.memory().numTensors;
  const model = resnet50({ seed: 1 });
  assert.equal(countParams(model), 25_557_032);
  // Trainable plus batch norm's moving mean and variance (Keras's total).
  assert.equal(model.countParams(), 25_610_152);
  assert.deepEqual(model.inputs[0]!.shape, [null, 224, 224, 3]);
  assert.deepEqual(model.outputs[0]!.shape, [null, 1000]);
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("resnet18() with the CIFAR stem has kuangliu/GC-code's 11,173,962 parameters", async () => {
  assert.equal(
    await fullSizeCount(() => resnet18({ stem: "cifar" })),
    11_173_962,
  );
});

Deno.test("resnet18() output shapes follow inputShape and numClasses for both stems", () => {
  const a = resnet18({ stem: "cifar", width: 1 / 16, numClasses: 7 });
  assert.deepEqual(a.inputs[0]!.shape, [null, 32, 32, 3]);
  assert.deepEqual(a.outputs[0]!.shape, [null, 7]);
  assert.equal(a.getLayer("resnet18/stage4_block1_conv2").outputShape[1], 4);
  const b = resnet18({ width: 1 / 16, inputShape: [64, 64, 1] });
  assert.deepEqual(b.outputs[0]!.shape, [null, 1000]);
  assert.equal(b.getLayer("resnet18/stem_pool").outputShape[1], 16);
  assert.equal(b.getLayer("resnet18/stage4_block1_conv2").outputShape[1], 2);
  a.dispose();
  b.dispose();
});

Deno.test("resnet50() names its layers by stage, block and position", () => {
  const model = resnet50({ stem: "cifar", width: 1 / 16, name: "r50" });
  const names = model.layers.map((l) => l.name);
  assert.equal(new Set(names).size, names.length);
  for (
    const n of [
      "r50/input",
      "r50/stem_conv",
      "r50/stem_bn",
      "r50/stage1_block0_conv1",
      "r50/stage1_block0_bn3",
      "r50/stage1_block0_down_conv",
      "r50/stage2_block3_add",
      "r50/stage4_block2_relu",
      "r50/pool",
      "r50/fc",
    ]
  ) assert.ok(names.includes(n), n);
  assert.ok(!names.includes("r50/stem_pool"));
  model.dispose();
});

Deno.test("resnet18() rejects bad options, naming them", () => {
  // @ts-expect-error: not a stem
  assert.throws(() => resnet18({ stem: "tiny" }), /stem must be .* got "tiny"/);
  assert.throws(() => resnet18({ width: 0 }), /width must be .* got 0/);
  assert.throws(() => resnet18({ numClasses: 1.5 }), /numClasses .* got 1.5/);
  assert.throws(
    () => resnet18({ inputShape: [32, 32] }),
    /inputShape .* got \[32,32\]/,
  );
  assert.throws(() => resnet18({ name: "a b" }), /name .* got "a b"/);
});

const small = { width: 1 / 16, inputShape: [8, 8, 3], numClasses: 4, seed: 3 };
testOnBackends(
  "resnet18() trains one step with sgd and GC (cifar stem)",
  async () => {
    const model = resnet18({ ...small, stem: "cifar" });
    await assertTrainStep(model);
    model.dispose();
  },
);
testOnBackends(
  "resnet18() trains one step with sgd and GC (imagenet stem)",
  async () => {
    const model = resnet18({ ...small, inputShape: [32, 32, 3] });
    await assertTrainStep(model);
    model.dispose();
  },
);
testOnBackends("resnet34() trains one step with sgd and GC", async () => {
  const model = resnet34({ ...small, stem: "cifar" });
  await assertTrainStep(model);
  model.dispose();
});
testOnBackends("resnet50() trains one step with sgd and GC", async () => {
  const model = resnet50({ ...small, stem: "cifar" });
  await assertTrainStep(model);
  model.dispose();
});
testOnBackends("resnet101() trains one step with sgd and GC", async () => {
  const model = resnet101({ ...small, stem: "cifar" });
  await assertTrainStep(model);
  model.dispose();
});
