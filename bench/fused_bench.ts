// Fused optimizer steps (`fuse` from @centra/webgpu: one generated kernel
// per tensor, WGSL on webgpu, JavaScript loops on cpu) beside tfjs's
// built-in adam and momentum and centra's op-by-op chains, on the parameter
// shapes of a small CNN, ResNet-18 and ResNet-50 of @centra/zoo, with a
// roofline row: the simplest kernel that reads four float32 arrays and
// writes three of the model's size (bench/_roofline.ts). One step = new
// weights and state from the gradients (tfjs: applyGradients; centra:
// runStep, where fused chains write the weights in their kernels and
// op-by-op ones update then apply), ended by a read of the largest weight so
// that the device has finished (for the small CNN, one read per 10 steps on
// webgpu). It prints the table of interleaved medians with the kernels of
// one step of each row (webgpu: dispatches, counted by dispatchStats; cpu:
// tfjs's kernels counted by tf.profile, plus the fused loops a fused chain
// reports through fuse's onDispatches, if it does), then
// each row's effective bandwidth (what the step must move, over its time) as
// a fraction of the roofline's. On webgpu the last group times a full
// training step of the small CNN (batch 64, forward + backward + fused GC +
// AdamW + clip).
//
// Backend from CENTRA_BACKEND: webgpu (the default; cpu, with a warning,
// when there is no adapter) or cpu. CENTRA_BENCH_MODELS picks a
// comma-separated subset of models; CENTRA_BENCH_SMOKE=1 takes one round and
// one sample of everything (to check that the bench runs, not to measure).
//
//   deno bench -A bench/fused_bench.ts                     (deno task bench:fused)
//   CENTRA_BACKEND=cpu deno bench -A bench/fused_bench.ts  (deno task bench:fused:cpu)
//   CENTRA_BENCH_MODELS="small CNN" deno bench -A bench/fused_bench.ts
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import {
  adam,
  adamw,
  chain,
  clipByGlobalNorm,
  type GradientTransformation,
  sgd,
} from "@centra/chain";
import { ChainOptimizer } from "@centra/tfjs";
import { modelParams } from "@centra/zoo";
import { dispatchStats, fuse } from "@centra/webgpu";
import {
  bytesMoved,
  ROOFLINE_BYTES_PER_PARAM,
  rooflineName,
  rooflineRow,
} from "./_roofline.ts";
import {
  builtinRow,
  centraRow,
  countParams,
  interleavedMedians,
  type Made,
  makeGrads,
  makeVars,
  type ModelName,
  MODELS as BUILDERS,
  PACE,
  type Row,
  settle,
  setUpApart,
  shapesOf,
  SMOKE_PACE,
  type Step,
  TWO_TABLES_NOTE,
} from "./_common.ts";

const asked = Deno.env.get("CENTRA_BACKEND") ?? "webgpu";
if (asked !== "webgpu" && asked !== "cpu") {
  throw new RangeError(`CENTRA_BACKEND must be webgpu or cpu, got "${asked}"`);
}
const hasGpu = asked === "webgpu" && tf.findBackendFactory("webgpu") !== null &&
  await tf.setBackend("webgpu").catch(() => false);
if (!hasGpu) {
  if (asked === "webgpu") console.warn("no WebGPU adapter: running on cpu");
  await tf.setBackend("cpu");
}
await tf.ready();
const backend = tf.getBackend();
const smoke = Deno.env.get("CENTRA_BENCH_SMOKE") === "1";

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

// Fused loops (or kernels) a fused chain reports through fuse's
// onDispatches, summed: on cpu the bench adds them to tfjs's kernels (on
// webgpu dispatchStats counts them already).
let fusedReported = 0;
const fused = (tx: GradientTransformation<unknown>, exact = false) =>
  fuse(tx, {
    exact,
    onDispatches: (n) => void (fusedReported += n),
  });

/** What a row's step must move at least (see bytesMoved). */
type Traffic = Parameters<typeof bytesMoved>[1];
const ADAM: Traffic = { slots: 2 };
const MOMENTUM: Traffic = { slots: 1 };
const GC_ADAMW: Traffic = { slots: 2, gc: true };
const GC_ADAMW_CLIP: Traffic = { slots: 2, gc: true, globalNorm: true };

