// Where the GPU time of one optimizer step goes, per kind of kernel: tfjs's
// `tf.time` with WebGPU timestamp queries (each dispatch then runs in a pass
// of its own, so the totals are larger than an unprofiled step; compare the
// shares, not the sums with bench/fused_bench.ts). Fused kernels are named by
// what they do (CentraFusedStep: one tensor's new weight and state;
// CentraMeanColumns, or CentraMeanPartials/CentraMeanTotal on larger
// tensors: GC's per-unit means; CentraSum: the global norm; CentraScalars:
// the step's shared scalars).
//
//   deno run -A bench/webgpu_profile.ts            (ResNet-18)
//   CENTRA_BENCH_MODELS="ResNet-50" deno run -A bench/webgpu_profile.ts
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { adam, adamw, chain, clipByGlobalNorm } from "@centra/chain";
import { fuse } from "@centra/webgpu";
import {
  builtinRow,
  centraRow,
  makeGrads,
  makeVars,
  median,
  type ModelName,
  MODELS,
  type Row,
  settle,
  shapesOf,
} from "./_common.ts";

if (!(await tf.setBackend("webgpu").catch(() => false))) {
  console.error("no WebGPU adapter");
  Deno.exit(1);
}
const backend = tf.backend() as unknown as { supportTimestampQuery?: boolean };
if (backend.supportTimestampQuery !== true) {
  console.error("this adapter has no timestamp queries: nothing to profile");
  Deno.exit(1);
}

const adamwGc = () => adamw(1e-3, { eps: 1e-7, weightDecay: 1e-4, gc: true });
const ROWS: Row[] = [
  builtinRow("tf.train.adam", () => tf.train.adam(1e-3)),
  centraRow("centra adam, fused", () => fuse(adam(1e-3, { eps: 1e-7 }))),
  centraRow("centra GC + AdamW, fused", () => fuse(adamwGc())),
  centraRow(
    "centra GC + AdamW + clip, fused",
    () => fuse(chain(clipByGlobalNorm(1), adamwGc())),
  ),
];
const ROUNDS = 5;

const models = (Deno.env.get("CENTRA_BENCH_MODELS") ?? "ResNet-18")
  .split(",").map((s) => s.trim()) as ModelName[];
for (const name of models) {
  if (!(name in MODELS)) throw new RangeError(`unknown model "${name}"`);
  const vars = makeVars(shapesOf(name));
  const grads = makeGrads(vars);
  console.log(
    `\n${name}, one step profiled with tf.time (median of ${ROUNDS})\n`,
  );
  console.log("| row | kernel | dispatches | ms | share |");
  console.log("|---|---|---:|---:|---:|");
  for (const row of ROWS) {
    const { step, dispose } = row.setup(vars, grads);
    step();
    await settle(vars);
    const samples = new Map<string, { n: number; ms: number[] }>();
    for (let r = 0; r < ROUNDS; r++) {
      const info = await tf.time(step);
      const seen = new Map<string, { n: number; ms: number }>();
      for (const part of (info.getExtraProfileInfo?.() ?? "").split(", ")) {
        const cut = part.lastIndexOf(": ");
        if (cut < 0) continue;
        const kernel = part.slice(0, cut);
        const s = seen.get(kernel) ?? { n: 0, ms: 0 };
        seen.set(kernel, {
          n: s.n + 1,
          ms: s.ms + Number(part.slice(cut + 2)),
        });
      }
      for (const [kernel, { n, ms }] of seen) {
        const s = samples.get(kernel) ?? { n, ms: [] };
        s.ms.push(ms);
        samples.set(kernel, s);
      }
      await settle(vars);
    }
    const rows = [...samples].map(([kernel, s]) => ({
      kernel,
      n: s.n,
      ms: median(s.ms),
    })).sort((a, b) => b.ms - a.ms);
    const total = rows.reduce((t, r) => t + r.ms, 0);
    for (const r of rows) {
      console.log(
        `| ${row.name} | ${r.kernel} | ${r.n} | ${r.ms.toFixed(1)} | ${
          (100 * r.ms / total).toFixed(0)
        }% |`,
      );
    }
    console.log(`| ${row.name} | total | | ${total.toFixed(1)} | |`);
    dispose();
  }
  tf.dispose([Object.values(vars), Object.values(grads)]);
}
