/**
 * `@centra/zoo/fs`: the parts of `@centra/zoo` that read local files with
 * `node:fs` (Node, Deno, Bun), kept out of the main entry so that it loads
 * in a browser. {@linkcode fashionMnist} here takes paths relative to the
 * working directory; {@linkcode readIdxFile} reads one IDX file.
 *
 * @example Read an IDX file
 * ```ts
 * import { writeIdx } from "@centra/zoo/idx";
 * import { readIdxFile } from "@centra/zoo/fs";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".idx" });
 * await Deno.writeFile(path, writeIdx({ dtype: "uint8", shape: [2], data: new Uint8Array([3, 7]) }));
 * const { shape, data } = await readIdxFile(path);
 * assert.deepEqual(shape, [2]);
 * assert.deepEqual(Array.from(data), [3, 7]);
 * await Deno.remove(path);
 * ```
 *
 * @module
 */
import { open } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { decodeIdxStream, type IdxArray } from "./_idx_decoder.ts";
import {
  type FashionMnist,
  type FashionMnistOptions,
  fetchOpen,
  loadFashionMnist,
  type Opened,
  shown,
} from "./_fashion_mnist.ts";

const CHUNK = 64 * 1024;

async function fileOpen(url: URL): Promise<Opened | null> {
  if (url.protocol !== "file:") return await fetchOpen(url);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(url, "r");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return null;
    throw e;
  }
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await handle.close();
    }
  };
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      while (true) {
        const buffer = new Uint8Array(CHUNK);
        const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
        if (bytesRead === 0) return;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await close();
    }
  }
  return { chunks: chunks(), cancel: close };
}

function toUrl(dir: string | URL): URL {
  if (dir instanceof URL) return dir;
  // A scheme of two or more letters: `C:` is a drive, not a scheme.
  if (/^[a-z][a-z0-9+.-]+:/i.test(dir)) return new URL(dir);
  return pathToFileURL(resolve(dir));
}

/**
 * Loads Fashion-MNIST as `fashionMnist` from `@centra/zoo` does, reading
 * local files with `node:fs`: `dir` may also be a path relative to the
 * working directory, and the embedded subset loads in Node too (whose
 * `fetch` has no `file:` URLs). URLs other than `file:` are fetched.
 *
 * @param options Directory (path or URL) and source.
 * @returns Train and test sets, the source read and its location.
 * @throws {TypeError} for a bad `source` or `dir`.
 * @throws {Error} when `source` is `"full"` and a file is missing.
 * @throws {RangeError} for a corrupt or inconsistent file, naming it.
 *
 * @example A directory given relative to the working directory
 * ```ts
 * import { fashionMnist } from "@centra/zoo/fs";
 * import { writeIdx } from "@centra/zoo/idx";
 * import { relative } from "node:path";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const images = writeIdx({ dtype: "uint8", shape: [2, 28, 28], data: new Uint8Array(2 * 784) });
 * const labels = writeIdx({ dtype: "uint8", shape: [2], data: new Uint8Array([9, 0]) });
 * for (const set of ["train", "t10k"]) {
 *   await Deno.writeFile(`${dir}/${set}-images-idx3-ubyte`, images);
 *   await Deno.writeFile(`${dir}/${set}-labels-idx1-ubyte`, labels);
 * }
 * const { train, source } = await fashionMnist({ dir: relative(Deno.cwd(), dir) });
 * assert.equal(source, "full");
 * assert.equal(train.classNames[train.labels[0]!], "Ankle boot");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function fashionMnist(
  options: FashionMnistOptions = {},
): Promise<FashionMnist> {
  return loadFashionMnist(options, toUrl, fileOpen);
}

/**
 * Reads and decodes one IDX file (gzipped or not) from a path or URL,
 * streaming it: the header is read first, and reading stops as soon as the
 * file proves longer than the header declares, so an oversize file or gzip
 * bomb is refused without being read whole.
 *
 * @param path A path (relative to the working directory) or URL.
 * @returns The decoded array.
 * @throws {Error} when the file does not exist.
 * @throws {RangeError} for a corrupt or inconsistent file, naming it.
 */
export async function readIdxFile(path: string | URL): Promise<IdxArray> {
  const url = toUrl(path);
  const opened = await fileOpen(url);
  if (opened === null) {
    throw new Error(`readIdxFile: ${shown(url)} does not exist`);
  }
  try {
    return await decodeIdxStream(opened.chunks);
  } catch (e) {
    const message = `readIdxFile: ${shown(url)}: ${
      (e as Error).message.replace(/^readIdx: /, "")
    }`;
    throw e instanceof RangeError
      ? new RangeError(message, { cause: e })
      : new Error(message, { cause: e });
  }
}
