import type { ImageSet } from "./types.ts";

/** Options of {@linkcode balancedSubset}. */
export interface BalancedSubsetOptions {
  /** Images to keep of every class. */
  perClass: number;
}

/**
 * A class-balanced subset: the first `perClass` images of every class, kept
 * in their original order (so the result is deterministic and needs no
 * seed). This is how the embedded Fashion-MNIST subset is made.
 *
 * @param set The full set.
 * @param options How many images per class.
 * @returns A new set holding copies of the chosen images.
 *
 * @example
 * ```ts
 * import { balancedSubset } from "@centra/zoo/balanced-subset";
 * import assert from "node:assert/strict";
 *
 * const set = {
 *   images: new Uint8Array([10, 11, 12, 13, 14]), labels: new Uint8Array([0, 0, 1, 0, 1]),
 *   count: 5, height: 1, width: 1, channels: 1, numClasses: 2, classNames: ["a", "b"],
 * };
 * const sub = balancedSubset(set, { perClass: 2 });
 * assert.deepEqual(Array.from(sub.images), [10, 11, 12, 14]);
 * assert.deepEqual(Array.from(sub.labels), [0, 0, 1, 1]);
 * ```
 */
export function balancedSubset(
  set: ImageSet,
  options: BalancedSubsetOptions,
): ImageSet {
  const { perClass } = options;
  if (!Number.isInteger(perClass) || perClass < 1) {
    throw new RangeError(
      `balancedSubset: perClass must be a positive integer, got ${perClass}`,
    );
  }
  const taken = new Array<number>(set.numClasses).fill(0);
  const keep: number[] = [];
  for (let i = 0; i < set.count; i++) {
    const label = set.labels[i]!;
    if (taken[label]! < perClass) {
      taken[label]! += 1;
      keep.push(i);
    }
  }
  const short = taken.findIndex((n) => n < perClass);
  if (short >= 0) {
    throw new RangeError(
      `balancedSubset: class ${short} (${set.classNames[short]}) has ${
        taken[short]
      } images, fewer than perClass (${perClass})`,
    );
  }
  const pixels = set.height * set.width * set.channels;
  const images = new Uint8Array(keep.length * pixels);
  const labels = new Uint8Array(keep.length);
  keep.forEach((i, j) => {
    images.set(set.images.subarray(i * pixels, (i + 1) * pixels), j * pixels);
    labels[j] = set.labels[i]!;
  });
  return { ...set, images, labels, count: keep.length };
}
