import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { assertClose, testOnBackends } from "@centra/testing/mod.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { fileSystem } from "./file_system.ts";
import { writeCheckpoint, type WriteStep } from "./_checkpoint_files.ts";
import { readWeights, release, tinyData, tinyModel } from "./_test_utils.ts";

async function list(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

testOnBackends(
  "fileSystem() saves model and optimizer to disk and loads them back",
  async (backend) => {
    const dir = await Deno.makeTempDir();
    try {
      const { xs, ys } = tinyData(16);
      const m = tinyModel(11);
      const opt = ChainOptimizer.from("adamw", {
        learningRate: 0.01,
        weightDecay: 1e-3,
        gc: true,
      });
      m.compile({
        optimizer: opt,
        loss: "categoricalCrossentropy",
        metrics: ["accuracy"],
      });
      await m.fit(xs, ys, {
        epochs: 1,
        batchSize: 8,
        shuffle: false,
        verbose: 0,
      });
      const result = await m.save(fileSystem(`${dir}/model`), {
        includeOptimizer: true,
      });
      assert.ok(result.modelArtifactsInfo.weightDataBytes! > 0);
      const json = JSON.parse(
        await Deno.readTextFile(`${dir}/model/model.json`),
      );
      assert.equal(
        json.trainingConfig.optimizer_config.class_name,
        "centra.ChainOptimizer",
      );
      // One weight file under a fresh name (see the atomic-save tests), of
      // exactly the size saved, and nothing else in the directory.
      assert.equal(json.weightsManifest.length, 1);
      const [weightsPath] = json.weightsManifest[0].paths;
      assert.match(weightsPath, /^\.\/weights\.[0-9a-f]{16}\.bin$/);
      assert.equal(
        (await Deno.stat(`${dir}/model/${weightsPath}`)).size,
        result.modelArtifactsInfo.weightDataBytes,
      );
      assert.deepEqual(await list(`${dir}/model`), [
        "model.json",
        weightsPath.slice(2),
      ]);

      // Load through the file:// router, from the model.json path.
      const loaded = await tf.loadLayersModel(`file://${dir}/model/model.json`);
      const wa = await readWeights(m);
      const wb = await readWeights(loaded);
      wa.forEach((w, i) =>
        assertClose(w, wb[i]!, { rtol: 0, atol: 0, what: `weight ${i}` })
      );
      const lopt = loaded.optimizer as ChainOptimizer;
      assert.ok(lopt instanceof ChainOptimizer);
      assert.equal(lopt.iterations, 2);
      const saved = await opt.getWeights();
      const restored = await lopt.getWeights();
      assert.deepEqual(restored.map((w) => w.name), saved.map((w) => w.name));
      for (let i = 0; i < saved.length; i++) {
        assertClose(
          await restored[i]!.tensor.data(),
          await saved[i]!.tensor.data(),
          {
            rtol: 0,
            atol: 0,
            what: saved[i]!.name,
          },
        );
      }
      // ...and both train on the same way.
      const [h1, h2] = [
        await m.fit(xs, ys, {
          epochs: 1,
          batchSize: 8,
          shuffle: false,
          verbose: 0,
        }),
        await loaded.fit(xs, ys, {
          epochs: 1,
          batchSize: 8,
          shuffle: false,
          verbose: 0,
        }),
      ];
      const tol = backend === "cpu"
        ? { rtol: 0, atol: 0 }
        : { rtol: 1e-4, atol: 1e-6 };
      assertClose(h2.history.loss as number[], h1.history.loss as number[], {
        ...tol,
        what: "loss",
      });

      // The router saves too.
      await m.save(`file://${dir}/again`);
      assert.ok((await Deno.stat(`${dir}/again/model.json`)).isFile);
      opt.dispose();
      lopt.dispose();
      release(m, loaded, xs, ys);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("fileSystem() names a missing path and rejects bad arguments", async () => {
  await assert.rejects(
    () => fileSystem("/nonexistent/centra/model").load!(),
    /no model at "\/nonexistent\/centra\/model"/,
  );
  assert.throws(() => fileSystem(""), TypeError);
});

// Crafted checkpoints: a hand-written model.json beside hand-written weight
// files, so these tests do not depend on the writer under test.

type Spec = { name: string; shape: number[]; dtype: string };

function f32(...values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function craft(
  dir: string,
  groups: { paths: string[]; weights: Spec[] }[],
  files: Record<string, Uint8Array> = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/model.json`,
    JSON.stringify({ modelTopology: {}, weightsManifest: groups }),
  );
  for (const [name, bytes] of Object.entries(files)) {
    await Deno.writeFile(`${dir}/${name}`, bytes);
  }
}

async function loadedBytes(handler: tf.io.IOHandler): Promise<Uint8Array> {
  const artifacts = await handler.load!();
  return new Uint8Array(
    tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)),
  );
}

// Records every path the code under test opens or reads, to show that a
// refused file was never read.
async function spyReads<T>(
  fn: () => Promise<T>,
): Promise<{ opened: string[]; result: PromiseSettledResult<T> }> {
  const d = Deno as unknown as Record<string, unknown>;
  const names = [
    "open",
    "readFile",
    "readTextFile",
    "openSync",
    "readFileSync",
  ];
  const saved = names.map((n) => d[n]);
  const opened: string[] = [];
  names.forEach((n, i) => {
    const f = saved[i] as (p: string | URL, ...rest: unknown[]) => unknown;
    d[n] = (p: string | URL, ...rest: unknown[]) => {
      opened.push(String(p));
      return f(p, ...rest);
    };
  });
  try {
    const result = await fn().then(
      (value) => ({ status: "fulfilled", value }) as const,
      (reason) => ({ status: "rejected", reason }) as const,
    );
    return { opened, result };
  } finally {
    names.forEach((n, i) => (d[n] = saved[i]));
  }
}

async function realOrNull(p: string): Promise<string | null> {
  return await Deno.realPath(p).catch(() => null);
}

// Loads through the three routes into the handler and checks that each is
// refused with an error of `type` whose message has every one of `parts`, and
// that the secret file was not read.
async function assertRefused(
  dir: string,
  secret: string,
  type: typeof TypeError | typeof RangeError,
  parts: string[],
): Promise<void> {
  const routes: [string, () => Promise<unknown>][] = [
    ["fileSystem(dir)", () => fileSystem(dir).load!()],
    ["fileSystem(model.json)", () => fileSystem(`${dir}/model.json`).load!()],
    ["file:// router", () => tf.loadLayersModel(`file://${dir}/model.json`)],
  ];
  const realSecret = await Deno.realPath(secret);
  for (const [route, load] of routes) {
    const { opened, result } = await spyReads(load);
    assert.equal(result.status, "rejected", `${route} loaded`);
    const e = (result as PromiseRejectedResult).reason as Error;
    assert.ok(e instanceof type, `${route}: ${e}`);
    for (const part of parts) {
      assert.ok(e.message.includes(part), `${route}: "${part}" not in: ${e}`);
    }
    for (const p of opened) {
      assert.notEqual(await realOrNull(p), realSecret, `${route} read ${p}`);
    }
  }
}

const W4: Spec[] = [{ name: "w", shape: [4], dtype: "float32" }];

Deno.test("fileSystem() refuses manifest paths that leave the checkpoint directory, before reading", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  try {
    // The secret has the size the manifest declares, so that a loader that
    // followed the path would load it without complaint.
    const secret = `${root}/secret.bin`;
    await Deno.writeFile(secret, f32(1, 2, 3, 4));
    const dir = `${root}/ckpt`;
    const bad = [
      "../secret.bin",
      "./../secret.bin",
      "a/../../secret.bin",
      secret,
      "//secret.bin",
      "C:\\secret.bin",
      "C:secret.bin",
      "..\\secret.bin",
      "file:///secret.bin",
      "",
      "./",
      ".",
      "a//b.bin",
      "w\0.bin",
    ];
    for (const path of bad) {
      await craft(dir, [{ paths: [path], weights: W4 }], {
        "w.bin": f32(9, 9, 9, 9),
      });
      await assertRefused(dir, secret, TypeError, [
        JSON.stringify(path),
        `${dir}/model.json`,
        "not a plain relative file name",
      ]);
    }
    // A later group cannot smuggle one in either, and nothing is read first.
    await craft(dir, [
      { paths: ["w.bin"], weights: W4 },
      { paths: ["../secret.bin"], weights: W4 },
    ], { "w.bin": f32(9, 9, 9, 9) });
    await assertRefused(dir, secret, TypeError, ['"../secret.bin"']);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fileSystem() refuses symbolic links out of the directory and follows those that stay inside", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  try {
    const secret = `${root}/secret.bin`;
    await Deno.writeFile(secret, f32(1, 2, 3, 4));
    const dir = `${root}/ckpt`;
    // weights.bin -> ../secret.bin
    await craft(dir, [{ paths: ["./weights.bin"], weights: W4 }]);
    await Deno.symlink("../secret.bin", `${dir}/weights.bin`);
    await assertRefused(dir, secret, TypeError, [
      `${dir}/model.json`,
      '"weights.bin"',
      `resolves to ${secret}, outside the checkpoint directory ${dir}`,
    ]);
    // A linked sub-directory that points out.
    await Deno.remove(dir, { recursive: true });
    await craft(dir, [{ paths: ["sub/secret.bin"], weights: W4 }]);
    await Deno.symlink(root, `${dir}/sub`);
    await assertRefused(dir, secret, TypeError, [`resolves to ${secret}`]);
    // model.json itself a link to a manifest outside that names the secret.
    await Deno.remove(dir, { recursive: true });
    await craft(`${root}/other`, [{ paths: ["../secret.bin"], weights: W4 }]);
    await Deno.mkdir(dir);
    await Deno.symlink(`${root}/other/model.json`, `${dir}/model.json`);
    await assertRefused(dir, secret, TypeError, [
      `resolves to ${root}/other/model.json, outside`,
    ]);
    // Links that stay inside load.
    await Deno.remove(dir, { recursive: true });
    await craft(dir, [{ paths: ["./weights.bin"], weights: W4 }], {});
    await Deno.mkdir(`${dir}/data`);
    await Deno.writeFile(`${dir}/data/real.bin`, f32(5, 6, 7, 8));
    await Deno.symlink("data/real.bin", `${dir}/weights.bin`);
    assert.deepEqual(await loadedBytes(fileSystem(dir)), f32(5, 6, 7, 8));
    // ...also when the directory is reached through a link.
    await Deno.symlink(dir, `${root}/link`);
    assert.deepEqual(
      await loadedBytes(fileSystem(`${root}/link/model.json`)),
      f32(5, 6, 7, 8),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fileSystem() loads a valid multi-group, multi-shard checkpoint with string weights", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    const a = f32(1, 2, 3);
    const b = new Uint8Array(new Int32Array([-1, 2, -3, 4]).buffer);
    const c = f32(0.5, 1.5, 2.5, 3.5, 4.5);
    // Two strings, "ab" and "xyz": a 4-byte little-endian length, then bytes.
    const s = new Uint8Array([2, 0, 0, 0, 97, 98, 3, 0, 0, 0, 120, 121, 122]);
    const group1 = concatBytes(a, b);
    await craft(dir, [
      {
        paths: ["group1-shard1of2.bin", "./group1-shard2of2.bin"],
        weights: [
          { name: "a", shape: [3], dtype: "float32" },
          { name: "b", shape: [2, 2], dtype: "int32" },
        ],
      },
      {
        paths: ["./group2-shard1of1.bin"],
        weights: [
          { name: "c", shape: [5], dtype: "float32" },
          { name: "s", shape: [2], dtype: "string" },
        ],
      },
    ], {
      "group1-shard1of2.bin": group1.subarray(0, 10),
      "group1-shard2of2.bin": group1.subarray(10),
      "group2-shard1of1.bin": concatBytes(c, s),
    });
    const artifacts = await fileSystem(dir).load!();
    assert.deepEqual(artifacts.weightSpecs!.map((w) => w.name), [
      "a",
      "b",
      "c",
      "s",
    ]);
    assert.deepEqual(
      new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData!)),
      concatBytes(a, b, c, s),
    );
    const decoded = tf.io.decodeWeights(
      artifacts.weightData!,
      artifacts.weightSpecs!,
    );
    assert.deepEqual(Array.from(decoded.b!.dataSync()), [-1, 2, -3, 4]);
    assert.deepEqual(decoded.s!.dataSync(), ["ab", "xyz"]);
    tf.dispose(Object.values(decoded));
    // A string length that runs past the end is refused, naming the weight.
    await Deno.writeFile(
      `${dir}/group2-shard1of1.bin`,
      concatBytes(c, s.subarray(0, 12)),
    );
    await assert.rejects(
      () => fileSystem(dir).load!(),
      (e) =>
        e instanceof RangeError &&
        e.message.includes(`${dir}/group2-shard1of1.bin holds 32 bytes`) &&
        e.message.includes('weight "s"'),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileSystem() checks weight file sizes against the manifest before reading them", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  try {
    const dir = `${root}/ckpt`;
    const two: Spec[] = [
      { name: "w1", shape: [4], dtype: "float32" },
      { name: "w2", shape: [3], dtype: "float32" },
    ];
    const full = f32(1, 2, 3, 4, 5, 6, 7);
    await craft(dir, [{ paths: ["weights.bin"], weights: two }], {
      "weights.bin": full.subarray(0, 27),
    });
    await assertRefused(dir, `${dir}/weights.bin`, RangeError, [
      `${dir}/weights.bin holds 27 bytes`,
      `${dir}/model.json declares more`,
      'weight "w2" (float32 [3]) starts at byte 16',
    ]);
    await Deno.writeFile(`${dir}/weights.bin`, concatBytes(full, f32(0)));
    await assertRefused(dir, `${dir}/weights.bin`, RangeError, [
      `${dir}/weights.bin holds 32 bytes`,
      `4 bytes are left over after the last weight "w2"`,
    ]);
    // A manifest declaring 4e12 bytes is refused without allocating them.
    await craft(dir, [{
      paths: ["weights.bin"],
      weights: [{ name: "huge", shape: [1e6, 1e6], dtype: "float32" }],
    }], { "weights.bin": f32(1, 2, 3, 4) });
    await assertRefused(dir, `${dir}/weights.bin`, RangeError, [
      'weight "huge" (float32 [1000000,1000000]) starts at byte 0 and needs 4000000000000',
    ]);
    // Bad specs name the weight and the manifest.
    await craft(dir, [{
      paths: ["weights.bin"],
      weights: [{ name: "q", shape: [-1], dtype: "float32" }],
    }], { "weights.bin": f32(1) });
    await assertRefused(dir, `${dir}/weights.bin`, TypeError, [
      `${dir}/model.json: weight "q" has shape [-1]`,
    ]);
    await craft(dir, [{
      paths: ["weights.bin"],
      weights: [{ name: "q", shape: [1], dtype: "float64" }],
    }], { "weights.bin": f32(1) });
    await assertRefused(dir, `${dir}/weights.bin`, TypeError, [
      'weight "q" has dtype "float64"',
    ]);
    await Deno.writeTextFile(`${dir}/model.json`, "{ not json");
    await assert.rejects(
      () => fileSystem(dir).load!(),
      (e) =>
        e instanceof TypeError &&
        e.message.includes(`${dir}/model.json is not valid JSON`),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

const ARTIFACTS = (values: number[]): tf.io.ModelArtifacts => ({
  modelTopology: { note: `values ${values}` },
  weightSpecs: [{ name: "w", shape: [values.length], dtype: "float32" }],
  weightData: f32(...values).buffer as ArrayBuffer,
});

Deno.test("fileSystem() save replaces the old checkpoint atomically and removes its weight file", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    // A tfjs-node style checkpoint: model.json and weights.bin.
    await craft(dir, [{ paths: ["./weights.bin"], weights: W4 }], {
      "weights.bin": f32(1, 2, 3, 4),
    });
    await fileSystem(dir).save!(ARTIFACTS([5, 6, 7, 8]));
    const names = await list(dir);
    assert.equal(names.length, 2, `${names}`);
    assert.equal(names[0], "model.json");
    assert.match(names[1]!, /^weights\.[0-9a-f]{16}\.bin$/);
    assert.deepEqual(await loadedBytes(fileSystem(dir)), f32(5, 6, 7, 8));
    // Again: the previous generation's file goes too.
    await fileSystem(dir).save!(ARTIFACTS([9, 10]));
    const again = await list(dir);
    assert.equal(again.length, 2);
    assert.notEqual(again[1], names[1]);
    assert.deepEqual(await loadedBytes(fileSystem(dir)), f32(9, 10));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileSystem() save never writes through a symbolic link", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  try {
    const victimJson = `${root}/victim.json`;
    const victimBin = `${root}/victim.bin`;
    await Deno.writeTextFile(victimJson, "precious");
    await Deno.writeFile(victimBin, f32(42));
    const dir = `${root}/ckpt`;
    await Deno.mkdir(dir);
    await Deno.symlink(victimJson, `${dir}/model.json`);
    await Deno.symlink(victimBin, `${dir}/weights.bin`);
    await fileSystem(dir).save!(ARTIFACTS([5, 6, 7, 8]));
    assert.equal(await Deno.readTextFile(victimJson), "precious");
    assert.deepEqual(await Deno.readFile(victimBin), f32(42));
    assert.ok((await Deno.lstat(`${dir}/model.json`)).isFile);
    assert.deepEqual(await loadedBytes(fileSystem(dir)), f32(5, 6, 7, 8));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fileSystem() save refuses weight data that disagrees with its specs, before writing", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  try {
    const bad = { ...ARTIFACTS([1, 2, 3, 4]), weightData: f32(1, 2, 3).buffer };
    await assert.rejects(
      () => fileSystem(`${root}/new`).save!(bad as tf.io.ModelArtifacts),
      (e) =>
        e instanceof RangeError &&
        e.message.includes("holds 12 bytes") &&
        e.message.includes('weight "w"'),
    );
    assert.deepEqual(await list(root), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

const STEPS: WriteStep[] = [
  "weights-partial",
  "weights-written",
  "manifest-written",
  "manifest-renamed",
  "done",
];

Deno.test("writeCheckpoint() that fails before the rename leaves the old checkpoint and no new files", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await craft(dir, [{ paths: ["./weights.bin"], weights: W4 }], {
      "weights.bin": f32(1, 2, 3, 4),
    });
    const before = await list(dir);
    const json = await Deno.readTextFile(`${dir}/model.json`);
    for (const stop of STEPS.slice(0, 3)) {
      await assert.rejects(
        () =>
          writeCheckpoint(dir, () => "{}", f32(5, 6, 7, 8), {
            onStep: (s) => {
              if (s === stop) throw new Error(`failed at ${s}`);
            },
          }),
        new RegExp(`failed at ${stop}`),
      );
      assert.deepEqual(await list(dir), before, stop);
      assert.equal(await Deno.readTextFile(`${dir}/model.json`), json);
      assert.deepEqual(await loadedBytes(fileSystem(dir)), f32(1, 2, 3, 4));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeCheckpoint() killed at any step leaves the old checkpoint or the new one, never a mix", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  try {
    // A child process saves and kills itself (SIGKILL: no cleanup runs) at
    // the given step.
    const script = `${root}/crash.ts`;
    await Deno.writeTextFile(
      script,
      `import { writeCheckpoint } from ${
        JSON.stringify(new URL("./_checkpoint_files.ts", import.meta.url).href)
      };
const [dir, stop] = Deno.args;
const manifest = (p: string) => JSON.stringify({
  modelTopology: {},
  weightsManifest: [{ paths: [p], weights: [{ name: "w", shape: [4], dtype: "float32" }] }],
});
await writeCheckpoint(dir, manifest, new Uint8Array(new Float32Array([5, 6, 7, 8]).buffer), {
  onStep: (s) => { if (s === stop) Deno.kill(Deno.pid, "SIGKILL"); },
});
`,
    );
    for (const [i, stop] of STEPS.entries()) {
      const dir = `${root}/ckpt${i}`;
      // The old checkpoint has the same shape, so only the values tell.
      await craft(dir, [{ paths: ["./weights.bin"], weights: W4 }], {
        "weights.bin": f32(1, 2, 3, 4),
      });
      const { code, signal } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", "--no-config", script, dir, stop],
        stdout: "null",
        stderr: "null",
      }).output();
      assert.equal(signal, "SIGKILL", `${stop}: exited ${code}`);
      const expected = i < 3 ? f32(1, 2, 3, 4) : f32(5, 6, 7, 8);
      assert.deepEqual(await loadedBytes(fileSystem(dir)), expected, stop);
      // The old manifest and weights are untouched until the rename.
      if (i < 3) {
        assert.deepEqual(
          await Deno.readFile(`${dir}/weights.bin`),
          f32(1, 2, 3, 4),
        );
      }
      // A crash leaves at most an unreferenced file behind; saving again
      // works.
      await fileSystem(dir).save!(ARTIFACTS([9]));
      assert.deepEqual(await loadedBytes(fileSystem(dir)), f32(9), stop);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fileSystem() save removes files a killed save left over an hour ago, and nothing else", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await fileSystem(dir).save!(ARTIFACTS([1]));
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    const stale = [
      "weights.0123456789abcdef.bin",
      ".model.json.0123456789abcdef.tmp",
    ];
    const fresh = "weights.fedcba9876543210.bin";
    const other = ["weights.backup.bin", "notes.txt"];
    for (const name of [...stale, fresh, ...other]) {
      await Deno.writeFile(`${dir}/${name}`, f32(7));
    }
    for (const name of [...stale, ...other]) {
      await Deno.utime(`${dir}/${name}`, old, old);
    }
    await fileSystem(dir).save!(ARTIFACTS([2]));
    const names = await list(dir);
    for (const name of stale) assert.ok(!names.includes(name), name);
    for (const name of [fresh, ...other]) assert.ok(names.includes(name), name);
    assert.deepEqual(await loadedBytes(fileSystem(dir)), f32(2));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileSystem() names a directory without model.json and a group without files", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await assert.rejects(
      () => fileSystem(dir).load!(),
      (e) =>
        e instanceof TypeError &&
        e.message === `fileSystem: no model at "${dir}" (no ${dir}/model.json)`,
    );
    await craft(dir, [{ paths: [], weights: W4 }]);
    await assert.rejects(
      () => fileSystem(dir).load!(),
      (e) =>
        e instanceof RangeError &&
        e.message.startsWith(
          `fileSystem: a group with no files holds 0 bytes, but ${dir}/model.json declares more: weight "w"`,
        ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileSystem() catches a directory swapped for a link between its check and the open", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  const d = Deno as unknown as Record<string, unknown>;
  const open = Deno.open;
  try {
    await Deno.mkdir(`${root}/outside`);
    await Deno.writeFile(`${root}/outside/a.bin`, f32(1, 2, 3, 4));
    const dir = `${root}/ckpt`;
    await craft(dir, [{ paths: ["inner/a.bin"], weights: W4 }]);
    await Deno.mkdir(`${dir}/inner`);
    await Deno.writeFile(`${dir}/inner/a.bin`, f32(5, 6, 7, 8));
    let swapped = false;
    d.open = async (p: string | URL, o?: Deno.OpenOptions) => {
      if (String(p) === `${dir}/inner/a.bin` && !swapped) {
        swapped = true;
        await Deno.rename(`${dir}/inner`, `${dir}/inner_old`);
        await Deno.symlink(`${root}/outside`, `${dir}/inner`);
      }
      return await open(p, o);
    };
    await assert.rejects(
      () => fileSystem(dir).load!(),
      (e) =>
        e instanceof TypeError &&
        e.message.includes(
          '"inner/a.bin", which changed while it was being opened',
        ),
    );
    assert.ok(swapped);
  } finally {
    d.open = open;
    await Deno.remove(root, { recursive: true });
  }
});
