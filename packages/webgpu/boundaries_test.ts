// The values at the edges of each formula (docs/chain.md, Boundaries) in
// fused kernels: the same as op by op on cpu, bit for bit (issue 12, items 5
// and 7).
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adam,
  chain,
  clipByGlobalNorm,
  clipByNorm,
  disposeState,
  ema,
  type GradientTransformation,
  initState,
  injectHyperparams,
  linearSchedule,
  runUpdate,
  scaleByAdam,
  scaleByRms,
  sgd,
} from "@centra/chain";
import { fuse } from "./mod.ts";
import { HAS_WEBGPU, read } from "@centra/testing/mod.ts";

const CASES: [string, () => GradientTransformation<unknown>][] = [
  ["clipByGlobalNorm(tf.scalar(0))", () => clipByGlobalNorm(tf.scalar(0))],
  ["clipByNorm(tf.scalar(0))", () => clipByNorm(tf.scalar(0))],
  [
    "clipByGlobalNorm(tf.scalar(1e30))",
    () => clipByGlobalNorm(tf.scalar(1e30)),
  ],
  [
    "scaleByAdam b1 = b2 = 1 as tensors",
    () => scaleByAdam({ b1: tf.scalar(1), b2: tf.scalar(1) }),
  ],
  ["scaleByAdam eps 0", () => scaleByAdam({ eps: 0 })],
  [
    "scaleByAdam eps tensor 0, amsgrad",
    () => scaleByAdam({ eps: tf.scalar(0), amsgrad: true }),
  ],
  ["scaleByRms eps 0, centred", () => scaleByRms({ eps: 0, centered: true })],
  ["ema(1)", () => ema(1)],
  [
    "a max norm scheduled to 0",
    () =>
      injectHyperparams(
        (hp) => chain(clipByGlobalNorm(hp.maxNorm), sgd(0.1)),
        {
          maxNorm: linearSchedule({
            initValue: 1,
            endValue: 0,
            transitionSteps: 3,
          }),
        },
      ),
  ],
  [
    // β as tensors: powInt's factors are float32 squarings on both sides
    "adam with injected b1, b2",
    () =>
      injectHyperparams(
        (hp) => adam(0.01, { b1: hp.b1, b2: hp.b2 }),
        { b1: 0.9, b2: 0.999 },
      ),
  ],
];

/** Updates of 12 steps; the gradients have zero rows, columns and steps. */
async function updates(
  make: () => GradientTransformation<unknown>,
  fused: boolean,
): Promise<number[][]> {
  const params = {
    w: tf.tensor2d([[1, -2, 0.5], [0, 3, -1]]),
    b: tf.tensor1d([0.25, -0.5, 0]),
  };
  const tx = fused ? fuse(make(), { exact: true }) : make();
  let state = initState(tx, params);
  const out: number[][] = [];
  for (let step = 0; step < 12; step++) {
    const k = step % 3 === 2 ? 0 : 1; // every third step, all gradients 0
    const grads = {
      w: tf.tensor2d([[0, 0.5 * k, -k], [0, 2 * k, 0.25 * k]]),
      b: tf.tensor1d([0, -k, 3 * k]),
    };
    const [u, next] = runUpdate(tx, grads, state, params);
    for (const t of Object.values(u)) out.push(Array.from(await read(t)));
    tf.dispose([...Object.values(u), ...Object.values(grads)]);
    state = next;
  }
  disposeState(state);
  tf.dispose(Object.values(params));
  return out;
}

Deno.test({
  name:
    "fused kernels give the op-by-op cpu values at every boundary, bit for bit",
  ignore: !HAS_WEBGPU,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    for (const [name, make] of CASES) {
      await tf.setBackend("cpu");
      const cpu = await updates(make, false);
      await tf.setBackend("webgpu");
      const fused = await updates(make, true);
      for (const row of [...cpu, ...fused]) {
        assert.ok(row.every(Number.isFinite), `${name}: ${row}`);
      }
      assert.deepEqual(fused, cpu, name);
    }
  },
});

Deno.test({
  name:
    "fused cpu loops give the op-by-op cpu values at every boundary, bit for bit (exact)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await tf.setBackend("cpu");
    for (const [name, make] of CASES) {
      const cpu = await updates(make, false);
      const fused = await updates(make, true);
      for (const row of fused) {
        assert.ok(row.every(Number.isFinite), `${name}: ${row}`);
      }
      assert.deepEqual(fused, cpu, name);
    }
  },
});
