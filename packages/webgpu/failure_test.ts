// A fused step that fails, at any point of any dispatch, changes nothing:
// every variable (those of the step and the others), every state tensor and
// `tf.memory().numTensors` are as they were, and the next step works. And
// tensors with no elements are no-ops in fused chains (issue 12, item 1).
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  disposeState,
  type GradientTransformation,
  initState,
  injectHyperparams,
  runStep,
  runUpdate,
  sgd,
} from "@centra/chain";
import { fuse } from "./mod.ts";
import { type FaultPoint, faults, forceSingleOutput } from "./_dispatch.ts";
import { collectTensors } from "../chain/_tree.ts";
import { assertClose, read } from "@centra/testing/mod.ts";
import { backendTest } from "@centra/testing/backends.ts";
import { seededVariables, stepOnce } from "@centra/testing/fused_drivers.ts";

// conv/kernel has more rows than a one-pass GC mean takes (ONE_PASS_ROWS):
// its mean takes two passes, and a fault can come after the first is freed
const SHAPES: Record<string, number[]> = {
  "conv/kernel": [3, 3, 32, 8],
  "conv/bias": [8],
  "dense/kernel": [6, 3],
};

function webgpuTest(name: string, fn: () => void | Promise<void>): void {
  backendTest("webgpu", name, fn, () => {
    faults.point = null;
    forceSingleOutput(false);
  });
}

function variables(
  shapes: Record<string, number[]>,
): Record<string, tf.Variable> {
  return seededVariables(shapes, "failure", 3);
}

function gradsFor(
  vars: Record<string, tf.Variable>,
  step: number,
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  let seed = 50 + 10 * step;
  for (const [k, v] of Object.entries(vars)) {
    out[k] = tf.randomNormal(v.shape, 0.2, 1, "float32", seed++);
  }
  return out;
}

async function snapshot(x: unknown): Promise<number[][]> {
  return await Promise.all(
    [...collectTensors(x)].map(async (t) => Array.from(await read(t))),
  );
}

const CHAINS: [string, () => GradientTransformation<unknown>][] = [
  // a global norm (reductions by runWebGPUProgram), GC means, Adam's pack
  [
    "clipByGlobalNorm + adamw gc",
    () => chain(clipByGlobalNorm(1), adamw(0.05, { gc: true })),
  ],
  [
    "injectHyperparams sgd momentum gc",
    () =>
      injectHyperparams(
        (hp) => sgd(hp.learningRate, { momentum: 0.9, gc: true }),
        { learningRate: 0.05 },
      ),
  ],
];

const POINTS: [FaultPoint, number][] = [
  ["encode", 0],
  ["pass", 0],
  ["pass", 2],
  ["dispatched", 0],
  ["dispatched", 1],
  ["program", 0],
  ["program", 3],
];

for (const [chainName, make] of CHAINS) {
  for (const single of [false, true]) {
    webgpuTest(
      `fuse(${chainName}): a step that fails mid-dispatch changes nothing${
        single ? " (one output per dispatch)" : ""
      }`,
      async () => {
        forceSingleOutput(single);
        for (const [point, skip] of POINTS) {
          if (single && point !== "program") continue;
          for (const driver of ["runStep", "runUpdate"] as const) {
            await failOnce(make, point, skip, driver);
          }
        }
      },
    );
  }
}

