// An IDX decoder fed in chunks, gzipped or not, that reads the header first
// and never holds more than the data the header declares: the gzip stream is
// inflated in 64 KiB pieces and stopped as soon as it passes the declared
// size, and the data buffer grows only with bytes actually received. Shared
// by `readIdx` (gzip) and the dataset loaders (fetch and file streams).
import { Inflate } from "pako";

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

/** How one IDX element type is stored and read. */
export interface IdxType {
  /** The type code, the header's third byte. */
  code: number;
  /** Bytes per element. */
  size: number;
  /** The typed array that holds it. */
  array: new (n: number) => IdxData;
  /** Reads the big-endian element at byte `at`. */
  get(view: DataView, at: number): number;
  /** Writes `v` big-endian at byte `at`. */
  set(view: DataView, at: number, v: number): void;
}

/** The element types of the IDX format, by name: the one table of them. */
export const IDX_TYPES: Readonly<Record<IdxDtype, IdxType>> = {
  uint8: {
    code: 0x08,
    size: 1,
    array: Uint8Array,
    get: (view, at) => view.getUint8(at),
    set: (view, at, v) => view.setUint8(at, v),
  },
  int8: {
    code: 0x09,
    size: 1,
    array: Int8Array,
    get: (view, at) => view.getInt8(at),
    set: (view, at, v) => view.setInt8(at, v),
  },
  int16: {
    code: 0x0b,
    size: 2,
    array: Int16Array,
    get: (view, at) => view.getInt16(at),
    set: (view, at, v) => view.setInt16(at, v),
  },
  int32: {
    code: 0x0c,
    size: 4,
    array: Int32Array,
    get: (view, at) => view.getInt32(at),
    set: (view, at, v) => view.setInt32(at, v),
  },
  float32: {
    code: 0x0d,
    size: 4,
    array: Float32Array,
    get: (view, at) => view.getFloat32(at),
    set: (view, at, v) => view.setFloat32(at, v),
  },
  float64: {
    code: 0x0e,
    size: 8,
    array: Float64Array,
    get: (view, at) => view.getFloat64(at),
    set: (view, at, v) => view.setFloat64(at, v),
  },
};

/** {@linkcode IDX_TYPES} by type code, with each type's name. */
const BY_CODE: ReadonlyMap<number, { dtype: IdxDtype; size: number }> = new Map(
  (Object.entries(IDX_TYPES) as [IdxDtype, IdxType][]).map((
    [dtype, t],
  ) => [t.code, { dtype, size: t.size }]),
);

/** Bytes of inflated output pako hands over at a time. */
export const INFLATE_CHUNK = 64 * 1024;

