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

Deno.test("docs/chain.md lists every optimizer of OPTIMIZERS, and only those", async () => {
  const doc = await Deno.readTextFile(
    new URL("../../docs/chain.md", import.meta.url),
  );
  const line = /every test\s+suite read it\):\s+([^.]*)\./.exec(doc);
  assert.ok(line, "the optimizer list of docs/chain.md");
  const listed = [...line[1]!.matchAll(/`(\w+)`/g)].map((m) => m[1]);
  assert.deepEqual(listed, Object.keys(OPTIMIZERS));
});
