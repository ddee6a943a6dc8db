import { readIdx } from "./idx.ts";
import { imageSetFromIdx } from "./_image_set.ts";
import type { ImageSet } from "./types.ts";

export type { ImageSet } from "./types.ts";

/** Options of {@linkcode idxImageSet}. */
export interface IdxImageSetOptions {
  /** Class names; their number is the number of classes. Default `"0"` ... `"9"`. */
  classNames?: readonly string[];
}

/**
 * Builds an {@linkcode ImageSet} from an IDX image file (`[count, rows,
 * cols]` or `[count, rows, cols, channels]`, uint8) and an IDX label file
 * (`[count]`, uint8), each gzipped or not, as MNIST and Fashion-MNIST ship.
 *
 * Errors name the problem: not uint8, wrong rank, different image and label
 * counts, or a label outside the class names.
 *
 * @param images The image file's bytes.
 * @param labels The label file's bytes.
 * @param options Class names.
 * @returns The dataset; `images` and `labels` are views of the decoded
 * bytes.
 *
 * @example
 * ```ts
 * import { writeIdx } from "@centra/zoo/idx";
 * import { idxImageSet } from "@centra/zoo/image-set";
 * import assert from "node:assert/strict";
 *
 * const images = writeIdx({ dtype: "uint8", shape: [2, 2, 2], data: new Uint8Array(8) });
 * const labels = writeIdx({ dtype: "uint8", shape: [2], data: new Uint8Array([1, 0]) });
 * const set = idxImageSet(images, labels, { classNames: ["no", "yes"] });
 * assert.equal(set.count, 2);
 * assert.equal(set.channels, 1);
 * const three = writeIdx({ dtype: "uint8", shape: [3], data: new Uint8Array(3) });
 * assert.throws(() => idxImageSet(images, three), /2 images but 3 labels/);
 * ```
 */
export function idxImageSet(
  images: Uint8Array,
  labels: Uint8Array,
  options: IdxImageSetOptions = {},
): ImageSet {
  const classNames = options.classNames ??
    Array.from({ length: 10 }, (_, i) => `${i}`);
  if (classNames.length < 1 || classNames.length > 256) {
    throw new RangeError(
      `idxImageSet: classNames must name 1 to 256 classes, got ${classNames.length}`,
    );
  }
  return imageSetFromIdx(readIdx(images), readIdx(labels), classNames, {
    who: "idxImageSet",
    images: "images",
    labels: "labels",
  });
}
