// What a full garbage collection costs the fused cpu steps after it: the
// small CNN's fused Adam and GC + AdamW + clip (cpu backend), timed over the
// 90 steps right after a forced full collection and over the next 90, with
// the generator keeping its last finished step (the default) and without
// (`cpuReuse.keepLastStep`, test-only). V8 optimizes a class's methods
// against the hidden classes (maps) of its instances; a full collection
// frees the maps no live object uses, and every function optimized against
// them is deoptimized (`CpuStep.retire` in `_cpu_generator.ts`). Rounds
// visit the four rows in turn; each prints its median ms per step after the
// collection and in the steady state, and their ratio.
//
//   deno task bench:cpu-after-gc
//   (= deno run -A --v8-flags=--expose-gc bench/cpu_after_gc.ts)
import * as tf from "@tensorflow/tfjs";
import {
  adam,
  adamw,
  chain,
  clipByGlobalNorm,
  type GradientTransformation,
  initState,
  runStep,
} from "@centra/chain";
import { fuse } from "@centra/webgpu";
import { cpuReuse } from "../packages/chain/_cpu_pool.ts";
import { collectGarbage, makeGrads, makeVars, shapesOf } from "./_common.ts";

await tf.setBackend("cpu");
const smoke = Deno.env.get("CENTRA_BENCH_SMOKE") === "1";
const STEPS = smoke ? 3 : 90, ROUNDS = smoke ? 1 : 15;

const chains: [string, () => GradientTransformation<unknown>][] = [
  ["Adam", () => adam(1e-3, { eps: 1e-7 })],
  [
    "GC + AdamW + clip",
    () =>
      chain(
        clipByGlobalNorm(1),
        adamw(1e-3, { eps: 1e-7, weightDecay: 1e-4, gc: true }),
      ),
  ],
];

interface Row {
  name: string;
  keep: boolean;
  step(): void;
  after: number[];
  steady: number[];
}

const shapes = shapesOf("small CNN");
const rows: Row[] = chains.flatMap(([name, make]) =>
  [true, false].map((keep) => {
    const vars = makeVars(shapes);
    const grads = makeGrads(vars);
    const tx = fuse(make());
    let state = initState(tx, vars);
    const step = () => {
      cpuReuse.keepLastStep = keep;
      state = runStep(tx, grads, state, vars);
    };
    return { name, keep, step, after: [], steady: [] };
  })
);

/** Mean ms per step over `STEPS` steps of `row`. */
function timed(row: Row): number {
  const t0 = performance.now();
  for (let k = 0; k < STEPS; k++) row.step();
  return (performance.now() - t0) / STEPS;
}

for (const row of rows) for (let k = 0; k < 300; k++) row.step();
for (let round = 0; round < ROUNDS; round++) {
  for (const row of rows) {
    collectGarbage();
    row.after.push(timed(row));
    row.steady.push(timed(row));
  }
}
cpuReuse.keepLastStep = true;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
console.log(
  `small CNN, cpu, ${STEPS} steps after a full GC and the ${STEPS} after ` +
    `them, median of ${ROUNDS} rounds (ms per step)\n`,
);
console.log("| row | last step kept | after GC | steady | ratio |");
console.log("| --- | --- | ---: | ---: | ---: |");
for (const r of rows) {
  const a = median(r.after), s = median(r.steady);
  console.log(
    `| ${r.name} | ${r.keep ? "yes" : "no"} | ${a.toFixed(3)} | ` +
      `${s.toFixed(3)} | ${(a / s).toFixed(2)} |`,
  );
}
