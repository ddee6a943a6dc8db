import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { type IdxArray, readIdx, writeIdx } from "./idx.ts";

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
