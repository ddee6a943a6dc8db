/**
 * The page's dataset loader: the Fashion-MNIST subset embedded in
 * `@centra/zoo` (`packages/zoo/data/*.gz`), which `deno task serve` serves
 * under `data/`, read with `@centra/zoo`'s browser-safe `fashionMnist`
 * (`fetch` and a streaming gzip reader that stops at the size each IDX
 * header declares).
 *
 * @module
 */
import { FASHION_MNIST_CLASSES, fashionMnist } from "@centra/zoo/fashion-mnist";
import type { ImageSet } from "@centra/zoo/image-set";

/** The ten Fashion-MNIST class names, by label. */
export const CLASS_NAMES: readonly string[] = FASHION_MNIST_CLASSES;

/**
 * Loads the embedded Fashion-MNIST subset (6,000 train and 1,000 test
 * images, class-balanced) from a folder URL that serves
 * `packages/zoo/data/`.
 *
 * @param base The folder's URL, ending with `/` (http(s) in a page; a
 * `file:` URL works in Deno).
 * @returns The train and test sets.
 * @throws {TypeError | RangeError} When a file is missing or not the IDX it
 * should be (the error names the file).
 */
export async function loadFashionMnist(
  base: URL,
): Promise<{ train: ImageSet; test: ImageSet }> {
  const { train, test } = await fashionMnist({ dir: base, source: "full" });
  return { train, test };
}
