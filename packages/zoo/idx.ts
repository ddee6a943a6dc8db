import { gunzipSync } from "node:zlib";

/** The element types the IDX format defines, by name. */
export type IdxDtype =
  | "uint8"
  | "int8"
  | "int16"
  | "int32"
  | "float32"
  | "float64";

/** The typed array that holds each IDX element type. */
export type IdxData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** A decoded IDX file: a dense array in row-major order. */
export interface IdxArray {
  /** Element type. */
  dtype: IdxDtype;
  /** Dimension sizes, outermost first (`[count, rows, cols]` for images). */
  shape: number[];
  /** The elements, in native byte order. */
  data: IdxData;
}

const TYPES: Record<number, { dtype: IdxDtype; size: number }> = {
  0x08: { dtype: "uint8", size: 1 },
  0x09: { dtype: "int8", size: 1 },
  0x0b: { dtype: "int16", size: 2 },
  0x0c: { dtype: "int32", size: 4 },
  0x0d: { dtype: "float32", size: 4 },
  0x0e: { dtype: "float64", size: 8 },
};
const CODES: Record<IdxDtype, number> = {
  uint8: 0x08,
  int8: 0x09,
  int16: 0x0b,
  int32: 0x0c,
  float32: 0x0d,
  float64: 0x0e,
};

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, "0")}`;
}

/**
 * Decodes an IDX file (LeCun's format of MNIST and Fashion-MNIST), gunzipping
 * it first when it starts with the gzip magic bytes.
 *
 * The header is two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B
 * int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions,
 * then each dimension as a big-endian uint32; the data follow, big-endian.
 * Anything else is an error that says what was found: a wrong magic number
 * or type code, a header or data shorter than declared (truncated), or bytes
 * left over after the data.
 *
 * @param bytes The file's contents, gzipped or not.
 * @returns The decoded array; for uint8 files `data` is a view of the
 * (gunzipped) bytes, not a copy.
 *
 * @example
 * ```ts
 * import { readIdx } from "@centra/zoo/idx";
 * import assert from "node:assert/strict";
 *
 * // Two labels, 3 and 7: magic 0x00000801, one dimension of size 2.
 * const file = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 3, 7]);
 * const { dtype, shape, data } = readIdx(file);
 * assert.equal(dtype, "uint8");
 * assert.deepEqual(shape, [2]);
 * assert.deepEqual(Array.from(data), [3, 7]);
 * assert.throws(() => readIdx(file.subarray(0, 9)), /truncated/);
 * ```
 */
export function readIdx(bytes: Uint8Array): IdxArray {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `readIdx: bytes must be a Uint8Array, got ${String(bytes)}`,
    );
  }
  if (isGzip(bytes)) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes));
    } catch (e) {
      throw new RangeError(
        `readIdx: the gzip stream is corrupt or truncated (${
          (e as Error).message
        })`,
      );
    }
  }
  if (bytes.length < 4) {
    throw new RangeError(
      `readIdx: truncated header: ${bytes.length} bytes, need at least 4`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const type = TYPES[bytes[2]!];
  if (
    bytes[0] !== 0 || bytes[1] !== 0 || type === undefined || bytes[3] === 0
  ) {
    throw new RangeError(
      `readIdx: wrong magic number 0x${
        magic.toString(16).padStart(8, "0")
      }: expected 0x0000TTNN with type TT in 08, 09, 0b, 0c, 0d, 0e and NN >= 1 dimensions (type ${
        hex(bytes[2]!)
      })`,
    );
  }
  const rank = bytes[3]!;
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize) {
    throw new RangeError(
      `readIdx: truncated header: ${bytes.length} bytes, but ${rank} dimensions need ${headerSize}`,
    );
  }
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i));
  const count = shape.reduce((a, d) => a * d, 1);
  const expected = headerSize + count * type.size;
  if (bytes.length < expected) {
    throw new RangeError(
      `readIdx: truncated data: shape [${shape}] of ${type.dtype} needs ${expected} bytes, got ${bytes.length}`,
    );
  }
  if (bytes.length > expected) {
    throw new RangeError(
      `readIdx: ${
        bytes.length - expected
      } unexpected bytes after the data of shape [${shape}] (${expected} bytes expected)`,
    );
  }
  return {
    dtype: type.dtype,
    shape,
    data: decode(view, headerSize, count, type.dtype),
  };
}

function decode(
  view: DataView,
  at: number,
  n: number,
  dtype: IdxDtype,
): IdxData {
  switch (dtype) {
    case "uint8":
      return new Uint8Array(view.buffer, view.byteOffset + at, n);
    case "int8":
      return new Int8Array(view.buffer, view.byteOffset + at, n);
    case "int16": {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(at + 2 * i);
      return out;
    }
    case "int32": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(at + 4 * i);
      return out;
    }
    case "float32": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(at + 4 * i);
      return out;
    }
    case "float64": {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(at + 8 * i);
      return out;
    }
  }
}

/**
 * Encodes an array as an IDX file (uncompressed), the inverse of
 * {@linkcode readIdx}.
 *
 * @param array Element type, shape and data; `data.length` must equal the
 * product of `shape`.
 * @returns The file's bytes.
 *
 * @example
 * ```ts
 * import { readIdx, writeIdx } from "@centra/zoo/idx";
 * import assert from "node:assert/strict";
 *
 * const bytes = writeIdx({ dtype: "int16", shape: [2, 2], data: new Int16Array([1, -2, 300, 4]) });
 * assert.deepEqual(Array.from(readIdx(bytes).data), [1, -2, 300, 4]);
 * ```
 */
export function writeIdx(array: IdxArray): Uint8Array {
  const { dtype, shape, data } = array;
  const code = Object.hasOwn(CODES, dtype) ? CODES[dtype] : undefined;
  if (code === undefined) {
    throw new TypeError(`writeIdx: unknown dtype "${dtype}"`);
  }
  if (
    shape.length < 1 || shape.length > 255 ||
    shape.some((d) => !Number.isInteger(d) || d < 0 || d > 0xffffffff)
  ) {
    throw new RangeError(
      `writeIdx: shape must be 1 to 255 sizes in [0, 2^32), got [${shape}]`,
    );
  }
  const count = shape.reduce((a, d) => a * d, 1);
  if (data.length !== count) {
    throw new RangeError(
      `writeIdx: data has ${data.length} elements but shape [${shape}] needs ${count}`,
    );
  }
  const size = TYPES[code]!.size;
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + count * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  if (data instanceof Uint8Array) {
    out.set(data, header);
    return out;
  }
  for (let i = 0; i < count; i++) {
    const v = data[i]!;
    const at = header + i * size;
    switch (dtype) {
      case "uint8":
        view.setUint8(at, v);
        break;
      case "int8":
        view.setInt8(at, v);
        break;
      case "int16":
        view.setInt16(at, v);
        break;
      case "int32":
        view.setInt32(at, v);
        break;
      case "float32":
        view.setFloat32(at, v);
        break;
      case "float64":
        view.setFloat64(at, v);
        break;
    }
  }
  return out;
}
