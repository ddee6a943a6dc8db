// Fused WGSL optimizer kernels (@centra/webgpu) beside tfjs's built-in adam
// and momentum and centra's op-by-op chains, on the parameter shapes of a
// small CNN, ResNet-18 and ResNet-50 of @centra/zoo. One step = new weights
// and state from the gradients (tfjs: applyGradients; centra: runStep, where
// fused chains write the weights in their kernels and op-by-op ones update
// then apply), ended by a read of the largest weight so that the device has
// finished (for the small CNN, one read per 10 steps). Before the benches, it
// prints the WebGPU dispatches of one step of each row (dispatchStats). The
// last group times a full training step of the small CNN (batch 64, forward +
// backward + fused GC + AdamW + clip), the denominator of GC's share. Set
// CENTRA_BENCH_MODELS to a comma-separated subset of models.
//
//   deno bench -A bench/webgpu_bench.ts
//   CENTRA_BENCH_MODELS="small CNN" deno bench -A bench/webgpu_bench.ts
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { adam, adamw, chain, clipByGlobalNorm, sgd } from "@centra/chain";
import { ChainOptimizer } from "@centra/tfjs";
import { modelParams } from "@centra/zoo";
import { dispatchStats, fuse } from "@centra/webgpu";
import {
  builtinRow,
  centraRow,
  countParams,
  interleavedMedians,
  makeGrads,
  makeVars,
  type ModelName,
  MODELS as BUILDERS,
  type Row,
  settle,
  shapesOf,
  type Step,
  TWO_TABLES_NOTE,
} from "./_common.ts";

const hasGpu = tf.findBackendFactory("webgpu") !== null &&
  await tf.setBackend("webgpu").catch(() => false);
if (!hasGpu) {
  console.warn("no WebGPU adapter: running on cpu, where fuse() is op by op");
  await tf.setBackend("cpu");
}
await tf.ready();
const backend = tf.getBackend();

const wanted =
  (Deno.env.get("CENTRA_BENCH_MODELS") ?? Object.keys(BUILDERS).join(","))
    .split(",").map((s) => s.trim());
const MODELS = (Object.keys(BUILDERS) as ModelName[])
  .filter((name) => wanted.includes(name))
  .map((name) => [name, shapesOf(name)] as const);

const gcAdamwClip = () =>
  chain(
    clipByGlobalNorm(1),
    adamw(1e-3, { eps: 1e-7, weightDecay: 1e-4, gc: true }),
  );
const adamwClip = () =>
  chain(clipByGlobalNorm(1), adamw(1e-3, { eps: 1e-7, weightDecay: 1e-4 }));

const ROWS: Row[] = [
  builtinRow("tf.train.adam", () => tf.train.adam(1e-3)),
  builtinRow("tf.train.momentum", () => tf.train.momentum(0.1, 0.9)),
  centraRow("centra adam, op by op", () => adam(1e-3, { eps: 1e-7 })),
  centraRow("centra adam, fused", () => fuse(adam(1e-3, { eps: 1e-7 }))),
  centraRow(
    "centra sgd momentum + GC, fused",
    () => fuse(sgd(0.1, { momentum: 0.9, gc: true })),
  ),
  centraRow(
    "centra GC + AdamW, fused",
    () => fuse(adamw(1e-3, { eps: 1e-7, weightDecay: 1e-4, gc: true })),
  ),
  centraRow("centra GC + AdamW + clip, op by op", gcAdamwClip),
  centraRow("centra AdamW + clip (no GC), fused", () => fuse(adamwClip())),
  centraRow("centra GC + AdamW + clip, fused", () => fuse(gcAdamwClip())),
];

// Only one row's state and one model's tensors are alive at a time.
let live: { key: string; step: Step; dispose(): void } | null = null;
let model: {
  name: string;
  vars: Record<string, tf.Variable>;
  grads: Record<string, tf.Tensor>;
} | null = null;

/** Frees the live row's state and the model's tensors. */
function release(): void {
  live?.dispose();
  live = null;
  if (model !== null) {
    tf.dispose([Object.values(model.vars), Object.values(model.grads)]);
    model = null;
  }
}

