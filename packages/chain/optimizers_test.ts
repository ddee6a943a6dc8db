// Every optimizer with GC off against tfjs's own optimizer, over 100 steps on
// the parameter shapes of a small CNN, on every backend.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  applyUpdates,
  type GradientTransformation,
  initState,
  OPTIMIZERS,
  runUpdate,
} from "./mod.ts";
import {
  assertClose,
  randn,
  read,
  testOnBackends,
} from "@centra/testing/mod.ts";
import {
  makeOptimizer,
  OPTIMIZER_ROWS,
  rowFile,
} from "@centra/testing/optimizer_table.ts";

const CNN_SHAPES: Record<string, number[]> = {
  "conv1/kernel": [3, 3, 1, 8],
  "conv1/bias": [8],
  "conv2/kernel": [3, 3, 8, 16],
  "conv2/bias": [16],
  "bn/gamma": [16],
  "dense/kernel": [64, 10],
  "dense/bias": [10],
};
const STEPS = 100;

interface Case {
  name: string;
  ours: () => GradientTransformation<unknown>;
  theirs: () => tf.Optimizer;
  rtol?: number;
}

// Every optimizer's cases of the table (testing/optimizer_table.ts) that
// tfjs has an optimizer for.
const cases: Case[] = OPTIMIZER_ROWS.flatMap(([name, row]) =>
  row.tfjs.map((c) => ({
    name: c.name,
    ours: () => makeOptimizer(name, c.lr, c.options),
    theirs: () => c.theirs(c.lr),
    ...(c.rtol === undefined ? {} : { rtol: c.rtol }),
  }))
);

let run = 0;
for (const c of cases) {
  testOnBackends(`${c.name} over ${STEPS} steps`, async () => {
    const id = `eq${run++}`;
    const ours: Record<string, tf.Variable> = {};
    const theirs: Record<string, tf.Variable> = {};
    let seed = 1;
    for (const [name, shape] of Object.entries(CNN_SHAPES)) {
      const init = randn(shape.reduce((a, b) => a * b, 1), seed++);
      ours[name] = tf.variable(
        tf.tensor(Float32Array.from(init), shape, "float32"),
        true,
        `${id}/ours/${name}`,
      );
      theirs[name] = tf.variable(
        tf.tensor(Float32Array.from(init), shape, "float32"),
        true,
        `${id}/theirs/${name}`,
      );
    }
    const tx = c.ours();
    const opt = c.theirs();
    let state = initState(tx, ours);
    for (let step = 0; step < STEPS; step++) {
      const grads: Record<string, tf.Tensor> = {};
      const theirGrads: Record<string, tf.Tensor> = {};
      for (const [name, shape] of Object.entries(CNN_SHAPES)) {
        const g = tf.tensor(
          Float32Array.from(randn(
            shape.reduce((a, b) => a * b, 1),
            1000 * step + seed++,
          )),
          shape,
        );
        grads[name] = g;
        theirGrads[theirs[name]!.name] = g;
      }
      opt.applyGradients(theirGrads);
      const [updates, next] = runUpdate(tx, grads, state, ours);
      state = next;
      applyUpdates(ours, updates);
      tf.dispose([updates, Object.values(grads)]);
    }
    for (const name of Object.keys(CNN_SHAPES)) {
      assertClose(await read(ours[name]!), await read(theirs[name]!), {
        rtol: c.rtol ?? 2e-4,
        atol: 2e-5,
        what: `${c.name}: ${name}`,
      });
    }
    opt.dispose();
    tf.dispose([
      Object.values(ours),
      Object.values(theirs),
      state as tf.TensorContainer,
    ]);
  });
}

// The optimizer pages of docs/: each optimizer has its entry on one of them.
const FAMILY_PAGES = [
  "optimizers_core.md",
  "optimizers_adam.md",
  "large_batch_and_sign.md",
  "other_optimizers.md",
  "wrappers.md",
];

Deno.test("every optimizer of OPTIMIZERS has its entry on one of docs/' optimizer pages (a section or a table row), and docs/chain.md links every page", async () => {
  const docs = new URL("../../docs/", import.meta.url);
  const pages = await Promise.all(
    FAMILY_PAGES.map((page) => Deno.readTextFile(new URL(page, docs))),
  );
  const undocumented = Object.keys(OPTIMIZERS).filter((name) =>
    !pages.some((text) =>
      text.includes(`\n## ${name}\n`) || text.includes(`\n| \`${name}\` `)
    )
  );
  assert.deepEqual(undocumented, []);
  const chain = await Deno.readTextFile(new URL("chain.md", docs));
  for (const page of FAMILY_PAGES) {
    assert.ok(chain.includes(`](${page})`), `docs/chain.md links ${page}`);
  }
});

Deno.test("every optimizer's test row is rows/<its name in snake case>.ts, and every file of rows/ but the shared ones is a row", async () => {
  const rows = new URL("../../testing/rows/", import.meta.url);
  const files: string[] = [];
  for await (const e of Deno.readDir(rows)) {
    if (!e.name.startsWith("_")) files.push(e.name);
  }
  assert.deepEqual(
    files.toSorted(),
    Object.keys(OPTIMIZERS).map((n) => `${rowFile(n)}.ts`).toSorted(),
  );
  assert.equal(rowFile("signSgd"), "sign_sgd");
  assert.equal(rowFile("adam"), "adam");
});
