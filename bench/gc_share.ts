// GC's share of a whole training step of a CIFAR ResNet-18 (@centra/zoo,
// batch 16, 32x32x3 inputs) on the WebGPU backend: the fused optimizer step
// with and without GC on the model's own variables (rows interleaved,
// medians), against a full training step (forward, backward, fused GC +
// AdamW + clip through ChainOptimizer, median of three). The paper reports
// that GC adds under 1% to a training step.
//
//   deno run -A bench/gc_share.ts            (deno task bench:gc-share)
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { adamw, chain, clipByGlobalNorm } from "@centra/chain";
import { ChainOptimizer } from "@centra/tfjs";
import { modelParams, resnet18 } from "@centra/zoo";
import { fuse } from "@centra/webgpu";
import {
  centraRow,
  countParams,
  interleavedMedians,
  makeGrads,
  median,
  settle,
} from "./_common.ts";

if (!(await tf.setBackend("webgpu").catch(() => false))) {
  console.error("no WebGPU adapter");
  Deno.exit(1);
}
const BATCH = 16, TRAIN_STEPS = 3, ROUNDS = 7;

const optimizer = (gc: boolean) =>
  chain(
    clipByGlobalNorm(1),
    adamw(1e-3, { eps: 1e-7, weightDecay: 1e-4, gc }),
  );
const model = resnet18({ stem: "cifar", numClasses: 10 });
const vars = modelParams(model).variables as Record<string, tf.Variable>;
const trainable: Record<string, tf.Variable> = {};
for (const [k, v] of Object.entries(vars)) if (v.trainable) trainable[k] = v;
const shapes = Object.fromEntries(
  Object.entries(trainable).map(([k, v]) => [k, v.shape]),
);

// the optimizer step alone, with and without GC, on copies of the weights
const copies: Record<string, tf.Variable> = {};
for (const [k, v] of Object.entries(trainable)) {
  copies[k] = tf.variable(v.clone(), true, `gc_share/${k}`);
}
const grads = makeGrads(copies);
const rows = [
  centraRow("fused AdamW + clip", () => fuse(optimizer(false))),
  centraRow("fused GC + AdamW + clip", () => fuse(optimizer(true))),
];
const made = rows.map((r) => r.setup(copies, grads));
for (const m of made) m.step();
await settle(copies);
const [without, withGc] = await interleavedMedians(made, copies, ROUNDS, 1);
made.forEach((m) => m.dispose());
tf.dispose([Object.values(copies), Object.values(grads)]);

// a whole training step
const opt = new ChainOptimizer(fuse(optimizer(true)));
const xs = tf.randomNormal([BATCH, 32, 32, 3]);
const ys = tf.oneHot(tf.randomUniform([BATCH], 0, 10, "int32"), 10);
const times: number[] = [];
for (let i = 0; i <= TRAIN_STEPS; i++) {
  const t0 = performance.now();
  opt.minimize(() =>
    tf.losses.softmaxCrossEntropy(
      ys,
      model.apply(xs, { training: true }) as tf.Tensor,
    ) as tf.Scalar
  );
  await settle(trainable);
  // the first step compiles shaders
  if (i > 0) times.push(performance.now() - t0);
}
const train = median(times);
const gc = withGc! - without!;
console.log(
  `\nCIFAR ResNet-18 (${(countParams(shapes) / 1e6).toFixed(2)}M params, ${
    Object.keys(shapes).length
  } tensors), batch ${BATCH}, backend ${tf.getBackend()}\n`,
);
console.log("| measure | ms |");
console.log("|---|---:|");
console.log(
  `| fused AdamW + clip step (median of ${ROUNDS}) | ${without!.toFixed(1)} |`,
);
console.log(
  `| fused GC + AdamW + clip step (median of ${ROUNDS}) | ${
    withGc!.toFixed(1)
  } |`,
);
console.log(`| GC (the difference) | ${gc.toFixed(1)} |`);
console.log(
  `| training step, fused GC + AdamW + clip (median of ${TRAIN_STEPS}) | ${
    train.toFixed(0)
  } |`,
);
console.log(
  `| GC's share of the training step | ${(100 * gc / train).toFixed(2)}% |`,
);