function use(
  modelName: string,
  shapes: Record<string, number[]>,
  row: Row,
): Step {
  const key = `${modelName}/${row.name}`;
  if (live?.key === key) return live.step;
  live?.dispose();
  live = null;
  if (model?.name !== modelName) {
    release();
    const vars = makeVars(shapes);
    model = { name: modelName, vars, grads: makeGrads(vars) };
  }
  const made = row.setup(model.vars, model.grads);
  live = { key, ...made };
  return made.step;
}

// Before deno's own timings: per model, every row's dispatches per step and
// its median step time over rounds that visit the rows in turn, so that a
// machine whose load drifts (shared CI runners) slows every row alike.
const ROUNDS: Record<string, number> = {
  "small CNN": 15,
  "ResNet-18": 5,
  "ResNet-50": 4,
};
// Steps per sample: the final read-back (about 12 ms on llvmpipe) would
// otherwise dominate the small CNN's steps; it is shared by STEPS steps.
const STEPS: Record<string, number> = {
  "small CNN": 10,
  "ResNet-18": 1,
  "ResNet-50": 1,
};
console.log(
  `\nOne optimizer step, rows interleaved, backend ${backend}\n`,
);
console.log(
  "| model | row | dispatches / step | median ms / step | ratio to tf.train.adam |",
);
console.log("|---|---|---:|---:|---:|");
for (const [name, shapes] of MODELS) {
  release();
  const vars = makeVars(shapes);
  model = { name, vars, grads: makeGrads(vars) };
  const made = ROWS.map((row) => row.setup(vars, model!.grads));
  const counts = made.map((m) => {
    m.step();
    return dispatchStats(m.step).dispatches;
  });
  await settle(vars);
  const medians = await interleavedMedians(
    made,
    vars,
    ROUNDS[name]!,
    STEPS[name]!,
  );
  const base = medians[0]!;
  ROWS.forEach((row, i) => {
    const t = medians[i]!;
    console.log(
      `| ${name} | ${row.name} | ${counts[i]} | ${t.toFixed(1)} | ${
        (t / base).toFixed(2)
      } |`,
    );
  });
  made.forEach((m) => m.dispose());
}
console.log();
console.log(TWO_TABLES_NOTE);

for (const [name, shapes] of MODELS) {
  const steps = STEPS[name]!;
  const group = `${name} (${(countParams(shapes) / 1e6).toFixed(2)}M params, ${
    Object.keys(shapes).length
  } tensors, ${backend}${steps > 1 ? `, ${steps} steps per iteration` : ""})`;
  const big = name !== "small CNN";
  const opts = big ? { n: name === "ResNet-50" ? 4 : 6, warmup: 1 } : {};
  for (const row of ROWS) {
    Deno.bench({
      name: row.name,
      group,
      baseline: row.name === "tf.train.adam",
      ...opts,
      async fn() {
        const step = use(name, shapes, row);
        for (let k = 0; k < steps; k++) step();
        await settle(model!.vars);
      },
    });
  }
}

// A full training step of the small CNN: forward, backward, fused GC + AdamW.
if (wanted.includes("small CNN")) {
  const group = `small CNN training step (batch 64, ${backend})`;
  let net: {
    model: tf.LayersModel;
    optimizer: ChainOptimizer;
    xs: tf.Tensor;
    ys: tf.Tensor;
  } | null = null;
  const train = async () => {
    if (net === null) {
      const m = BUILDERS["small CNN"]();
      net = {
        model: m,
        optimizer: new ChainOptimizer(fuse(gcAdamwClip())),
        xs: tf.randomNormal([64, 28, 28, 1]),
        ys: tf.oneHot(tf.randomUniform([64], 0, 10, "int32"), 10),
      };
    }
    const { model: m, optimizer, xs, ys } = net;
    optimizer.minimize(() =>
      tf.losses.softmaxCrossEntropy(ys, m.apply(xs) as tf.Tensor) as tf.Scalar
    );
    await settle(modelParams(m).variables);
  };
  Deno.bench({
    name: "train step, fused GC + AdamW + clip",
    group,
    n: 10,
    warmup: 2,
    fn: train,
  });
}
