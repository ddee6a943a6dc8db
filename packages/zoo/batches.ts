import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";
import type { ImageSet } from "./types.ts";
import { mulberry32 } from "./_random.ts";

/** Options of {@linkcode batches}. */
export interface BatchesOptions {
  /** Images per batch; a positive integer. */
  batchSize: number;
  /** Shuffle the order, differently each epoch. Default `true`. */
  shuffle?: boolean;
  /** Seed of the shuffles. Default 0: the same orders on every run. */
  seed?: number;
  /** Skip the last batch when it is smaller than `batchSize`. Default `false`. */
  dropRemainder?: boolean;
  /** Subtracted after scaling to [0, 1]: one value, or one per channel. Default 0. */
  mean?: number | readonly number[];
  /** Divides after subtracting `mean`: one value, or one per channel. Default 1. */
  std?: number | readonly number[];
}

/** One batch: the caller owns (and disposes) both tensors. */
export interface Batch {
  /** Images `[batch, height, width, channels]`, float32. */
  xs: tf.Tensor4D;
  /** One-hot labels `[batch, numClasses]`, float32. */
  ys: tf.Tensor2D;
}

/**
 * Batches over an {@linkcode ImageSet}, epoch after epoch: each `for ... of`
 * (each call of `[Symbol.iterator]`) is the next epoch, with its own
 * shuffle; `epoch(k)` gives epoch `k` directly, for resuming.
 */
export interface Batches extends Iterable<Batch> {
  /** Batches per epoch. */
  readonly length: number;
  /** The batches of epoch `k` (0-based). */
  epoch(k: number): IterableIterator<Batch>;
}

function perChannel(
  what: string,
  value: number | readonly number[],
  channels: number,
  positive: boolean,
): Float32Array {
  const values = typeof value === "number"
    ? Array.from({ length: channels }, () => value)
    : [...value];
  if (
    values.length !== channels ||
    // as float32 values, what they become: 1e39 is Infinity, 1e-50 is 0
    values.some((v) =>
      typeof v !== "number" || !Number.isFinite(Math.fround(v)) ||
      (positive && Math.fround(v) <= 0)
    )
  ) {
    throw new RangeError(
      `batches: ${what} must be ${
        positive ? "a positive" : "a finite"
      } float32 number or ${channels} of them (one per channel), got ${
        JSON.stringify(value)
      }`,
    );
  }
  return Float32Array.from(values);
}

function order(count: number, shuffle: boolean, seed: number, epoch: number) {
  const index = new Uint32Array(count);
  for (let i = 0; i < count; i++) index[i] = i;
  if (!shuffle) return index;
  const next = mulberry32(Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) + epoch);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = index[i]!;
    index[i] = index[j]!;
    index[j] = t;
  }
  return index;
}

/**
 * Seeded, shuffled mini-batches of an {@linkcode ImageSet} as tensors, built
 * one batch at a time from the set's bytes: pixels scaled to [0, 1], then
 * `(x - mean) / std`, and labels one-hot. Only an index permutation is held
 * besides the set itself, so the data are never copied whole.
 *
 * Like a PyTorch `DataLoader`, iterating again starts a new epoch with a new
 * order; the orders depend only on `seed` and the epoch number.
 *
 * @param set The images and labels.
 * @param options Batch size, shuffling, seed, remainder and normalisation.
 * @returns A re-iterable sequence of batches; dispose each batch's tensors.
 *
 * @example
 * ```ts
 * import { batches } from "@centra/zoo/batches";
 * import assert from "node:assert/strict";
 *
 * const set = {
 *   images: new Uint8Array([0, 255, 51, 102, 153]), labels: new Uint8Array([0, 1, 1, 0, 1]),
 *   count: 5, height: 1, width: 1, channels: 1, numClasses: 2, classNames: ["a", "b"],
 * };
 * const loader = batches(set, { batchSize: 2, shuffle: false });
 * assert.equal(loader.length, 3);
 * const [first] = loader;
 * assert.deepEqual(Array.from(first!.xs.dataSync()), [0, 1]);
 * assert.deepEqual(first!.ys.arraySync(), [[1, 0], [0, 1]]);
 * first!.xs.dispose();
 * first!.ys.dispose();
 * ```
 */
export function batches(set: ImageSet, options: BatchesOptions): Batches {
  const {
    batchSize,
    shuffle = true,
    seed = 0,
    dropRemainder = false,
    mean = 0,
    std = 1,
  } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `batches: batchSize must be a positive integer, got ${batchSize}`,
    );
  }
  if (!Number.isInteger(seed)) {
    throw new TypeError(`batches: seed must be an integer, got ${seed}`);
  }
  const { count, height, width, channels, images, labels } = set;
  const pixels = height * width * channels;
  if (images.length !== count * pixels || labels.length !== count) {
    throw new RangeError(
      `batches: the set holds ${images.length} pixel values and ${labels.length} labels, but count ${count} of ${height}x${width}x${channels} needs ${
        count * pixels
      } and ${count}`,
    );
  }
  const m = perChannel("mean", mean, channels, false);
  const s = perChannel("std", std, channels, true);
  // x' = (x / 255 - m) / s = x * a + c, per channel.
  const a = s.map((si) => 1 / (255 * si));
  const c = s.map((si, i) => -m[i]! / si);
  const length = dropRemainder
    ? Math.floor(count / batchSize)
    : Math.ceil(count / batchSize);
  let epochs = 0;

  function* epoch(k: number): IterableIterator<Batch> {
    if (!Number.isInteger(k) || k < 0) {
      throw new RangeError(
        `batches: epoch must be a non-negative integer, got ${k}`,
      );
    }
    const index = order(count, shuffle, seed, k);
    for (let b = 0; b < length; b++) {
      const start = b * batchSize;
      const picked = index.subarray(
        start,
        start + Math.min(batchSize, count - start),
      );
      yield makeBatch(set, picked, { a, c });
    }
  }

  return {
    length,
    epoch,
    [Symbol.iterator]: () => epoch(epochs++),
  };
}

/**
 * One batch: the images at `picked`, each pixel `x * a + c` for its channel,
 * and their one-hot labels.
 */
function makeBatch(
  set: ImageSet,
  picked: Uint32Array,
  affine: { a: Float32Array; c: Float32Array },
): Batch {
  const { height, width, channels, numClasses, images, labels } = set;
  const { a, c } = affine;
  const pixels = height * width * channels;
  const n = picked.length;
  const x = new Float32Array(n * pixels);
  const y = new Float32Array(n * numClasses);
  for (let j = 0; j < n; j++) {
    const i = picked[j]!;
    const label = labels[i]!;
    if (label >= numClasses) {
      throw new RangeError(
        `batches: label ${label} of image ${i} is not below numClasses (${numClasses})`,
      );
    }
    y[j * numClasses + label] = 1;
    const from = i * pixels, to = j * pixels;
    for (let p = 0; p < pixels; p++) {
      const ch = p % channels;
      x[to + p] = images[from + p]! * a[ch]! + c[ch]!;
    }
  }
  return {
    xs: tf.tensor4d(x, [n, height, width, channels], "float32"),
    ys: tf.tensor2d(y, [n, numClasses], "float32"),
  };
}
