import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { type IdxArray, readIdx, writeIdx } from "./idx.ts";
import { decodeIdxStream, IdxDecoder } from "./_idx_decoder.ts";

// A 2x3 uint8 image file, written byte by byte as the format defines it.
const GOOD = new Uint8Array([
  0,
  0,
  0x08,
  3, // magic: uint8, 3 dimensions
  0,
  0,
  0,
  2, // 2 images
  0,
  0,
  0,
  2, // 2 rows
  0,
  0,
  0,
  3, // 3 columns
  ...[0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255],
]);

Deno.test("readIdx() decodes a crafted uint8 image file", () => {
  const { dtype, shape, data } = readIdx(GOOD);
  assert.equal(dtype, "uint8");
  assert.deepEqual(shape, [2, 2, 3]);
  assert.deepEqual(Array.from(data), [
    0,
    1,
    2,
    3,
    4,
    5,
    250,
    251,
    252,
    253,
    254,
    255,
  ]);
});

Deno.test("readIdx() gunzips when the gzip magic is present", () => {
  const { shape, data } = readIdx(new Uint8Array(gzipSync(GOOD)));
  assert.deepEqual(shape, [2, 2, 3]);
  assert.equal(data[11], 255);
});

Deno.test("readIdx() decodes every IDX type big-endian", () => {
  const int32 = new Uint8Array([
    0,
    0,
    0x0c,
    1,
    0,
    0,
    0,
    2,
    0xff,
    0xff,
    0xff,
    0xfe,
    0,
    1,
    0,
    0,
  ]);
  assert.deepEqual(Array.from(readIdx(int32).data), [-2, 65536]);
  const f64 = new Uint8Array([
    0,
    0,
    0x0e,
    1,
    0,
    0,
    0,
    1,
    0x3f,
    0xf8,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  assert.deepEqual(Array.from(readIdx(f64).data), [1.5]);
  const cases: IdxArray[] = [
    { dtype: "uint8", shape: [3], data: new Uint8Array([0, 128, 255]) },
    { dtype: "int8", shape: [3], data: new Int8Array([-128, 0, 127]) },
    { dtype: "int16", shape: [1, 3], data: new Int16Array([-300, 0, 300]) },
    { dtype: "int32", shape: [3, 1], data: new Int32Array([-70000, 1, 70000]) },
    { dtype: "float32", shape: [3], data: new Float32Array([-1.5, 0, 3.25]) },
    {
      dtype: "float64",
      shape: [1, 1, 3],
      data: new Float64Array([Math.PI, -0.1, 1e300]),
    },
  ];
  for (const c of cases) {
    const back = readIdx(writeIdx(c));
    assert.equal(back.dtype, c.dtype);
    assert.deepEqual(back.shape, c.shape);
    assert.deepEqual(Array.from(back.data), Array.from(c.data), c.dtype);
  }
});

Deno.test("readIdx() names a wrong magic number", () => {
  const bad = GOOD.slice();
  bad[0] = 0x1e;
  assert.throws(
    () => readIdx(bad),
    (e) =>
      e instanceof RangeError &&
      /wrong magic number 0x1e000803/.test(e.message),
  );
  const type = GOOD.slice();
  type[2] = 0x07;
  assert.throws(
    () => readIdx(type),
    /wrong magic number 0x00000703.*type 0x07/,
  );
  const rank = GOOD.slice();
  rank[3] = 0;
  assert.throws(() => readIdx(rank), /wrong magic number 0x00000800/);
  assert.throws(
    () => readIdx(new TextEncoder().encode("P5 28 28 255")),
    /wrong magic number/,
  );
});

Deno.test("readIdx() reports truncated headers and data", () => {
  assert.throws(
    () => readIdx(GOOD.subarray(0, 3)),
    /truncated header: 3 bytes/,
  );
  assert.throws(
    () => readIdx(GOOD.subarray(0, 10)),
    /truncated header: 10 bytes, but 3 dimensions need 16/,
  );
  assert.throws(
    () => readIdx(GOOD.subarray(0, 27)),
    (e) =>
      e instanceof RangeError &&
      /truncated data: shape \[2,2,3\] of uint8 needs 28 bytes, got 27/.test(
        e.message,
      ),
  );
  const gz = new Uint8Array(gzipSync(GOOD));
  assert.throws(
    () => readIdx(gz.subarray(0, gz.length - 12)),
    /gzip stream is corrupt or truncated/,
  );
});

Deno.test("readIdx() reports bytes after the data", () => {
  const long = new Uint8Array([...GOOD, 0, 0]);
  assert.throws(
    () => readIdx(long),
    /2 unexpected bytes after the data of shape \[2,2,3\]/,
  );
});

Deno.test("writeIdx() converts data of another array type to the dtype's values", () => {
  // What a typed array of the dtype holds for the same values (JavaScript's
  // own conversion: wrap for integers, round to float32) is what must come
  // back, whatever array the values came in; bytes given for float32 once
  // were copied as raw bytes.
  const arrays = {
    uint8: Uint8Array,
    int8: Int8Array,
    int16: Int16Array,
    int32: Int32Array,
    float32: Float32Array,
    float64: Float64Array,
  } as const;
  const values = [0, 1, 2, 200, 255];
  for (const [dtype, Want] of Object.entries(arrays)) {
    for (const Given of [Uint8Array, Float64Array, Int32Array]) {
      const back = readIdx(
        writeIdx({
          dtype: dtype as keyof typeof arrays,
          shape: [values.length],
          data: new Given(values),
        }),
      );
      assert.equal(back.dtype, dtype);
      assert.deepEqual(
        Array.from(back.data),
        Array.from(new Want(values)),
        `${dtype} from ${Given.name}`,
      );
    }
  }
  assert.deepEqual(
    Array.from(
      readIdx(
        writeIdx({
          dtype: "int8",
          shape: [2],
          data: new Float64Array([-1.5, 300]),
        }),
      ).data,
    ),
    [-1, 44],
  );
});

Deno.test("writeIdx() checks that data and shape agree", () => {
  assert.throws(
    () => writeIdx({ dtype: "uint8", shape: [2, 2], data: new Uint8Array(3) }),
    /data has 3 elements but shape \[2,2\] needs 4/,
  );
  assert.throws(
    () => writeIdx({ dtype: "uint8", shape: [], data: new Uint8Array(1) }),
    /shape must be/,
  );
  assert.throws(
    () =>
      writeIdx({
        dtype: "uint16" as "int16",
        shape: [1],
        data: new Uint8Array(1),
      }),
    /unknown dtype "uint16"/,
  );
});

// A file whose header declares one 28x28 image (800 bytes with the header)
// but whose gzip stream inflates to 1 + 255 MiB: one member with the header
// and a MiB of zeros, then the same 1 MiB member 255 times. About 270 kB.
function gzipBomb(): Uint8Array {
  const header = writeIdx({
    dtype: "uint8",
    shape: [1, 28, 28],
    data: new Uint8Array(784),
  });
  const first = new Uint8Array(1 << 20);
  first.set(header);
  const head = gzipSync(first);
  const zeros = gzipSync(new Uint8Array(1 << 20));
  const out = new Uint8Array(head.length + 255 * zeros.length);
  out.set(head);
  for (let i = 0; i < 255; i++) out.set(zeros, head.length + i * zeros.length);
  return out;
}

Deno.test("readIdx() stops inflating a gzip bomb at the size its header declares", () => {
  const bomb = gzipBomb();
  assert.ok(bomb.length < 400_000, `${bomb.length} bytes`);
  const rss = Deno.memoryUsage().rss;
  let message = "";
  assert.throws(
    () => readIdx(bomb),
    (e) => {
      message = (e as Error).message;
      return e instanceof RangeError &&
        /unexpected bytes after the data of shape \[1,28,28\] \(800 bytes expected; stopped after inflating (\d+) bytes\)/
          .test(message);
    },
  );
  const inflated = Number(/inflating (\d+) bytes/.exec(message)![1]);
  // One 64 KiB piece of output past the header's 800 bytes at most, not the
  // 256 MiB the stream holds.
  assert.ok(inflated > 800 && inflated <= 800 + 64 * 1024, `${inflated}`);
  const grown = Deno.memoryUsage().rss - rss;
  assert.ok(grown < 64 * 1024 * 1024, `rss grew by ${grown} bytes`);
});

Deno.test("decodeIdxStream() stops reading a stream once it passes the declared size", async () => {
  // An endless stream: the header of one 2x3 image, then zeros forever, raw
  // and gzipped.
  const header = GOOD.subarray(0, 16).slice();
  header[7] = 1; // one image
  for (const gzip of [false, true]) {
    let pulled = 0;
    let cancelled = false;
    const zeros = gzip
      ? new Uint8Array(gzipSync(new Uint8Array(1 << 20)))
      : new Uint8Array(1 << 16);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled === 1) {
          controller.enqueue(
            gzip ? new Uint8Array(gzipSync(header)) : header,
          );
        } else controller.enqueue(zeros);
      },
      cancel() {
        cancelled = true;
      },
    });
    await assert.rejects(
      () => decodeIdxStream(stream),
      (e) =>
        e instanceof RangeError &&
        /unexpected bytes after the data of shape \[1,2,3\] \(22 bytes expected/
          .test(e.message),
    );
    assert.ok(pulled <= 3, `pulled ${pulled} chunks (gzip: ${gzip})`);
    assert.ok(cancelled, `stream cancelled (gzip: ${gzip})`);
  }
});

