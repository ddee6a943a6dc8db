import type { IdxArray } from "./_idx_decoder.ts";
import type { ImageSet } from "./types.ts";

/** What the checks of {@linkcode imageSetFromIdx} call each input. */
export interface IdxSetNames {
  /** Prefix of every message, e.g. `idxImageSet`. */
  who: string;
  /** The image file's name in messages. */
  images: string;
  /** The label file's name in messages. */
  labels: string;
}

/**
 * Pairs decoded image and label arrays into an {@linkcode ImageSet}, with
 * the checks of {@linkcode idxImageSet}; shared with the dataset loaders so
 * that their errors name the files.
 */
export function imageSetFromIdx(
  img: IdxArray,
  lab: IdxArray,
  classNames: readonly string[],
  names: IdxSetNames,
): ImageSet {
  const { who } = names;
  if (
    img.dtype !== "uint8" || (img.shape.length !== 3 && img.shape.length !== 4)
  ) {
    throw new TypeError(
      `${who}: ${names.images} must be uint8 [count, rows, cols(, channels)], got ${img.dtype} [${img.shape}]`,
    );
  }
  if (lab.dtype !== "uint8" || lab.shape.length !== 1) {
    throw new TypeError(
      `${who}: ${names.labels} must be uint8 [count], got ${lab.dtype} [${lab.shape}]`,
    );
  }
  const [count, height, width, channels = 1] = img.shape as [
    number,
    number,
    number,
    number?,
  ];
  if (lab.shape[0] !== count) {
    throw new RangeError(
      `${who}: mismatched counts: ${count} ${names.images} but ${
        lab.shape[0]
      } ${names.labels}`,
    );
  }
  const labelData = lab.data as Uint8Array;
  const numClasses = classNames.length;
  const bad = labelData.findIndex((l) => l >= numClasses);
  if (bad >= 0) {
    throw new RangeError(
      `${who}: ${names.labels}: label ${
        labelData[bad]
      } at index ${bad} is not below numClasses (${numClasses})`,
    );
  }
  return {
    images: img.data as Uint8Array,
    labels: labelData,
    count,
    height,
    width,
    channels,
    numClasses,
    classNames,
  };
}
