import assert from "node:assert/strict";
import { balancedSubset } from "./balanced_subset.ts";
import type { ImageSet } from "./image_set.ts";

function set(labels: number[], numClasses = 3): ImageSet {
  return {
    images: Uint8Array.from({ length: labels.length * 2 }, (_, i) => i),
    labels: Uint8Array.from(labels),
    count: labels.length,
    height: 1,
    width: 2,
    channels: 1,
    numClasses,
    classNames: ["a", "b", "c"].slice(0, numClasses),
  };
}

Deno.test("balancedSubset() keeps the first images of each class, in order", () => {
  const sub = balancedSubset(set([2, 0, 0, 1, 0, 2, 1, 1]), { perClass: 2 });
  assert.deepEqual(Array.from(sub.labels), [2, 0, 0, 1, 2, 1]);
  assert.deepEqual(Array.from(sub.images), [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    10,
    11,
    12,
    13,
  ]);
  assert.equal(sub.count, 6);
  assert.equal(sub.width, 2);
});

Deno.test("balancedSubset() names a class with too few images", () => {
  assert.throws(
    () => balancedSubset(set([0, 0, 1, 2, 2]), { perClass: 2 }),
    (e) =>
      e instanceof RangeError &&
      /class 1 \(b\) has 1 images, fewer than perClass \(2\)/.test(e.message),
  );
  assert.throws(
    () => balancedSubset(set([0]), { perClass: 0 }),
    /perClass must be a positive integer, got 0/,
  );
});