/** A parsed IDX header. */
export interface IdxHeader {
  dtype: IdxDtype;
  size: number;
  shape: number[];
  headerSize: number;
  /** Header plus data, in bytes. */
  total: number;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, "0")}`;
}

/**
 * Parses the header at the start of `bytes`, or returns `null` when more
 * bytes are needed. `end` says no more bytes will come (then short is an
 * error).
 *
 * @throws {RangeError} for a wrong magic number, a short header at the end,
 * or a shape too large to address.
 */
export function parseHeader(bytes: Uint8Array, end: boolean): IdxHeader | null {
  if (bytes.length < 4) {
    if (!end) return null;
    throw new RangeError(
      `readIdx: truncated header: ${bytes.length} bytes, need at least 4`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = BY_CODE.get(bytes[2]!);
  if (
    bytes[0] !== 0 || bytes[1] !== 0 || type === undefined || bytes[3] === 0
  ) {
    throw new RangeError(
      `readIdx: wrong magic number 0x${
        view.getUint32(0).toString(16).padStart(8, "0")
      }: expected 0x0000TTNN with type TT in 08, 09, 0b, 0c, 0d, 0e and NN >= 1 dimensions (type ${
        hex(bytes[2]!)
      })`,
    );
  }
  const rank = bytes[3]!;
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize) {
    if (!end) return null;
    throw new RangeError(
      `readIdx: truncated header: ${bytes.length} bytes, but ${rank} dimensions need ${headerSize}`,
    );
  }
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i));
  const count = shape.reduce((a, d) => a * d, 1);
  const total = headerSize + count * type.size;
  if (!Number.isSafeInteger(total)) {
    throw new RangeError(
      `readIdx: shape [${shape}] of ${type.dtype} is too large to hold`,
    );
  }
  return { ...type, shape, headerSize, total };
}

/** Decodes `n` big-endian elements of `dtype` starting at byte `at`. */
export function decode(
  view: DataView,
  at: number,
  n: number,
  dtype: IdxDtype,
): IdxData {
  // one-byte types need no byte swap: a view on the bytes, not a copy
  if (dtype === "uint8") {
    return new Uint8Array(view.buffer, view.byteOffset + at, n);
  }
  if (dtype === "int8") {
    return new Int8Array(view.buffer, view.byteOffset + at, n);
  }
  const type = IDX_TYPES[dtype];
  const out = new type.array(n);
  for (let i = 0; i < n; i++) out[i] = type.get(view, at + type.size * i);
  return out;
}

/** The array a whole IDX file in `view` holds, as its header describes. */
export function idxArray(view: DataView, header: IdxHeader): IdxArray {
  return {
    dtype: header.dtype,
    shape: header.shape,
    data: decode(
      view,
      header.headerSize,
      (header.total - header.headerSize) / header.size,
      header.dtype,
    ),
  };
}

/**
 * Decodes an IDX file pushed in chunks. Gzip is detected from the first two
 * bytes. Errors are thrown from `push` as soon as they show (a wrong header,
 * more data than declared, a corrupt gzip stream), so a caller reading a
 * stream stops reading there.
 */
export class IdxDecoder {
  #mode: "unknown" | "raw" | "gzip" = "unknown";
  #inflate: Inflate | null = null;
  #start: Uint8Array = new Uint8Array(0);
  #header: IdxHeader | null = null;
  #buffer: Uint8Array = new Uint8Array(0);
  #filled = 0;
  #inflated = 0;

  /** Bytes of output the gzip stream has produced so far. */
  get inflated(): number {
    return this.#inflated;
  }

  /** Feeds the next bytes of the file. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.#mode === "unknown") {
      this.#start = concat(this.#start, chunk);
      if (this.#start.length < 2) return;
      const s = this.#start;
      this.#mode = s[0] === 0x1f && s[1] === 0x8b ? "gzip" : "raw";
      this.#start = new Uint8Array(0);
      chunk = s;
    }
    if (this.#mode === "raw") this.#accept(chunk);
    else this.#gunzip(chunk, false);
  }

  /** Ends the input and returns the decoded array. */
  end(): IdxArray {
    if (this.#mode === "unknown") {
      this.#mode = "raw";
      this.#accept(this.#start);
    }
    if (this.#mode === "gzip") this.#gunzip(new Uint8Array(0), true);
    const header = this.#header ??
      parseHeader(this.#buffer.subarray(0, this.#filled), true)!;
    if (this.#filled < header.total) {
      throw new RangeError(
        `readIdx: truncated data: shape [${header.shape}] of ${header.dtype} needs ${header.total} bytes, got ${this.#filled}`,
      );
    }
    return idxArray(new DataView(this.#buffer.buffer, 0, this.#filled), header);
  }

  #gunzip(chunk: Uint8Array, final: boolean): void {
    let input = chunk;
    while (true) {
      if (this.#inflate === null || this.#inflate.ended) {
        if (this.#inflate !== null && input.length === 0) break;
        if (this.#inflate !== null) {
          // A new gzip member may follow the one that ended; zeros after the
          // last member are padding, as gzip(1) allows.
          if (input.every((b) => b === 0)) break;
          if (input[0] !== 0x1f) {
            throw new RangeError(
              "readIdx: the gzip stream is corrupt or truncated (data after its end)",
            );
          }
        }
        this.#inflate = new Inflate({ chunkSize: INFLATE_CHUNK });
        this.#inflate.onData = (out: Uint8Array) => {
          this.#inflated += out.length;
          this.#accept(out);
        };
      }
      const inflate = this.#inflate;
      const before = inflate.ended;
      inflate.push(input, final);
      if (inflate.err !== 0) {
        throw new RangeError(
          `readIdx: the gzip stream is corrupt or truncated (${inflate.msg})`,
        );
      }
      // pako stops at the end of a member and keeps what follows; hand the
      // rest of this chunk to the next member.
      const strm = (inflate as unknown as {
        strm: { avail_in: number; next_in: number };
      }).strm;
      if (!before && inflate.ended && strm.avail_in > 0) {
        input = input.subarray(strm.next_in);
        continue;
      }
      break;
    }
    if (final && this.#inflate !== null && !this.#inflate.ended) {
      throw new RangeError(
        "readIdx: the gzip stream is corrupt or truncated (unexpected end of file)",
      );
    }
  }

  // Takes decoded (raw) bytes.
  #accept(bytes: Uint8Array): void {
    if (this.#header === null) {
      // Until the header is known, keep at most its 1,024 bytes.
      const need = Math.min(bytes.length, 1024 - this.#filled);
      this.#append(bytes.subarray(0, need), 1024);
      this.#header = parseHeader(this.#buffer.subarray(0, this.#filled), false);
      bytes = bytes.subarray(need);
      if (this.#header === null) return;
      if (this.#filled > this.#header.total) this.#tooLong();
    }
    const header = this.#header;
    if (this.#filled + bytes.length > header.total) this.#tooLong();
    this.#append(bytes, header.total);
  }

  #tooLong(): never {
    const h = this.#header!;
    throw new RangeError(
      `readIdx: unexpected bytes after the data of shape [${h.shape}] (${h.total} bytes expected${
        this.#mode === "gzip"
          ? `; stopped after inflating ${this.#inflated} bytes`
          : ""
      })`,
    );
  }

  // Appends, growing the buffer by doubling up to `cap`.
  #append(bytes: Uint8Array, cap: number): void {
    const need = this.#filled + bytes.length;
    if (need > this.#buffer.length) {
      const next = new Uint8Array(
        Math.min(cap, Math.max(need, 2 * this.#buffer.length, 4096)),
      );
      next.set(this.#buffer.subarray(0, this.#filled));
      this.#buffer = next;
    }
    this.#buffer.set(bytes, this.#filled);
    this.#filled = need;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Decodes an IDX file from a stream of chunks, stopping the stream as soon as
 * the file is found bad (too long, corrupt).
 */
export async function decodeIdxStream(
  chunks: AsyncIterable<Uint8Array>,
): Promise<IdxArray> {
  const decoder = new IdxDecoder();
  for await (const chunk of chunks) decoder.push(chunk);
  return decoder.end();
}
