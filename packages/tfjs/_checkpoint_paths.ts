// Checks of a checkpoint's manifest that need no file system: weight file
// names, weight specs and the bytes they declare. Shared by the loader and
// the writer, so that both hold the same rules.

/** One weight as a manifest lists it (tfjs's `WeightsManifestEntry`). */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** One group of a manifest: its weights span its files, concatenated. */
export interface WeightGroup {
  /** The file names as given, each checked by {@linkcode checkWeightPath}. */
  paths: string[];
  /** The same names relative to the checkpoint directory, `./` removed. */
  files: string[];
  weights: WeightSpec[];
}

// Bytes per element, as tfjs's decodeWeights reads them.
const VALUE_SIZE: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
};
const QUANTIZED_SIZE: Record<string, number> = {
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/**
 * Checks that a manifest's weight path is a plain relative file name inside
 * the checkpoint directory and returns it without a leading `./`.
 *
 * Refused: non-strings, empty names, NUL, backslashes, colons (drive letters,
 * URLs, alternate data streams), absolute paths, and empty, `.` or `..`
 * segments (one leading `./`, which tfjs writes, is allowed).
 *
 * @throws {TypeError} naming the path and the manifest file.
 */
export function checkWeightPath(path: unknown, manifest: string): string {
  const refuse = (why: string): never => {
    throw new TypeError(
      `fileSystem: ${manifest} names the weight file ${
        JSON.stringify(path)
      }, which is not a plain relative file name inside the checkpoint directory (${why})`,
    );
  };
  if (typeof path !== "string") return refuse("not a string");
  if (path.includes("\0")) return refuse("it contains NUL");
  if (path.includes("\\")) return refuse("it contains a backslash");
  if (path.includes(":")) return refuse("it contains a colon");
  if (path.startsWith("/")) return refuse("it is absolute");
  const rest = path.startsWith("./") ? path.slice(2) : path;
  if (rest === "") return refuse("it is empty");
  for (const segment of rest.split("/")) {
    if (segment === "..") return refuse("it has a '..' segment");
    if (segment === "" || segment === ".") {
      return refuse("it has an empty or '.' segment");
    }
  }
  return rest;
}

function isSize(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/**
 * Reads a manifest's `weightsManifest` into checked groups.
 *
 * @throws {TypeError} naming the manifest file and the bad entry.
 */
export function checkManifest(
  manifest: unknown,
  manifestFile: string,
): WeightGroup[] {
  const bad = (what: string): never => {
    throw new TypeError(`fileSystem: ${manifestFile}: ${what}`);
  };
  if (manifest === undefined || manifest === null) return [];
  if (!Array.isArray(manifest)) {
    return bad("weightsManifest is not an array");
  }
  return manifest.map((group: unknown, g) => {
    const { paths, weights } = (group ?? {}) as {
      paths?: unknown;
      weights?: unknown;
    };
    if (!Array.isArray(paths) || !Array.isArray(weights)) {
      return bad(`weightsManifest[${g}] lacks a paths or weights array`);
    }
    const files = paths.map((p) => checkWeightPath(p, manifestFile));
    for (const w of weights as unknown[]) checkSpec(w, manifestFile);
    return {
      paths: paths as string[],
      files,
      weights: weights as WeightSpec[],
    };
  });
}

function checkSpec(w: unknown, manifestFile: string): void {
  const spec = (w ?? {}) as Partial<WeightSpec>;
  const name = typeof spec.name === "string" ? spec.name : undefined;
  const bad = (what: string): never => {
    throw new TypeError(
      `fileSystem: ${manifestFile}: weight ${
        name === undefined ? JSON.stringify(w) : `"${name}"`
      } ${what}`,
    );
  };
  if (name === undefined) return bad("has no name");
  if (!Array.isArray(spec.shape) || !spec.shape.every(isSize)) {
    return bad(`has shape ${JSON.stringify(spec.shape)}, not a list of sizes`);
  }
  const q = spec.quantization;
  if (q !== undefined) {
    if (QUANTIZED_SIZE[q?.dtype] === undefined) {
      return bad(`has quantization dtype ${JSON.stringify(q?.dtype)}`);
    }
  } else if (spec.dtype !== "string" && VALUE_SIZE[spec.dtype!] === undefined) {
    return bad(`has dtype ${JSON.stringify(spec.dtype)}`);
  }
  if (!isSize(spec.shape.reduce((a, d) => a * d, 1))) {
    return bad(`has shape [${spec.shape}], too many elements`);
  }
}

/** Elements of a weight. */
function elements(spec: WeightSpec): number {
  return spec.shape.reduce((a, d) => a * d, 1);
}

/**
 * The bytes a weight takes in the weight files, or `null` for a string
 * weight (each string is a 4-byte length, then its bytes).
 */
export function weightBytes(spec: WeightSpec): number | null {
  const q = spec.quantization;
  if (q !== undefined) return elements(spec) * QUANTIZED_SIZE[q.dtype]!;
  if (spec.dtype === "string") return null;
  return elements(spec) * VALUE_SIZE[spec.dtype]!;
}

/**
 * Checks, before any weight file is read, that files of `size` bytes in all
 * can hold the group's weights: exactly, or for groups with string weights at
 * least their 4-byte lengths. The error names the files and the first weight
 * that does not fit, or the bytes left over.
 *
 * @throws {RangeError} naming the files, the manifest and the weight.
 */
export function checkGroupSize(
  weights: readonly WeightSpec[],
  size: number,
  files: string,
  manifestFile: string,
): void {
  let at = 0;
  let exact = true;
  for (const w of weights) {
    const n = weightBytes(w);
    if (n === null) exact = false;
    const start = at;
    at += n ?? 4 * elements(w);
    if (at > size) {
      throw new RangeError(
        `fileSystem: ${files} holds ${size} bytes, but ${manifestFile} declares more: weight "${w.name}" (${w.dtype} [${w.shape}]) starts at byte ${start} and needs ${
          n ?? `at least ${at - start}`
        }`,
      );
    }
  }
  if (exact && at !== size) {
    throw new RangeError(
      `fileSystem: ${files} holds ${size} bytes, but the weights ${manifestFile} declares for it take ${at}: ${
        size - at
      } bytes are left over${
        weights.length > 0
          ? ` after the last weight "${weights[weights.length - 1]!.name}"`
          : ""
      }`,
    );
  }
}

/** Whether a group's byte size follows from its specs (no string weights). */
export function hasStrings(weights: readonly WeightSpec[]): boolean {
  return weights.some((w) => weightBytes(w) === null);
}

/**
 * Checks that `bytes` holds exactly the group's weights, walking the lengths
 * of string weights.
 *
 * @throws {RangeError} naming the files, the manifest and the weight.
 */
export function checkGroupBytes(
  weights: readonly WeightSpec[],
  bytes: Uint8Array,
  files: string,
  manifestFile: string,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  for (const w of weights) {
    const start = at;
    const n = weightBytes(w);
    if (n === null) {
      for (let i = 0; i < elements(w) && at <= bytes.length; i++) {
        at = at + 4 > bytes.length
          ? Infinity
          : at + 4 + view.getUint32(at, true);
      }
    } else at += n;
    if (at > bytes.length) {
      throw new RangeError(
        `fileSystem: ${files} holds ${bytes.length} bytes, but ${manifestFile} declares more: weight "${w.name}" (${w.dtype} [${w.shape}]) starts at byte ${start} and does not fit`,
      );
    }
  }
  if (at !== bytes.length) {
    throw new RangeError(
      `fileSystem: ${files} holds ${bytes.length} bytes, but the weights ${manifestFile} declares for it take ${at}: ${
        bytes.length - at
      } bytes are left over`,
    );
  }
}
