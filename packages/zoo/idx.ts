import {
  IDX_TYPES,
  type IdxArray,
  idxArray,
  IdxDecoder,
  parseHeader,
} from "./_idx_decoder.ts";

export type { IdxArray, IdxData, IdxDtype } from "./_idx_decoder.ts";

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
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
 * Gzip is inflated with pako (no Node or Deno built-ins, so this runs in a
 * browser), checking each member's CRC-32 and length, in 64 KiB pieces: the
 * header is read first, and inflating stops as soon as the output passes the
 * size the header declares, so a small file that inflates to gigabytes (a
 * "gzip bomb") costs at most the declared size plus 64 KiB.
 *
 * @param bytes The file's contents, gzipped or not.
 * @returns The decoded array; for uint8 files `data` is a view of the
 * (gunzipped) bytes, not a copy.
 * @throws {TypeError} when `bytes` is not a Uint8Array.
 * @throws {RangeError} for a bad header, a size that disagrees with it, or a
 * corrupt gzip stream; the message says which.
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
    const decoder = new IdxDecoder();
    decoder.push(bytes);
    return decoder.end();
  }
  const header = parseHeader(bytes, true)!;
  if (bytes.length < header.total) {
    throw new RangeError(
      `readIdx: truncated data: shape [${header.shape}] of ${header.dtype} needs ${header.total} bytes, got ${bytes.length}`,
    );
  }
  if (bytes.length > header.total) {
    throw new RangeError(
      `readIdx: ${
        bytes.length - header.total
      } unexpected bytes after the data of shape [${header.shape}] (${header.total} bytes expected)`,
    );
  }
  return idxArray(
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    header,
  );
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
  const type = Object.hasOwn(IDX_TYPES, dtype) ? IDX_TYPES[dtype] : undefined;
  if (type === undefined) {
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
  const size = type.size;
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + count * size);
  const view = new DataView(out.buffer);
  out[2] = type.code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  // bytes given for a one-byte type are its elements as they are (int8
  // wraps as setInt8 would); for a wider type each value is converted
  if (type.size === 1 && data instanceof Uint8Array) {
    out.set(data, header);
    return out;
  }
  for (let i = 0; i < count; i++) type.set(view, header + i * size, data[i]!);
  return out;
}
