import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { idxImageSet, type ImageSet } from "./image_set.ts";

/** Fashion-MNIST's class names, by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
]);

/** Where Debian's package `dataset-fashion-mnist` installs the full set. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** Options of {@linkcode fashionMnist}. */
export interface FashionMnistOptions {
  /**
   * A directory holding `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
   * `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each gzipped
   * (`.gz`) or not. Default {@linkcode FASHION_MNIST_DIR}.
   */
  dir?: string;
  /**
   * `"embedded"`: the class-balanced subset shipped with this package (6,000
   * train and 1,000 test images); `"full"`: the files in `dir`; `"auto"`:
   * `dir` if it holds the files, else the subset. Default `"full"` when `dir`
   * is given, else `"embedded"`, so that results do not depend on what a
   * machine has installed unless asked.
   */
  source?: "embedded" | "full" | "auto";
}

/** What {@linkcode fashionMnist} returns. */
export interface FashionMnist {
  /** The training images. */
  train: ImageSet;
  /** The test images. */
  test: ImageSet;
  /** Which source was read. */
  source: "embedded" | "full";
  /** The directory or URL the files came from. */
  location: string;
}

const FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

const EMBEDDED = new URL("./data/", import.meta.url);

async function readBytes(url: URL): Promise<Uint8Array> {
  if (url.protocol === "file:") return new Uint8Array(await readFile(url));
  const response = await fetch(url);
  if (!response.ok) {
    await response.body?.cancel();
    const error = new Error(
      `fashionMnist: could not fetch ${url} (${response.status})`,
    );
    throw Object.assign(error, {
      code: response.status === 404 ? "ENOENT" : undefined,
    });
  }
  return new Uint8Array(await response.arrayBuffer());
}

// The first of `<file>.gz` and `<file>` that exists, or null.
async function findFile(dir: URL, file: string): Promise<Uint8Array | null> {
  for (const name of [`${file}.gz`, file]) {
    try {
      return await readBytes(new URL(name, dir));
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") throw e;
    }
  }
  return null;
}

function dirUrl(dir: string): URL {
  const url = /^(file|https?):/i.test(dir)
    ? new URL(dir)
    : pathToFileURL(resolve(dir));
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

async function readFrom(
  dir: URL,
  required: boolean,
): Promise<{ train: ImageSet; test: ImageSet } | null> {
  const bytes: Partial<Record<keyof typeof FILES, Uint8Array>> = {};
  for (const [key, file] of Object.entries(FILES)) {
    const b = await findFile(dir, file);
    if (b === null) {
      if (!required) return null;
      throw new Error(
        `fashionMnist: ${file}(.gz) not found in ${
          dir.protocol === "file:" ? decodeURIComponent(dir.pathname) : dir
        }; ` +
          `install Debian's package dataset-fashion-mnist, pass dir, or use source: "embedded"`,
      );
    }
    bytes[key as keyof typeof FILES] = b;
  }
  const classNames = FASHION_MNIST_CLASSES;
  return {
    train: idxImageSet(bytes.trainImages!, bytes.trainLabels!, { classNames }),
    test: idxImageSet(bytes.testImages!, bytes.testLabels!, { classNames }),
  };
}

/**
 * Loads Fashion-MNIST (Xiao, Rasul, Vollgraf, "Fashion-MNIST: a Novel Image
 * Dataset for Benchmarking Machine Learning Algorithms", 2017,
 * arXiv:1708.07747; © Zalando SE, MIT licence): 28x28 grey images of 10
 * clothing classes ({@linkcode FASHION_MNIST_CLASSES}).
 *
 * The full set (60,000 train, 10,000 test) is read from a directory, by
 * default where Debian's `dataset-fashion-mnist` puts it. This package also
 * ships a subset, so that examples run anywhere with no download: the first
 * 600 training and first 100 test images of each class, in file order
 * (`data/make_subset.ts` regenerates it).
 *
 * @param options Directory and source.
 * @returns Train and test sets, the source read and its location.
 *
 * @example The embedded subset
 * ```ts
 * import { fashionMnist } from "@centra/zoo/fashion-mnist";
 * import assert from "node:assert/strict";
 *
 * const { train, test, source } = await fashionMnist();
 * assert.equal(source, "embedded");
 * assert.equal(train.count, 6000);
 * assert.equal(test.count, 1000);
 * assert.equal(train.classNames[9], "Ankle boot");
 * ```
 */
export async function fashionMnist(
  options: FashionMnistOptions = {},
): Promise<FashionMnist> {
  const source = options.source ??
    (options.dir === undefined ? "embedded" : "full");
  if (source !== "embedded" && source !== "full" && source !== "auto") {
    throw new TypeError(
      `fashionMnist: source must be "embedded", "full" or "auto", got "${source}"`,
    );
  }
  const dir = options.dir ?? FASHION_MNIST_DIR;
  if (typeof dir !== "string" || dir === "") {
    throw new TypeError(`fashionMnist: dir must be a path, got "${dir}"`);
  }
  if (source !== "embedded") {
    const url = dirUrl(dir);
    const sets = await readFrom(url, source === "full");
    if (sets !== null) return { ...sets, source: "full", location: dir };
  }
  const sets = await readFrom(EMBEDDED, true);
  return { ...sets!, source: "embedded", location: EMBEDDED.href };
}
