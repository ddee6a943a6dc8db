// Issue 12, item 2: every piece of state that changes with steps survives a
// save, at every step offset. For each stateful chain, a run saved after j
// steps and resumed in a fresh optimizer (getWeights/setWeights, and
// model.save/tf.loadLayersModel) ends bit for bit where the uninterrupted
// run ends.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adam,
  applyIfFinite,
  injectHyperparams,
  multiSteps,
  sgd,
} from "@centra/chain";
import { assertClose, testOnBackends } from "@centra/testing/mod.ts";
import { OPTIMIZER_ROWS } from "@centra/testing/optimizer_table.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { type JsonObject, registerChain } from "./register_chain.ts";
import { memoryIO, savedWeights, tinyData, tinyModel } from "./_test_utils.ts";

registerChain(
  "resume/multiSteps2",
  () => multiSteps(sgd(0.1, { momentum: 0.9 }), 2),
);
registerChain("resume/multiSteps3", () => multiSteps(adam(0.05), 3));
registerChain(
  "resume/applyIfFinite",
  () => applyIfFinite(adam(0.05), { maxConsecutiveErrors: 1 }),
);
registerChain(
  "resume/nested",
  () =>
    applyIfFinite(
      multiSteps(
        injectHyperparams((hp) => sgd(hp.learningRate, { momentum: 0.5 }), {
          learningRate: 0.1,
        }),
        2,
      ),
    ),
);
registerChain(
  "resume/multiStepsOfFinite",
  () => multiSteps(applyIfFinite(sgd(0.1, { momentum: 0.9 })), 3),
);

/** Every stateful transform: name, options, and which steps get NaN. */
const CASES: ReadonlyArray<[string, JsonObject]> = [
  ["resume/multiSteps2", {}],
  ["resume/multiSteps3", {}],
  ["resume/applyIfFinite", {}],
  ["resume/nested", {}],
  ["resume/multiStepsOfFinite", {}],
  // every optimizer's resume settings of the table
  // (testing/optimizer_table.ts); adamw's holds injectHyperparams's count
  // and a schedule of it
  ...OPTIMIZER_ROWS.flatMap(([name, row]) =>
    row.resume.map((o): [string, JsonObject] => [name, o as JsonObject])
  ),
];
const STEPS = 6;
const NAN_STEPS = new Set([2, 3]);

let runId = 0;

/** Whether a case skips non-finite steps (and so is fed some). */
const skipsNaN = (name: string) => /Finite|nested/.test(name);

/** The gradient of step `i` (NaN on NAN_STEPS when `nan`). */
function gradOf(i: number, shape: number[], nan: boolean): tf.Tensor {
  return tf.tidy(() => {
    const g = tf.sin(tf.add(tf.range(0, shape.reduce((a, b) => a * b, 1)), i))
      .reshape(shape);
    return nan && NAN_STEPS.has(i) ? tf.mul(g, NaN) : g;
  });
}

/** Runs steps [from, to) of one case on `w` with `opt`. */
function steps(opt: ChainOptimizer, w: tf.Variable, from: number, to: number) {
  const nan = skipsNaN(opt.spec!.name);
  for (let i = from; i < to; i++) {
    const g = gradOf(i, w.shape, nan);
    opt.applyGradients({ [w.name]: g });
    g.dispose();
  }
}

async function bits(t: tf.Tensor): Promise<number[]> {
  const copy = Float32Array.from(await t.data() as Float32Array);
  return Array.from(new Uint32Array(copy.buffer));
}

testOnBackends(
  "ChainOptimizer getWeights/setWeights at every step offset resumes bit for bit, for every stateful chain",
  async () => {
    for (const [name, options] of CASES) {
      const id = runId++;
      const start = tf.tensor2d([[0.5, -1, 2], [1, 0.25, -0.5]]);
      const ref = tf.variable(start, true, `resume_ref${id}/w`);
      const refOpt = ChainOptimizer.from(name, options);
      steps(refOpt, ref, 0, STEPS);
      const want = await bits(ref);
      for (let j = 0; j <= STEPS; j++) {
        const before = tf.memory().numTensors;
        const w = tf.variable(start, true, `resume_a${id}_${j}/w`);
        const a = ChainOptimizer.from(name, options);
        steps(a, w, 0, j);
        const saved = await savedWeights(a);
        a.dispose();
        const b = ChainOptimizer.from(name, options);
        await b.setWeights(saved);
        tf.dispose(saved.map((s) => s.tensor));
        assert.equal(b.iterations, j);
        steps(b, w, j, STEPS);
        assert.deepEqual(
          await bits(w),
          want,
          `${name}: saved after ${j} of ${STEPS} steps`,
        );
        b.dispose();
        w.dispose();
        assert.equal(tf.memory().numTensors, before, `${name} at ${j}: leak`);
      }
      refOpt.dispose();
      ref.dispose();
      start.dispose();
    }
  },
);

