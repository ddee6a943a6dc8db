import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { assertClose, read, testOnBackends } from "./_test_utils.ts";
import { batches } from "./batches.ts";
import type { ImageSet } from "./image_set.ts";

// Image i has every pixel equal to i (channel c: i + c); label i % 3.
function set(count: number, channels = 1): ImageSet {
  const pixels = 2 * 2 * channels;
  return {
    images: Uint8Array.from(
      { length: count * pixels },
      (_, j) => Math.floor(j / pixels) + (j % channels),
    ),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 3),
    count,
    height: 2,
    width: 2,
    channels,
    numClasses: 3,
    classNames: ["a", "b", "c"],
  };
}

async function epochOrder(
  it: Iterable<{ xs: tf.Tensor4D; ys: tf.Tensor2D }>,
): Promise<number[]> {
  const order: number[] = [];
  for (const { xs, ys } of it) {
    const x = await xs.data();
    for (let i = 0; i < xs.shape[0]; i++) {
      order.push(Math.round(x[i * 4]! * 255));
    }
    tf.dispose([xs, ys]);
  }
  return order;
}

testOnBackends(
  "batches() scales to [0, 1], one-hot encodes and sizes the last batch",
  async () => {
    const before = tf.memory().numTensors;
    const loader = batches(set(10), { batchSize: 4, shuffle: false });
    assert.equal(loader.length, 3);
    const all = [...loader];
    assert.deepEqual(all.map((b) => b.xs.shape), [[4, 2, 2, 1], [4, 2, 2, 1], [
      2,
      2,
      2,
      1,
    ]]);
    assert.equal(all[0]!.xs.dtype, "float32");
    assertClose(
      await read(all[2]!.xs),
      [8, 8, 8, 8, 9, 9, 9, 9].map((v) => v / 255),
    );
    assert.deepEqual(await all[0]!.ys.array(), [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 0, 0],
    ]);
    all.forEach((b) => tf.dispose([b.xs, b.ys]));
    assert.equal(tf.memory().numTensors, before);
  },
);

Deno.test("batches() drops the remainder on request", async () => {
  const loader = batches(set(10), {
    batchSize: 4,
    dropRemainder: true,
    seed: 3,
  });
  assert.equal(loader.length, 2);
  const order = await epochOrder(loader);
  assert.equal(order.length, 8);
});

Deno.test("batches() shuffles by seed and epoch: a permutation per epoch, reproducible", async () => {
  const a = batches(set(50), { batchSize: 8, seed: 1 });
  const e0 = await epochOrder(a);
  const e1 = await epochOrder(a);
  assert.deepEqual(
    [...e0].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.deepEqual(
    [...e1].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.notDeepEqual(e0, e1);
  assert.notDeepEqual(e0, Array.from({ length: 50 }, (_, i) => i));
  const b = batches(set(50), { batchSize: 8, seed: 1 });
  assert.deepEqual(await epochOrder(b), e0);
  assert.deepEqual(await epochOrder(b.epoch(1)), e1);
  assert.notDeepEqual(
    await epochOrder(batches(set(50), { batchSize: 8, seed: 2 })),
    e0,
  );
});

Deno.test("batches() normalises per channel with mean and std", async () => {
  const [batch] = batches(set(1, 3), {
    batchSize: 1,
    shuffle: false,
    mean: [0, 0.5, 1],
    std: [1, 2, 0.5],
  });
  // Image 0: channel values 0, 1, 2.
  const expected = [0 / 255, (1 / 255 - 0.5) / 2, (2 / 255 - 1) / 0.5];
  assertClose(await read(batch!.xs), [0, 1, 2, 3].flatMap(() => expected), {
    rtol: 1e-6,
  });
  tf.dispose([batch!.xs, batch!.ys]);
});

Deno.test("batches() rejects bad options, naming them", () => {
  assert.throws(
    () => batches(set(4), { batchSize: 0 }),
    /batchSize must be a positive integer, got 0/,
  );
  assert.throws(
    () => batches(set(4, 3), { batchSize: 2, mean: [0.5, 0.5] }),
    /mean must be .* 3 of them .* got \[0.5,0.5\]/,
  );
  assert.throws(
    () => batches(set(4), { batchSize: 2, std: 0 }),
    /std must be a positive float32 number/,
  );
  // float32 values: 1e-50 is 0 and 1e39 Infinity there
  assert.throws(
    () => batches(set(4), { batchSize: 2, std: 1e-50 }),
    /std must be a positive float32 number .* got 1e-50/,
  );
  assert.throws(
    () => batches(set(4), { batchSize: 2, mean: 1e39 }),
    /mean must be a finite float32 number .* got 1e\+39/,
  );
  assert.throws(
    () => batches({ ...set(4), count: 5 }, { batchSize: 2 }),
    /count 5/,
  );
  assert.throws(
    () => batches(set(4), { batchSize: 2 }).epoch(-1).next(),
    /epoch must be a non-negative integer, got -1/,
  );
});
