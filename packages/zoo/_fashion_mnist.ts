// Fashion-MNIST's loader, written once for both entries: `fashionMnist` in
// the main entry (fetch; runs in a browser) and in `@centra/zoo/fs` (paths
// and `node:fs`). They differ only in how a `dir` becomes a URL and how a
// URL is opened.
import { decodeIdxStream, type IdxArray } from "./_idx_decoder.ts";
import { imageSetFromIdx } from "./_image_set.ts";
import type { ImageSet } from "./types.ts";

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
   * Where `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
   * `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` are, each gzipped
   * (`.gz`) or not: a URL (`https:`, `file:`, ...), a `URL`, or a path.
   * Default {@linkcode FASHION_MNIST_DIR}.
   */
  dir?: string | URL;
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

/** An opened file: its chunks, and a way to let it go unread. */
export interface Opened {
  chunks: AsyncIterable<Uint8Array>;
  cancel(): Promise<void>;
}

/** Opens a URL, or returns `null` when nothing is there. */
export type Opener = (url: URL) => Promise<Opened | null>;

const FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;
type Key = keyof typeof FILES;

/** The embedded subset's directory. */
export const EMBEDDED: URL = new URL("./data/", import.meta.url);

/** A URL's name in messages: the path for `file:` URLs. */
export function shown(url: URL): string {
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
}

/** `url` with a trailing slash, so that file names resolve inside it. */
export function asDir(url: URL): URL {
  const out = new URL(url.href);
  if (!out.pathname.endsWith("/")) out.pathname += "/";
  return out;
}

/** Reads a web stream chunk by chunk, cancelling it if the reader stops. */
export function streamChunks(stream: ReadableStream<Uint8Array>): Opened {
  const reader = stream.getReader();
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      while (true) {
        const r = await reader.read();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
  return {
    chunks: chunks(),
    cancel: () => reader.cancel().catch(() => {}),
  };
}

/**
 * Opens a URL with `fetch`: a 404 or 410, or a `file:` URL that cannot be
 * fetched (Deno reports a missing file this way), is "nothing there".
 */
export async function fetchOpen(url: URL): Promise<Opened | null> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    // Deno reports a missing file as a TypeError; a denied read has its own
    // error class, which must not read as "not found".
    const denied = ["NotCapable", "PermissionDenied"].includes(
      (e as Error).name,
    );
    if (url.protocol === "file:" && !denied) return null;
    throw new TypeError(`fashionMnist: could not fetch ${url.href}`, {
      cause: e,
    });
  }
  if (response.status === 404 || response.status === 410) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new TypeError(
      `fashionMnist: could not fetch ${url.href} (${response.status})`,
    );
  }
  return streamChunks(response.body);
}

// The same class of error, its message prefixed.
function rename(e: unknown, prefix: string): Error {
  if (!(e instanceof Error)) return new Error(`${prefix}${String(e)}`);
  const message = prefix + e.message.replace(/^readIdx: /, "");
  const Class = e instanceof RangeError
    ? RangeError
    : e instanceof TypeError
    ? TypeError
    : Error;
  return new Class(message, { cause: e });
}

async function readFrom(
  dir: URL,
  required: boolean,
  open: Opener,
): Promise<{ train: ImageSet; test: ImageSet } | null> {
  // Open all four before decoding any, so that "auto" falls back early.
  const opened: [Key, URL, Opened][] = [];
  const cancelAll = () => Promise.all(opened.map(([, , o]) => o.cancel()));
  for (const [key, file] of Object.entries(FILES) as [Key, string][]) {
    let found: [URL, Opened] | null = null;
    for (const name of [`${file}.gz`, file]) {
      const url = new URL(name, dir);
      const o = await open(url).catch(async (e) => {
        await cancelAll();
        throw e;
      });
      if (o !== null) {
        found = [url, o];
        break;
      }
    }
    if (found === null) {
      await cancelAll();
      if (!required) return null;
      throw new Error(
        `fashionMnist: ${file}(.gz) not found in ${shown(dir)}; ` +
          `install Debian's package dataset-fashion-mnist, pass dir, or use source: "embedded"`,
      );
    }
    opened.push([key, ...found]);
  }
  const arrays: Partial<Record<Key, IdxArray>> = {};
  const urls: Partial<Record<Key, string>> = {};
  for (const [i, [key, url, o]] of opened.entries()) {
    urls[key] = shown(url);
    try {
      arrays[key] = await decodeIdxStream(o.chunks);
    } catch (e) {
      await Promise.all(opened.slice(i + 1).map(([, , o]) => o.cancel()));
      throw rename(e, `fashionMnist: ${shown(url)}: `);
    }
  }
  const classNames = FASHION_MNIST_CLASSES;
  const set = (images: Key, labels: Key) =>
    imageSetFromIdx(arrays[images]!, arrays[labels]!, classNames, {
      who: "fashionMnist",
      images: urls[images]!,
      labels: urls[labels]!,
    });
  return {
    train: set("trainImages", "trainLabels"),
    test: set("testImages", "testLabels"),
  };
}

/**
 * Loads Fashion-MNIST from `options.dir` (made a URL by `toUrl`) or the
 * embedded subset, opening files with `open`.
 */
export async function loadFashionMnist(
  options: FashionMnistOptions,
  toUrl: (dir: string | URL) => URL,
  open: Opener,
): Promise<FashionMnist> {
  const source = options.source ??
    (options.dir === undefined ? "embedded" : "full");
  if (source !== "embedded" && source !== "full" && source !== "auto") {
    throw new TypeError(
      `fashionMnist: source must be "embedded", "full" or "auto", got "${source}"`,
    );
  }
  const dir = options.dir ?? FASHION_MNIST_DIR;
  if (!(dir instanceof URL) && (typeof dir !== "string" || dir === "")) {
    throw new TypeError(
      `fashionMnist: dir must be a path or URL, got "${String(dir)}"`,
    );
  }
  if (source !== "embedded") {
    const url = asDir(toUrl(dir));
    const sets = await readFrom(url, source === "full", open);
    if (sets !== null) {
      return { ...sets, source: "full", location: String(dir) };
    }
  }
  const sets = await readFrom(EMBEDDED, true, open);
  return { ...sets!, source: "embedded", location: EMBEDDED.href };
}
