// What a full garbage collection costs the fused cpu steps after it: the
// small CNN's fused Adam and GC + AdamW + clip (cpu backend), timed over the
// 90 steps right after a forced full collection and over the next 90, with
// the generator keeping its last finished step (the default) and without
// (`cpuReuse.keepLastStep`, test-only). V8 optimizes a class's methods
// against the hidden classes (maps) of its instances; a full collection
// frees the maps no live object uses, and every function optimized against
// them is deoptimized (`CpuStep.retire` in `_cpu_generator.ts`). Each setting
// runs in a process of its own (this file run again with
// `CENTRA_KEEP_LAST_STEP`): a step kept by one row would keep the maps alive
// for every row of the process. Each prints its median ms per step after the
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
  step(): void;
  after: number[];
  steady: number[];
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** The rows of one setting, measured in this process: [name, after, steady]. */
function measure(keep: boolean): [string, number, number][] {
  cpuReuse.keepLastStep = keep;
  const shapes = shapesOf("small CNN");
  const rows: Row[] = chains.map(([name, make]) => {
    const vars = makeVars(shapes);
    const grads = makeGrads(vars);
    const tx = fuse(make());
    let state = initState(tx, vars);
    const step = () => {
      state = runStep(tx, grads, state, vars);
    };
    return { name, step, after: [], steady: [] };
  });
  const timed = (row: Row) => {
    const t0 = performance.now();
    for (let k = 0; k < STEPS; k++) row.step();
    return (performance.now() - t0) / STEPS;
  };
  for (const row of rows) for (let k = 0; k < 300; k++) row.step();
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of rows) {
      collectGarbage();
      row.after.push(timed(row));
      row.steady.push(timed(row));
    }
  }
  return rows.map((r) => [r.name, median(r.after), median(r.steady)]);
}

const asked = Deno.env.get("CENTRA_KEEP_LAST_STEP");
if (asked !== undefined) {
  console.log(JSON.stringify(measure(asked === "yes")));
} else {
  console.log(
    `small CNN, cpu, ${STEPS} steps after a full GC and the ${STEPS} after ` +
      `them, median of ${ROUNDS} rounds (ms per step), one process per ` +
      "setting\n",
  );
  console.log("| row | last step kept | after GC | steady | ratio |");
  console.log("| --- | --- | ---: | ---: | ---: |");
  for (const keep of ["yes", "no"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--v8-flags=--expose-gc", import.meta.filename!],
      env: { CENTRA_KEEP_LAST_STEP: keep },
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`the "${keep}" run failed`);
    const rows = JSON.parse(new TextDecoder().decode(out.stdout).trim()) as [
      string,
      number,
      number,
    ][];
    for (const [name, a, st] of rows) {
      console.log(
        `| ${name} | ${keep} | ${a.toFixed(3)} | ${st.toFixed(3)} | ${
          (a / st).toFixed(2)
        } |`,
      );
    }
  }
}