const ROWS: Array<Row & { traffic: Traffic }> = [
  {
    ...builtinRow("tf.train.adam", () => tf.train.adam(1e-3)),
    traffic: ADAM,
  },
  {
    ...builtinRow("tf.train.momentum", () => tf.train.momentum(0.1, 0.9)),
    traffic: MOMENTUM,
  },
  {
    ...centraRow("centra adam, op by op", () => adam(1e-3, { eps: 1e-7 })),
    traffic: ADAM,
  },
  {
    ...centraRow("centra adam, fused", () => fused(adam(1e-3, { eps: 1e-7 }))),
    traffic: ADAM,
  },
  {
    ...centraRow(
      "centra sgd momentum + GC, fused",
      () => fused(sgd(0.1, { momentum: 0.9, gc: true })),
    ),
    traffic: { slots: 1, gc: true },
  },
  {
    ...centraRow(
      "centra GC + AdamW, fused",
      () => fused(adamw(1e-3, { eps: 1e-7, weightDecay: 1e-4, gc: true })),
    ),
    traffic: GC_ADAMW,
  },
  // every intermediate rounded as op by op (bit for bit on cpu; on webgpu
  // the same kernels as the row above)
  {
    ...centraRow(
      "centra GC + AdamW, fused, exact",
      () =>
        fused(adamw(1e-3, { eps: 1e-7, weightDecay: 1e-4, gc: true }), true),
    ),
    traffic: GC_ADAMW,
  },
  {
    ...centraRow("centra GC + AdamW + clip, op by op", gcAdamwClip),
    traffic: GC_ADAMW_CLIP,
  },
  {
    ...centraRow(
      "centra AdamW + clip (no GC), fused",
      () => fused(adamwClip()),
    ),
    traffic: { slots: 2, globalNorm: true },
  },
  {
    ...centraRow("centra GC + AdamW + clip, fused", () => fused(gcAdamwClip())),
    traffic: GC_ADAMW_CLIP,
  },
  // the yardstick: 28 bytes per parameter by definition
  { ...rooflineRow(), traffic: ADAM },
];

// Only one row's state and one model's tensors are alive at a time.
let live: (Made & { key: string }) | null = null;
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
): Made {
  const key = `${modelName}/${row.name}`;
  if (live?.key === key) return live;
  live?.dispose();
  live = null;
  if (model?.name !== modelName) {
    release();
    const vars = makeVars(shapes);
    model = { name: modelName, vars, grads: makeGrads(vars) };
  }
  const made = row.setup(model.vars, model.grads);
  live = { key, ...made };
  return made;
}

// Before deno's own timings: per model, every row's dispatches per step and
// its median step time over rounds that visit the rows in turn, so that a
// machine whose load drifts (shared CI runners) slows every row alike.
// On cpu a ResNet-50 step op by op takes seconds: fewer rounds there.
const ROUNDS: Record<string, number> = smoke
  ? { "small CNN": 1, "ResNet-18": 1, "ResNet-50": 1 }
  : backend === "webgpu"
  ? { "small CNN": 15, "ResNet-18": 5, "ResNet-50": 4 }
  : { "small CNN": 15, "ResNet-18": 3, "ResNet-50": 2 };
// Steps per sample: on webgpu the final read-back (about 12 ms on llvmpipe)
// would otherwise dominate the small CNN's steps; it is shared by STEPS steps.
const STEPS: Record<string, number> = {
  "small CNN": smoke ? 1 : 10,
  "ResNet-18": 1,
  "ResNet-50": 1,
};
// deno bench's own samples per row (its default for the small CNN)
const SAMPLES: Record<string, { n: number; warmup: number } | undefined> = smoke
  ? {
    "small CNN": { n: 1, warmup: 0 },
    "ResNet-18": { n: 1, warmup: 0 },
    "ResNet-50": { n: 1, warmup: 0 },
  }
  : backend === "webgpu"
  ? {
    "small CNN": undefined,
    "ResNet-18": { n: 6, warmup: 1 },
    "ResNet-50": { n: 4, warmup: 1 },
  }
  : {
    "small CNN": undefined,
    "ResNet-18": { n: 3, warmup: 1 },
    "ResNet-50": { n: 2, warmup: 0 },
  };

