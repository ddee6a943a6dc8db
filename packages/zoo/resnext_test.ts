import assert from "node:assert/strict";
import {
  assertTrainStep,
  fullSizeCount,
  testOnBackends,
} from "./_test_utils.ts";
import { resnext29 } from "./resnext.ts";

// The architecture written out by hand: stem, then per stage three blocks of
// 1x1 reduce, grouped 3x3, 1x1 expand (each with batch norm's 2 per channel)
// and a projection shortcut on the first block.
function expectedCount(
  cardinality: number,
  d: number,
  classes: number,
): number {
  let total = 3 * 3 * 3 * 64 + 2 * 64;
  let inC = 64;
  for (let s = 0; s < 3; s++) {
    const gw = cardinality * d * 2 ** s, out = 2 * gw;
    for (let i = 0; i < 3; i++) {
      total += inC * gw + 2 * gw;
      total += 9 * (gw / cardinality) * gw + 2 * gw;
      total += gw * out + 2 * out;
      if (i === 0) total += inC * out + 2 * out;
      inC = out;
    }
  }
  return total + inC * classes + classes;
}

Deno.test("resnext29() 4x64d has the parameters its blocks add up to", async () => {
  assert.equal(
    await fullSizeCount(() => resnext29()),
    expectedCount(4, 64, 10),
  );
  assert.equal(expectedCount(4, 64, 10), 27_106_122);
  assert.equal(
    await fullSizeCount(() => resnext29({ cardinality: 8, numClasses: 100 })),
    expectedCount(8, 64, 100),
  );
});

Deno.test("resnext29() grouped kernels are [3, 3, groupWidth / cardinality, groupWidth]", () => {
  const model = resnext29({ cardinality: 4, bottleneckWidth: 2 });
  const kernel = (n: string) =>
    model.getLayer(`resnext29/${n}`).getWeights()[0]!.shape;
  assert.deepEqual(kernel("stage1_block0_conv2"), [3, 3, 2, 8]);
  assert.deepEqual(kernel("stage3_block2_conv2"), [3, 3, 8, 32]);
  assert.deepEqual(kernel("stage3_block2_conv3"), [1, 1, 32, 64]);
  assert.equal(
    model.getLayer("resnext29/stage3_block2_conv2").getClassName(),
    "centra>GroupedConv2D",
  );
  assert.deepEqual(model.outputs[0]!.shape, [null, 10]);
  model.dispose();
});

Deno.test("resnext29() rejects a bad cardinality", () => {
  assert.throws(
    () => resnext29({ cardinality: 0 }),
    /cardinality must be a positive integer, got 0/,
  );
});

testOnBackends("resnext29() trains one step with sgd and GC", async () => {
  const model = resnext29({
    cardinality: 2,
    bottleneckWidth: 2,
    width: 1 / 4,
    inputShape: [8, 8, 3],
    numClasses: 4,
    seed: 3,
  });
  await assertTrainStep(model);
  model.dispose();
});
