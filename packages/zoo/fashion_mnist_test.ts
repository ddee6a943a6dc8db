import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { relative } from "node:path";
import { gunzipSync } from "node:zlib";
import { balancedSubset } from "./balanced_subset.ts";
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  fashionMnist,
} from "./fashion_mnist.ts";

const HAS_FULL =
  existsSync(`${FASHION_MNIST_DIR}/train-images-idx3-ubyte.gz`) ||
  existsSync(`${FASHION_MNIST_DIR}/train-images-idx3-ubyte`);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function histogram(labels: Uint8Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const l of labels) counts[l]! += 1;
  return counts;
}

Deno.test("fashionMnist() embedded subset is class-balanced: 600 train and 100 test per class", async () => {
  const { train, test, source, location } = await fashionMnist();
  assert.equal(source, "embedded");
  assert.ok(location.endsWith("/data/"));
  for (const [set, n] of [[train, 600], [test, 100]] as const) {
    assert.equal(set.count, 10 * n);
    assert.deepEqual([set.height, set.width, set.channels, set.numClasses], [
      28,
      28,
      1,
      10,
    ]);
    assert.equal(set.images.length, set.count * 784);
    assert.deepEqual(histogram(set.labels), new Array(10).fill(n));
    assert.deepEqual(set.classNames, FASHION_MNIST_CLASSES);
  }
  // Real pictures, not blanks: mean intensity of Fashion-MNIST is about 73.
  const mean = train.images.reduce((a, v) => a + v, 0) / train.images.length;
  assert.ok(mean > 60 && mean < 90, `mean pixel ${mean}`);
});

Deno.test("fashionMnist() reads a directory in the same layout (.gz or not)", async () => {
  const dir = new URL("./data/", import.meta.url).pathname;
  const { train, source, location } = await fashionMnist({ dir });
  assert.equal(source, "full");
  assert.equal(location, dir);
  assert.equal(train.count, 6000);
  // Uncompressed files, under a relative path.
  const tmp = await Deno.makeTempDir();
  try {
    for (
      const f of [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
      ]
    ) {
      const gz = await Deno.readFile(`${dir}${f}.gz`);
      await Deno.writeFile(`${tmp}/${f}`, new Uint8Array(gunzipSync(gz)));
    }
    const plain = await fashionMnist({ dir: relative(Deno.cwd(), tmp) });
    assert.equal(plain.source, "full");
    assert.ok(sameBytes(plain.test.images, (await fashionMnist()).test.images));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("fashionMnist() source auto falls back to the subset; full reports what is missing", async () => {
  const missing = "/nonexistent/fashion";
  assert.equal(
    (await fashionMnist({ dir: missing, source: "auto" })).source,
    "embedded",
  );
  await assert.rejects(
    () => fashionMnist({ dir: missing }),
    /train-images-idx3-ubyte\(\.gz\) not found in \/nonexistent\/fashion\/; install Debian's package dataset-fashion-mnist/,
  );
  await assert.rejects(
    () => fashionMnist({ source: "web" as "auto" }),
    /source must be .* got "web"/,
  );
});

Deno.test({
  name:
    "fashionMnist() full set from Debian's package: 60,000 + 10,000, and the subset is its first 600/100 per class",
  ignore: !HAS_FULL,
  async fn() {
    const full = await fashionMnist({ source: "full" });
    assert.equal(full.location, FASHION_MNIST_DIR);
    assert.equal(full.train.count, 60_000);
    assert.equal(full.test.count, 10_000);
    assert.deepEqual(histogram(full.train.labels), new Array(10).fill(6000));
    const embedded = await fashionMnist({ source: "embedded" });
    const train = balancedSubset(full.train, { perClass: 600 });
    const test = balancedSubset(full.test, { perClass: 100 });
    assert.ok(sameBytes(train.images, embedded.train.images));
    assert.ok(sameBytes(train.labels, embedded.train.labels));
    assert.ok(sameBytes(test.images, embedded.test.images));
    assert.ok(sameBytes(test.labels, embedded.test.labels));
  },
});