async function failOnce(
  make: () => GradientTransformation<unknown>,
  point: FaultPoint,
  skip: number,
  driver: "runStep" | "runUpdate",
): Promise<void> {
  const what = `${point} +${skip} via ${driver}`;
  const vars = variables(SHAPES);
  const other = variables({ other: [5, 7] }).other!;
  const twin = variables(SHAPES);
  const tx = fuse(make());
  const plain = make();
  let state = initState(tx, vars);
  let twinState = initState(plain, twin);
  const step = (
    t: GradientTransformation<unknown>,
    g: Record<string, tf.Tensor>,
    s: unknown,
    v: Record<string, tf.Variable>,
  ): unknown => stepOnce(t, g, s, v, driver === "runUpdate");
  // a first step compiles the kernels; the twin runs op by op
  for (const [t, v, which] of [[tx, vars, 0], [plain, twin, 1]] as const) {
    const g = gradsFor(v, 0);
    if (which === 0) state = step(t, g, state, v);
    else twinState = step(t, g, twinState, v);
    tf.dispose(Object.values(g));
  }
  const g = gradsFor(vars, 1);
  const beforeVars = await snapshot(vars);
  const beforeState = await snapshot(state);
  const beforeOther = Array.from(await read(other));
  const count = tf.memory().numTensors;
  const buffers = tf.engine().backend.numDataIds();
  faults.point = point;
  faults.skip = skip;
  assert.throws(() => step(tx, g, state, vars), /injected fault/, what);
  assert.equal(faults.point, null, `${what}: the fault was not reached`);
  assert.equal(tf.memory().numTensors, count, `${what}: tensors leaked`);
  assert.deepEqual(await snapshot(vars), beforeVars, `${what}: variables`);
  assert.deepEqual(await snapshot(state), beforeState, `${what}: state`);
  assert.deepEqual(Array.from(await read(other)), beforeOther, what);
  // reading flushed the queue: buffers it held for the failed step are gone
  assert.equal(tf.engine().backend.numDataIds(), buffers, `${what}: buffers`);
  // the same step again works, and agrees with the op-by-op twin
  state = step(tx, g, state, vars);
  const tg = gradsFor(twin, 1);
  twinState = step(plain, tg, twinState, twin);
  const got = await snapshot(vars), want = await snapshot(twin);
  got.forEach((x, i) =>
    assertClose(x, want[i]!, { rtol: 1e-5, atol: 1e-6, what })
  );
  assert.deepEqual(Array.from(await read(other)), beforeOther, what);
  tf.dispose([...Object.values(g), ...Object.values(tg)]);
  disposeState(state);
  disposeState(twinState);
  tf.dispose([...Object.values(vars), ...Object.values(twin), other]);
}

webgpuTest(
  "fuse(): tensors with no elements are no-ops, the others train as op by op on cpu",
  async () => {
    const shapes = { ...SHAPES, "empty/kernel": [4, 0], "empty/bias": [0] };
    const results: number[][][] = [];
    for (const backend of ["cpu", "webgpu"]) {
      await tf.setBackend(backend);
      for (const fused of backend === "webgpu" ? [false, true] : [false]) {
        const vars = variables(shapes);
        const make = () =>
          chain(clipByGlobalNorm(1), adamw(0.05, { gc: true }));
        const tx = fused ? fuse(make()) : make();
        let state = initState(tx, vars);
        const before = tf.memory().numTensors;
        for (let s = 0; s < 5; s++) {
          const g = gradsFor(vars, s);
          state = s % 2 === 0 || !fused ? runStep(tx, g, state, vars) : (() => {
            const [u, next] = runUpdate(tx, g, state, vars);
            assert.deepEqual(u["empty/kernel"]!.shape, [4, 0]);
            applyUpdates(vars, u);
            tf.dispose(Object.values(u));
            return next;
          })();
          tf.dispose(Object.values(g));
          assert.equal(tf.memory().numTensors, before, `step ${s}`);
        }
        assert.deepEqual(vars["empty/kernel"]!.shape, [4, 0]);
        results.push(await snapshot(vars));
        disposeState(state);
        tf.dispose(Object.values(vars));
      }
    }
    await tf.setBackend("webgpu");
    const [cpu, ...gpu] = results;
    for (const r of gpu) {
      r.forEach((x, i) =>
        assertClose(x, cpu![i]!, { rtol: 1e-5, atol: 1e-6, what: `${i}` })
      );
    }
  },
);
