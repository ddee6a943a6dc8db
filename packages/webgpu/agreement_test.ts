// Every optimizer gives the same weights on cpu and on webgpu, op by op and
// fused, over 100 steps, to float32 rounding (issue 12, item 7); fused on
// cpu, the same weights bit for bit (issue 16). Adam's bias
// correction `1 - β^t` used to differ by 1.5e-4 relative in the first steps,
// when `β^t` came from WGSL's `pow`; it is now `powInt`, float32
// multiplications that every backend rounds alike.
//
// CENTRA_AGREEMENT=print prints the largest differences (docs/chain.md
// quotes them).
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adam,
  adamw,
  chain,
  clipByGlobalNorm,
  disposeState,
  exponentialDecaySchedule,
  type GradientTransformation,
  initState,
  runStep,
  sgd,
  warmupCosineDecaySchedule,
} from "@centra/chain";
import { fuse } from "./mod.ts";
import { HAS_WEBGPU, normwiseDiff, read } from "@centra/testing/mod.ts";
import {
  makeOptimizer,
  OPTIMIZER_ROWS,
} from "@centra/testing/optimizer_table.ts";
import { quadratic, quadraticGrads } from "@centra/testing/fused_drivers.ts";

const SHAPES: Record<string, number[]> = {
  "conv/kernel": [3, 3, 2, 8],
  "conv/bias": [8],
  "dense/kernel": [16, 4],
};
const STEPS = 100;
const PRINT = Deno.env.get("CENTRA_AGREEMENT") === "print";

const OPTIMIZERS: [string, () => GradientTransformation<unknown>][] = [
  // every optimizer's settings of the table (testing/optimizer_table.ts)
  ...OPTIMIZER_ROWS.flatMap(([name, row]) =>
    row.agreement.map((v): [string, () => GradientTransformation<unknown>] => [
      v.label,
      () => makeOptimizer(name, v.lr, v.options),
    ])
  ),
  [
    "adam, exponential decay",
    () =>
      adam(
        exponentialDecaySchedule(0.01, { transitionSteps: 7, decayRate: 0.5 }),
      ),
  ],
  [
    "adamw, warmup cosine",
    () =>
      adamw(
        warmupCosineDecaySchedule({
          initValue: 0,
          peakValue: 0.01,
          warmupSteps: 10,
          decaySteps: 100,
        }),
      ),
  ],
  // GC and a global norm sum in another order on each backend: these agree
  // to the rounding of a reduction, not bit for bit
  [
    "adamw gc + clipByGlobalNorm",
    () =>
      chain(clipByGlobalNorm(1), adamw(0.01, { weightDecay: 1e-2, gc: true })),
  ],
  ["sgd momentum gc", () => sgd(0.05, { momentum: 0.9, gc: true })],
];

/** The final weights after `STEPS` steps of `½‖w - target‖²` plus noise. */
async function train(
  make: () => GradientTransformation<unknown>,
  fused: boolean,
): Promise<Float64Array[]> {
  const { vars, targets } = quadratic(SHAPES, "agreement");
  // exact: on cpu, op by op's numbers bit for bit (no effect on webgpu)
  const tx = fused ? fuse(make(), { exact: true }) : make();
  let state = initState(tx, vars);
  for (let step = 0; step < STEPS; step++) {
    const g = quadraticGrads(vars, targets, {
      mean: 0.1,
      seed: (i) => 1000 + 10 * step + i,
    });
    state = runStep(tx, g, state, vars);
    tf.dispose(Object.values(g));
  }
  const out = await Promise.all(Object.values(vars).map(read));
  disposeState(state);
  tf.dispose([...Object.values(vars), ...Object.values(targets)]);
  return out;
}

Deno.test({
  name:
    "every optimizer gives the same weights on cpu and webgpu (op by op and fused) over 100 steps",
  ignore: !HAS_WEBGPU,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const failures: string[] = [];
    for (const [name, make] of OPTIMIZERS) {
      await tf.setBackend("cpu");
      const cpu = await train(make, false);
      // the cpu generator's exact loops: the op-by-op numbers, bit for bit
      const cpuFused = await train(make, true);
      const d0 = normwiseDiff(cpuFused, cpu);
      if (d0 !== 0) failures.push(`${name} fused on cpu: ${d0} != 0`);
      await tf.setBackend("webgpu");
      const gpu = await train(make, false);
      const fused = await train(make, true);
      const [d1, d2] = [normwiseDiff(gpu, cpu), normwiseDiff(fused, cpu)];
      if (PRINT) {
        console.log(
          `${name}: webgpu op by op ${d1.toExponential(2)}, fused ${
            d2.toExponential(2)
          }`,
        );
      }
      // elementwise math: a few float32 roundings (6e-8 each) at most (on
      // llvmpipe, none); sums in another order: their rounding, carried
      // through 100 steps
      const bound = name.includes("gc") ? 1e-6 : 2.5e-7;
      for (const [what, d] of [["op by op", d1], ["fused", d2]] as const) {
        if (!(d <= bound)) failures.push(`${name} ${what}: ${d} > ${bound}`);
      }
    }
    await tf.setBackend("webgpu");
    assert.deepEqual(failures, []);
  },
});

Deno.test({
  name: "tfjs's own Adam, for comparison, is identical on cpu and webgpu",
  ignore: !HAS_WEBGPU || !PRINT,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const w = tf.variable(tf.randomNormal([64], 0, 1, "float32", 5));
      const opt = tf.train.adam(0.01);
      for (let s = 0; s < STEPS; s++) {
        const g = tf.randomNormal([64], 0, 1, "float32", 10 + s);
        opt.applyGradients([{ name: w.name, tensor: g }]);
        g.dispose();
      }
      const out = await read(w);
      opt.dispose();
      w.dispose();
      return out;
    };
    const a = await run("cpu"), b = await run("webgpu");
    console.log(`tf.train.adam: ${normwiseDiff([b], [a]).toExponential(2)}`);
  },
});