testOnBackends(
  "model.save and tf.loadLayersModel at every step offset resume bit for bit, for every stateful chain",
  async (backend) => {
    // fit on the model path is slow on llvmpipe; the device-select path is
    // the same as above, so webgpu runs the accumulating cases only
    const cases = backend === "cpu"
      ? CASES
      : CASES.filter(([n]) => n.includes("multiSteps"));
    const batches = Array.from({ length: STEPS }, (_, i) => {
      const { xs, ys } = tinyData(4, 11 + i);
      return { xs, ys, nan: tf.mul(xs, NaN) as tf.Tensor4D };
    });
    const train = async (m: tf.LayersModel, from: number, to: number) => {
      const nan = skipsNaN((m.optimizer as ChainOptimizer).spec!.name);
      for (let i = from; i < to; i++) {
        const b = batches[i]!;
        await m.trainOnBatch(nan && NAN_STEPS.has(i) ? b.nan : b.xs, b.ys);
      }
    };
    const weightsOf = async (m: tf.LayersModel) =>
      await Promise.all(m.getWeights().map(bits));
    for (const [name, options] of cases) {
      const compile = (m: tf.LayersModel) =>
        m.compile({
          optimizer: ChainOptimizer.from(name, options),
          loss: "categoricalCrossentropy",
        });
      const ref = tinyModel(5);
      compile(ref);
      await train(ref, 0, STEPS);
      const want = await weightsOf(ref);
      (ref.optimizer as ChainOptimizer).dispose();
      ref.dispose();
      for (let j = 0; j <= STEPS; j++) {
        const m = tinyModel(5);
        compile(m);
        await train(m, 0, j);
        const io = memoryIO();
        await m.save(io.save, { includeOptimizer: true });
        (m.optimizer as ChainOptimizer).dispose();
        m.dispose();
        const loaded = await tf.loadLayersModel(io.load());
        const opt = loaded.optimizer as ChainOptimizer;
        assert.ok(opt instanceof ChainOptimizer);
        assert.equal(opt.iterations, j);
        await train(loaded, j, STEPS);
        assert.deepEqual(
          await weightsOf(loaded),
          want,
          `${name}: saved after ${j} of ${STEPS} steps`,
        );
        opt.dispose();
        loaded.dispose();
      }
    }
    tf.dispose(batches.flatMap((b) => [b.xs, b.ys, b.nan]));
  },
);

testOnBackends(
  "ChainOptimizer: a state saved fused resumes op by op and the other way round (same names, shapes and order), for every stateful chain",
  async () => {
    const FLOAT32 = { rtol: 1e-4, atol: 1e-5 };
    const j = STEPS / 2;
    for (const [name, options] of CASES) {
      const id = runId++;
      const start = tf.tensor2d([[0.5, -1, 2], [1, 0.25, -0.5]]);
      const ref = tf.variable(start, true, `resume_x${id}/w`);
      const refOpt = ChainOptimizer.from(name, options, { fused: false });
      steps(refOpt, ref, 0, STEPS);
      const want = await ref.data();
      const layouts: string[][] = [];
      for (const saveFused of [true, false]) {
        const w = tf.variable(start, true, `resume_x${id}_${saveFused}/w`);
        const a = ChainOptimizer.from(name, options, { fused: saveFused });
        steps(a, w, 0, j);
        const saved = await savedWeights(a);
        layouts.push(
          saved.map((s) =>
            `${s.name.replace(/^resume_x\d+_\w+\//, "")} [${s.tensor.shape}]`
          ),
        );
        a.dispose();
        const b = ChainOptimizer.from(name, options, { fused: !saveFused });
        await b.setWeights(saved);
        tf.dispose(saved.map((s) => s.tensor));
        steps(b, w, j, STEPS);
        const got = await w.data();
        // applyIfFinite's case lets NaN through on purpose: NaN where the
        // reference has NaN, close elsewhere
        assert.deepEqual(
          Array.from(got, Number.isNaN),
          Array.from(want, Number.isNaN),
          name,
        );
        const finite = (x: ArrayLike<number>) =>
          Array.from(x, (v) => Number.isNaN(v) ? 0 : v);
        assertClose(finite(got), finite(want), {
          ...FLOAT32,
          what: `${name}: saved ${saveFused ? "fused" : "op by op"} after ${j}`,
        });
        b.dispose();
        w.dispose();
      }
      assert.deepEqual(layouts[0], layouts[1], name);
      refOpt.dispose();
      ref.dispose();
      start.dispose();
    }
  },
);
