/**
 * The page's dataset loader: the Fashion-MNIST subset embedded in
 * `@centra/zoo` (`packages/zoo/data/*.gz`), fetched over http and decoded
 * in the page.
 *
 * This is the one seam between the page and `@centra/zoo`'s data loading:
 * {@linkcode loadFashionMnist} decodes the gzipped IDX files itself (with
 * the platform's `DecompressionStream`), because `@centra/zoo`'s IDX reader
 * uses `node:zlib` and its `fashionMnist()` reads files. When zoo loads
 * datasets from URLs or bytes in a browser, this function becomes a call
 * to that API; nothing else in `web/` changes.
 *
 * @module
 */
import type { ImageSet } from "../packages/zoo/image_set.ts";

/** The ten Fashion-MNIST class names, by label. */
export const CLASS_NAMES: readonly string[] = [
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
];

async function gunzip(url: URL): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new Error(
      `loadFashionMnist: could not fetch ${url} (${response.status})`,
    );
  }
  const stream = response.body.pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// An IDX file of unsigned bytes (type 0x08): its dimensions and data.
function idxBytes(
  bytes: Uint8Array,
  what: string,
): { dims: number[]; data: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0 || bytes[2] !== 0x08) {
    throw new TypeError(
      `loadFashionMnist: ${what} is not an IDX file of uint8`,
    );
  }
  const rank = bytes[3]!;
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i));
  const start = 4 + 4 * rank;
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== start + size) {
    throw new RangeError(
      `loadFashionMnist: ${what} holds ${
        bytes.length - start
      } bytes of data, its header says ${size}`,
    );
  }
  return { dims, data: bytes.subarray(start) };
}

async function imageSet(base: URL, prefix: string): Promise<ImageSet> {
  const [img, lab] = await Promise.all([
    gunzip(new URL(`${prefix}-images-idx3-ubyte.gz`, base)),
    gunzip(new URL(`${prefix}-labels-idx1-ubyte.gz`, base)),
  ]);
  const images = idxBytes(img, `${prefix} images`);
  const labels = idxBytes(lab, `${prefix} labels`);
  const [count, height, width] = images.dims as [number, number, number];
  if (
    images.dims.length !== 3 || labels.dims.length !== 1 ||
    labels.dims[0] !== count
  ) {
    throw new RangeError(
      `loadFashionMnist: ${prefix} images [${images.dims}] and labels [${labels.dims}] do not match`,
    );
  }
  return {
    images: images.data,
    labels: labels.data,
    count,
    height,
    width,
    channels: 1,
    numClasses: CLASS_NAMES.length,
    classNames: CLASS_NAMES,
  };
}

/**
 * Loads the embedded Fashion-MNIST subset (6,000 train and 1,000 test
 * images, class-balanced) from a folder URL that serves
 * `packages/zoo/data/`.
 *
 * @param base The folder's URL, ending with `/` (http(s) in a page; a
 * `file:` URL works in Deno).
 * @returns The train and test sets.
 * @throws {TypeError | RangeError} When a file is not the IDX it should be.
 */
export async function loadFashionMnist(
  base: URL,
): Promise<{ train: ImageSet; test: ImageSet }> {
  const [train, test] = await Promise.all([
    imageSet(base, "train"),
    imageSet(base, "t10k"),
  ]);
  return { train, test };
}