/**
 * Kernels of one step: webgpu dispatches, or on cpu tfjs's kernels plus what
 * fused chains report through `onDispatches`.
 */
async function kernelsOf(step: Step): Promise<number> {
  if (backend === "webgpu") return dispatchStats(step).dispatches;
  const before = fusedReported;
  const tfjs = (await tf.profile(() => void step())).kernels.length;
  return tfjs + fusedReported - before;
}

const bandwidth: string[] = [];
console.log(
  `\nOne optimizer step, rows interleaved, backend ${backend}${
    typeof (globalThis as { gc?: unknown }).gc === "function"
      ? ", a full garbage collection before each sample"
      : ""
  }\n`,
);
console.log(
  `| model | row | ${
    backend === "webgpu" ? "dispatches" : "kernels (tfjs + fused)"
  } / step | median ms / step | ratio to tf.train.adam |`,
);
console.log("|---|---|---:|---:|---:|");
for (const [name, shapes] of MODELS) {
  release();
  const vars = makeVars(shapes);
  model = { name, vars, grads: makeGrads(vars) };
  const made = setUpApart(ROWS, vars, model.grads);
  const counts: string[] = [];
  for (const [i, m] of made.entries()) {
    if (backend === "webgpu") m.step(); // compile first: count a warm step
    // the roofline's one dispatch is its own, not tfjs's
    counts.push(
      ROWS[i]!.name === rooflineName(backend)
        ? (backend === "webgpu" ? "1" : "0")
        : String(await kernelsOf(m.step)),
    );
    await (m.settle?.() ?? settle(vars));
  }
  const medians = await interleavedMedians(
    made,
    vars,
    ROUNDS[name]!,
    STEPS[name]!,
    smoke ? SMOKE_PACE : PACE,
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
  // effective bandwidth: the bytes a step must move over its median time,
  // against the roofline's 28 bytes per parameter over its median time
  const params = countParams(shapes);
  const roof = ROOFLINE_BYTES_PER_PARAM * params /
    (medians[medians.length - 1]! / 1e3);
  ROWS.forEach((row, i) => {
    const bytes = bytesMoved(shapes, row.traffic);
    const gbs = bytes / (medians[i]! / 1e3);
    bandwidth.push(
      `| ${name} | ${row.name} | ${(bytes / params).toFixed(1)} | ${
        (gbs / 1e9).toFixed(2)
      } | ${(gbs / roof).toFixed(2)} |`,
    );
  });
  made.forEach((m) => m.dispose());
}
console.log(
  `\nEffective bandwidth, backend ${backend}: the bytes a step must move (one ` +
    "pass reading gradient, weight and state and writing weight and state, " +
    "plus one read of the gradient for GC's means, a global norm or both), " +
    "over its median time above, as a fraction of the roofline row's " +
    "(28 bytes per parameter over its median time)\n",
);
console.log(
  "| model | row | bytes / param | GB/s | fraction of roofline |",
);
console.log("|---|---|---:|---:|---:|");
for (const line of bandwidth) console.log(line);
console.log();
console.log(TWO_TABLES_NOTE);

for (const [name, shapes] of MODELS) {
  const steps = STEPS[name]!;
  const group = `${name} (${(countParams(shapes) / 1e6).toFixed(2)}M params, ${
    Object.keys(shapes).length
  } tensors, ${backend}${steps > 1 ? `, ${steps} steps per iteration` : ""})`;
  const opts = SAMPLES[name] ?? {};
  for (const row of ROWS) {
    Deno.bench({
      name: row.name,
      group,
      baseline: row.name === "tf.train.adam",
      ...opts,
      async fn() {
        const made = use(name, shapes, row);
        for (let k = 0; k < steps; k++) made.step();
        await (made.settle?.() ?? settle(model!.vars));
      },
    });
  }
}

// A full training step of the small CNN: forward, backward, fused GC + AdamW
// (on cpu, bench/gc_share.ts measures it: seconds per step there).
if (wanted.includes("small CNN") && backend === "webgpu") {
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
        optimizer: new ChainOptimizer(gcAdamwClip()), // fused by default
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
    ...(smoke ? { n: 1, warmup: 1 } : { n: 10, warmup: 2 }),
    fn: train,
  });
}
