import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { relative } from "node:path";
import { gunzipSync } from "node:zlib";
import { balancedSubset } from "./balanced_subset.ts";
import { writeIdx } from "./idx.ts";
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  fashionMnist,
} from "./fashion_mnist.ts";
import { fashionMnist as fashionMnistFs } from "./fs.ts";

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
    // A relative path is a file-system notion: the fs entry resolves it.
    const plain = await fashionMnistFs({ dir: relative(Deno.cwd(), tmp) });
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

const FILE_NAMES = [
  "train-images-idx3-ubyte",
  "train-labels-idx1-ubyte",
  "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte",
];

async function copyData(to: string): Promise<void> {
  const from = new URL("./data/", import.meta.url).pathname;
  for (const f of FILE_NAMES) {
    await Deno.copyFile(`${from}${f}.gz`, `${to}/${f}.gz`);
  }
}

Deno.test("fashionMnist() from the main entry refuses a relative dir; the fs entry resolves it", async () => {
  await assert.rejects(
    () => fashionMnist({ dir: "packages/zoo/data" }),
    (e) =>
      e instanceof TypeError &&
      /dir "packages\/zoo\/data" is a relative path/.test(e.message) &&
      e.message.includes("@centra/zoo/fs"),
  );
  const { test, location } = await fashionMnistFs({ dir: "packages/zoo/data" });
  assert.equal(test.count, 1000);
  assert.equal(location, "packages/zoo/data");
  // The fs entry's embedded subset is the main entry's.
  const a = await fashionMnistFs();
  const b = await fashionMnist();
  assert.equal(a.source, "embedded");
  assert.ok(sameBytes(a.train.images, b.train.images));
});

Deno.test("fashionMnist() names which of the four files is bad", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir());
  try {
    await copyData(tmp);
    const gz = await Deno.readFile(`${tmp}/t10k-labels-idx1-ubyte.gz`);
    // Truncated: the gzip stream ends early.
    await Deno.writeFile(
      `${tmp}/t10k-labels-idx1-ubyte.gz`,
      gz.subarray(0, gz.length - 20),
    );
    for (const load of [fashionMnist, fashionMnistFs]) {
      await assert.rejects(
        () => load({ dir: tmp }),
        (e) =>
          e instanceof RangeError &&
          e.message.startsWith(
            `fashionMnist: ${tmp}/t10k-labels-idx1-ubyte.gz: the gzip stream is corrupt or truncated`,
          ),
      );
    }
    // A label file of another length: both files of the pair are named.
    const labels = writeIdx({
      dtype: "uint8",
      shape: [999],
      data: new Uint8Array(999),
    });
    await Deno.remove(`${tmp}/t10k-labels-idx1-ubyte.gz`);
    await Deno.writeFile(`${tmp}/t10k-labels-idx1-ubyte`, labels);
    await assert.rejects(
      () => fashionMnist({ dir: tmp }),
      (e) =>
        e instanceof RangeError &&
        e.message ===
          `fashionMnist: mismatched counts: 1000 ${tmp}/t10k-images-idx3-ubyte.gz but 999 ${tmp}/t10k-labels-idx1-ubyte`,
    );
    // A label outside the ten classes.
    await Deno.writeFile(
      `${tmp}/t10k-labels-idx1-ubyte`,
      writeIdx({
        dtype: "uint8",
        shape: [1000],
        data: new Uint8Array(1000).fill(10, 5),
      }),
    );
    await assert.rejects(
      () => fashionMnistFs({ dir: tmp }),
      new RegExp(
        `fashionMnist: ${tmp}/t10k-labels-idx1-ubyte: label 10 at index 5 is not below numClasses \\(10\\)`,
      ),
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("fashionMnist() loads from an http URL, streaming; a missing file is named", async () => {
  const data = new URL("./data/", import.meta.url).pathname;
  const served: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const name = new URL(request.url).pathname.slice(1);
      served.push(name);
      try {
        const file = await Deno.open(`${data}${name}`);
        return new Response(file.readable);
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  try {
    const base = `http://127.0.0.1:${server.addr.port}/`;
    const { train, source, location } = await fashionMnist({ dir: base });
    assert.equal(source, "full");
    assert.equal(location, base);
    assert.ok(sameBytes(train.labels, (await fashionMnist()).train.labels));
    assert.ok(served.includes("train-images-idx3-ubyte.gz"));
    await assert.rejects(
      () => fashionMnist({ dir: new URL("nothing/", base) }),
      new RegExp(
        `train-images-idx3-ubyte\\(\\.gz\\) not found in ${base}nothing/`,
      ),
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("fashionMnist() takes absolute paths with URL syntax in their names", async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir());
  try {
    const dir = `${tmp}/a #1 %41?b\\c`;
    await Deno.mkdir(dir);
    await copyData(dir);
    for (const load of [fashionMnist, fashionMnistFs]) {
      const { test, location } = await load({ dir });
      assert.equal(test.count, 1000);
      assert.equal(location, dir);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
