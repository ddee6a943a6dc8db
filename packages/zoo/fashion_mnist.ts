import {
  type FashionMnist,
  type FashionMnistOptions,
  fetchOpen,
  loadFashionMnist,
} from "./_fashion_mnist.ts";

export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  type FashionMnist,
  type FashionMnistOptions,
} from "./_fashion_mnist.ts";

// Escapes what a URL would read as syntax in a file name.
function fileUrl(path: string): URL {
  const escaped = path.replace(
    /[%#?\\]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return new URL(`file://${escaped}`);
}

function pageUrl(): string | undefined {
  try {
    return (globalThis as { location?: { href?: string } }).location?.href;
  } catch {
    // Deno without --location throws on reading `location`.
    return undefined;
  }
}

function toUrl(dir: string | URL): URL {
  if (dir instanceof URL) return dir;
  // A scheme of two or more letters: `C:` is a drive, not a scheme.
  if (/^[a-z][a-z0-9+.-]+:/i.test(dir)) return new URL(dir);
  const page = pageUrl();
  if (page !== undefined) return new URL(dir, page);
  if (dir.startsWith("/")) return fileUrl(dir);
  if (/^[a-z]:[\\/]/i.test(dir)) {
    return fileUrl(`/${dir.replaceAll("\\", "/")}`);
  }
  throw new TypeError(
    `fashionMnist: dir "${dir}" is a relative path and there is no page to resolve it against; ` +
      `pass an absolute path or a URL, or use the fashionMnist of "@centra/zoo/fs", which resolves paths against the working directory`,
  );
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
 * This entry uses only `fetch`, so it runs in a browser as in Deno: `dir` is
 * a URL (`https:`, `file:` in Deno, ...) or a path, resolved against the
 * page's URL when there is one, else taken as a `file:` path when absolute.
 * A relative path outside a page is refused: `fashionMnist` from
 * `@centra/zoo/fs` resolves it against the working directory and reads with
 * `node:fs` (Node, Deno, Bun). Files are streamed and decoded as they arrive
 * (see `readIdx`): a file longer than its header declares is refused as soon
 * as that shows, and every error names the file. For files already in memory,
 * `idxImageSet(images, labels, { classNames: FASHION_MNIST_CLASSES })` builds
 * the same sets from bytes.
 *
 * @param options Directory (path or URL) and source.
 * @returns Train and test sets, the source read and its location.
 * @throws {TypeError} for a bad `source` or `dir`, or a relative `dir` with no
 * page to resolve it against.
 * @throws {Error} when `source` is `"full"` and a file is missing.
 * @throws {RangeError} for a corrupt or inconsistent file, naming it.
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
export function fashionMnist(
  options: FashionMnistOptions = {},
): Promise<FashionMnist> {
  return loadFashionMnist(options, toUrl, fetchOpen);
}
