import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { writeIdx } from "./idx.ts";
import { idxImageSet } from "./image_set.ts";

const images = (shape: number[]) =>
  writeIdx({
    dtype: "uint8",
    shape,
    data: new Uint8Array(shape.reduce((a, d) => a * d, 1)).map((_, i) => i),
  });
const labels = (values: number[]) =>
  writeIdx({
    dtype: "uint8",
    shape: [values.length],
    data: new Uint8Array(values),
  });

Deno.test("idxImageSet() pairs images and labels, gzipped or not", () => {
  const set = idxImageSet(
    new Uint8Array(gzipSync(images([3, 2, 2]))),
    labels([2, 0, 1]),
    {
      classNames: ["a", "b", "c"],
    },
  );
  assert.equal(set.count, 3);
  assert.deepEqual([set.height, set.width, set.channels, set.numClasses], [
    2,
    2,
    1,
    3,
  ]);
  assert.deepEqual(Array.from(set.labels), [2, 0, 1]);
  assert.equal(set.images[11], 11);
  const rgb = idxImageSet(images([2, 1, 1, 3]), labels([0, 1]));
  assert.equal(rgb.channels, 3);
  assert.equal(rgb.numClasses, 10);
});

Deno.test("idxImageSet() reports mismatched image and label counts", () => {
  assert.throws(
    () => idxImageSet(images([3, 2, 2]), labels([0, 1])),
    (e) =>
      e instanceof RangeError &&
      /mismatched counts: 3 images but 2 labels/.test(e.message),
  );
});

Deno.test("idxImageSet() rejects wrong ranks, types and labels", () => {
  assert.throws(
    () => idxImageSet(images([3, 4]), labels([0, 1, 2])),
    /images must be uint8 \[count, rows, cols\(, channels\)\], got uint8 \[3,4\]/,
  );
  assert.throws(
    () => idxImageSet(images([2, 1, 1]), images([2, 1, 1])),
    /labels must be uint8 \[count\]/,
  );
  const int32 = writeIdx({
    dtype: "int32",
    shape: [2],
    data: new Int32Array([0, 1]),
  });
  assert.throws(() => idxImageSet(images([2, 1, 1]), int32), /got int32 \[2\]/);
  assert.throws(
    () =>
      idxImageSet(images([2, 1, 1]), labels([0, 2]), {
        classNames: ["a", "b"],
      }),
    /label 2 at index 1 is not below numClasses \(2\)/,
  );
});
