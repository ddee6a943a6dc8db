/**
 * Regenerates the embedded Fashion-MNIST subset in this directory from the
 * full set: the first 600 training and the first 100 test images of every
 * class, in file order, written as gzipped IDX files.
 *
 * ```sh
 * deno run -A packages/zoo/data/make_subset.ts [dir]
 * ```
 *
 * `dir` defaults to /usr/share/datasets/fashion-mnist (Debian's package
 * dataset-fashion-mnist). The output is the same on every run.
 *
 * @module
 */
import { gzipSync } from "node:zlib";
import { balancedSubset } from "../balanced_subset.ts";
import { fashionMnist } from "../fashion_mnist.ts";
import type { ImageSet } from "../image_set.ts";
import { writeIdx } from "../idx.ts";

const TRAIN_PER_CLASS = 600;
const TEST_PER_CLASS = 100;

async function write(name: string, bytes: Uint8Array): Promise<void> {
  const url = new URL(`./${name}.gz`, import.meta.url);
  // No file name or time stamp in the header: the output is reproducible.
  const gz = gzipSync(bytes, { level: 9 });
  await Deno.writeFile(url, gz);
  console.log(`${url.pathname}: ${gz.length} bytes`);
}

async function writeSet(prefix: string, set: ImageSet): Promise<void> {
  await write(
    `${prefix}-images-idx3-ubyte`,
    writeIdx({
      dtype: "uint8",
      shape: [set.count, set.height, set.width],
      data: set.images,
    }),
  );
  await write(
    `${prefix}-labels-idx1-ubyte`,
    writeIdx({ dtype: "uint8", shape: [set.count], data: set.labels }),
  );
}

if (import.meta.main) {
  const dir = Deno.args[0];
  const full = await fashionMnist({ source: "full", ...(dir ? { dir } : {}) });
  await writeSet("train", balancedSubset(full.train, { perClass: TRAIN_PER_CLASS }));
  await writeSet("t10k", balancedSubset(full.test, { perClass: TEST_PER_CLASS }));
}
