// GC's share of a whole training step: the fused optimizer step with and
// without GC on the model's own variables (rows interleaved, medians),
// against a full training step (forward, backward, fused GC + AdamW + clip
// through ChainOptimizer, which runs fused by default; median of a few). The
// paper reports that GC adds under 1% to a training step.
//
// Backend from CENTRA_BACKEND: webgpu (the default) measures a CIFAR
// ResNet-18 (@centra/zoo, batch 16, 32x32x3 inputs); cpu measures
// @centra/zoo's small CNN and MLP (Fashion-MNIST shapes, batch 64).
// CENTRA_BENCH_SMOKE=1 takes one sample of everything (to check that it
// runs, not to measure).
//
//   deno run -A bench/gc_share.ts                      (deno task bench:gc-share)
//   CENTRA_BACKEND=cpu deno run -A bench/gc_share.ts   (deno task bench:gc-share:cpu)
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { adamw, chain, clipByGlobalNorm } from "@centra/chain";
import { ChainOptimizer } from "@centra/tfjs";
import { mlp, modelParams, resnet18, smallCnn } from "@centra/zoo";
import { fuse } from "@centra/webgpu";
import {
  centraRow,
  countParams,
  interleavedMedians,
  makeGrads,
  median,
  PACE,
  settle,
  setUpApart,
  SMOKE_PACE,
} from "./_common.ts";

const backend = Deno.env.get("CENTRA_BACKEND") ?? "webgpu";
if (backend !== "webgpu" && backend !== "cpu") {
  throw new RangeError(
    `CENTRA_BACKEND must be webgpu or cpu, got "${backend}"`,
  );
}
if (!(await tf.setBackend(backend).catch(() => false))) {
  console.error(`no ${backend} backend (no WebGPU adapter?)`);
  Deno.exit(1);
}
await tf.ready();
const smoke = Deno.env.get("CENTRA_BENCH_SMOKE") === "1";
const TRAIN_STEPS = smoke ? 1 : backend === "cpu" ? 5 : 3;
const ROUNDS = smoke ? 1 : backend === "cpu" ? 15 : 7;

/** A model to measure: how to build it, its input shape and batch. */
interface Subject {
  label: string;
  build: () => tf.LayersModel;
  input: number[];
  batch: number;
}

const SUBJECTS: Subject[] = backend === "webgpu"
  ? [{
    label: "CIFAR ResNet-18",
    build: () => resnet18({ stem: "cifar", numClasses: 10 }),
    input: [32, 32, 3],
    batch: 16,
  }]
  : [
    {
      label: "small CNN",
      build: () => smallCnn({ seed: 1 }),
      input: [28, 28, 1],
      batch: 64,
    },
    {
      label: "MLP",
      build: () => mlp({ seed: 1 }),
      input: [28, 28, 1],
      batch: 64,
    },
  ];

const optimizer = (gc: boolean) =>
  chain(
    clipByGlobalNorm(1),
    adamw(1e-3, { eps: 1e-7, weightDecay: 1e-4, gc }),
  );

/** The step with and without GC, a training step, and GC's share, in ms. */
async function measure(subject: Subject): Promise<string[]> {
  const model = subject.build();
  const vars = modelParams(model).variables as Record<string, tf.Variable>;
  const trainable: Record<string, tf.Variable> = {};
  for (const [k, v] of Object.entries(vars)) if (v.trainable) trainable[k] = v;
  const shapes = Object.fromEntries(
    Object.entries(trainable).map(([k, v]) => [k, v.shape]),
  );

  // the optimizer step alone, with and without GC, on copies of the weights
  const copies: Record<string, tf.Variable> = {};
  for (const [k, v] of Object.entries(trainable)) {
    copies[k] = tf.variable(v.clone(), true, `gc_share/${subject.label}/${k}`);
  }
  const grads = makeGrads(copies);
  const rows = [
    centraRow("fused AdamW + clip", () => fuse(optimizer(false))),
    centraRow("fused GC + AdamW + clip", () => fuse(optimizer(true))),
  ];
  const made = setUpApart(rows, copies, grads);
  for (const m of made) m.step();
  for (const m of made) await m.settle!();
  const [without, withGc] = await interleavedMedians(
    made,
    copies,
    ROUNDS,
    1,
    smoke ? SMOKE_PACE : PACE,
  );
  made.forEach((m) => m.dispose());
  tf.dispose([Object.values(copies), Object.values(grads)]);

  // a whole training step
  const opt = new ChainOptimizer(optimizer(true)); // fused by default
  const xs = tf.randomNormal([subject.batch, ...subject.input]);
  const ys = tf.oneHot(
    tf.randomUniform([subject.batch], 0, 10, "int32"),
    10,
  );
  const times: number[] = [];
  for (let i = 0; i <= TRAIN_STEPS; i++) {
    const t0 = performance.now();
    const cost = opt.minimize(
      () =>
        tf.losses.softmaxCrossEntropy(
          ys,
          model.apply(xs, { training: true }) as tf.Tensor,
        ) as tf.Scalar,
      true,
    );
    cost?.dispose();
    await settle(trainable);
    // the first step compiles kernels
    if (i > 0) times.push(performance.now() - t0);
  }
  const train = median(times);
  opt.dispose();
  tf.dispose([xs, ys]);
  model.dispose();
  const gc = withGc! - without!;
  const what = `${subject.label} (${
    (countParams(shapes) / 1e6).toFixed(2)
  }M params, ${Object.keys(shapes).length} tensors, batch ${subject.batch})`;
  return [
    `| ${what} | fused AdamW + clip step (median of ${ROUNDS}) | ${
      without!.toFixed(2)
    } |`,
    `| ${what} | fused GC + AdamW + clip step (median of ${ROUNDS}) | ${
      withGc!.toFixed(2)
    } |`,
    `| ${what} | GC (the difference) | ${gc.toFixed(2)} |`,
    `| ${what} | training step, fused GC + AdamW + clip (median of ${TRAIN_STEPS}) | ${
      train.toFixed(1)
    } |`,
    `| ${what} | GC's share of the training step | ${
      (100 * gc / train).toFixed(2)
    }% |`,
  ];
}

const lines: string[] = [];
for (const subject of SUBJECTS) lines.push(...await measure(subject));
console.log(`\nGC's share of a training step, backend ${tf.getBackend()}\n`);
console.log("| model | measure | ms |");
console.log("|---|---|---:|");
for (const line of lines) console.log(line);
