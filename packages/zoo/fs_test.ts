import assert from "node:assert/strict";
import { relative } from "node:path";
import { gzipSync } from "node:zlib";
import { readIdxFile } from "./fs.ts";
import { writeIdx } from "./idx.ts";

Deno.test("readIdxFile() reads raw and gzipped files by path or URL", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    const bytes = writeIdx({
      dtype: "int16",
      shape: [2, 2],
      data: new Int16Array([1, -2, 300, 4]),
    });
    await Deno.writeFile(`${dir}/a.idx`, bytes);
    await Deno.writeFile(`${dir}/a.idx.gz`, gzipSync(bytes));
    for (
      const path of [
        `${dir}/a.idx`,
        relative(Deno.cwd(), `${dir}/a.idx.gz`),
        new URL(`file://${dir}/a.idx.gz`),
      ]
    ) {
      const { dtype, shape, data } = await readIdxFile(path);
      assert.equal(dtype, "int16");
      assert.deepEqual(shape, [2, 2]);
      assert.deepEqual(Array.from(data), [1, -2, 300, 4]);
    }
    await assert.rejects(
      () => readIdxFile(`${dir}/missing.idx`),
      new RegExp(`readIdxFile: ${dir}/missing.idx does not exist`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readIdxFile() refuses a file longer than its header declares, naming it", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    // One 2x2 image, then 8 MiB more.
    const head = writeIdx({
      dtype: "uint8",
      shape: [1, 2, 2],
      data: new Uint8Array(4),
    });
    const file = new Uint8Array(head.length + (8 << 20));
    file.set(head);
    await Deno.writeFile(`${dir}/long.idx`, file);
    await assert.rejects(
      () => readIdxFile(`${dir}/long.idx`),
      (e) =>
        e instanceof RangeError &&
        e.message ===
          `readIdxFile: ${dir}/long.idx: unexpected bytes after the data of shape [1,2,2] (20 bytes expected)`,
    );
    await Deno.writeFile(`${dir}/short.idx`, head.subarray(0, 18));
    await assert.rejects(
      () => readIdxFile(`${dir}/short.idx`),
      /short\.idx: truncated data: shape \[1,2,2\] of uint8 needs 20 bytes, got 18/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