Deno.test("readIdx() checks gzip CRC-32 and length, reads concatenated members", () => {
  const gz = new Uint8Array(gzipSync(GOOD));
  const crc = gz.slice();
  crc[crc.length - 6]! ^= 1;
  assert.throws(
    () => readIdx(crc),
    /gzip stream is corrupt or truncated \(incorrect data check\)/,
  );
  const size = gz.slice();
  size[size.length - 1]! ^= 1;
  assert.throws(() => readIdx(size), /gzip stream is corrupt or truncated/);
  // Two members (as `cat a.gz b.gz` makes), whole or in chunks that split
  // exactly at the member boundary; zero padding after the last is allowed.
  const a = gzipSync(GOOD.subarray(0, 19));
  const b = gzipSync(GOOD.subarray(19));
  const two = new Uint8Array([...a, ...b, 0, 0]);
  assert.deepEqual(
    Array.from(readIdx(two).data),
    Array.from(GOOD.subarray(16)),
  );
  const decoder = new IdxDecoder();
  decoder.push(two.subarray(0, a.length));
  decoder.push(two.subarray(a.length));
  assert.deepEqual(decoder.end().shape, [2, 2, 3]);
  // Bytes after the last member that are not another member are refused.
  assert.throws(
    () => readIdx(new Uint8Array([...gz, 7, 7])),
    /gzip stream is corrupt or truncated/,
  );
  assert.throws(
    () => readIdx(new Uint8Array([...gz, 0, 7])),
    /gzip stream is corrupt or truncated \(data after its end\)/,
  );
});

Deno.test("readIdx() refuses a shape too large to address before allocating", () => {
  const huge = new Uint8Array([
    0,
    0,
    0x0e,
    3,
    ...[0xff, 0xff, 0xff, 0xff],
    ...[0xff, 0xff, 0xff, 0xff],
    ...[0xff, 0xff, 0xff, 0xff],
  ]);
  assert.throws(
    () => readIdx(huge),
    /shape \[4294967295,4294967295,4294967295\] of float64 is too large/,
  );
  assert.throws(
    () => readIdx(new Uint8Array(gzipSync(huge))),
    /too large/,
  );
  // Declared 4 GiB, holding 4 bytes: the buffer grows only with the data.
  const big = new Uint8Array([0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
  assert.throws(
    () => readIdx(new Uint8Array(gzipSync(big))),
    /truncated data: shape \[4294967295\] of uint8 needs 4294967303 bytes, got 12/,
  );
});
