// A custom chain: the blocks of @centra/chain composed by hand, with a
// transform of our own in the middle, trained on the embedded Fashion-MNIST
// subset with a custom loop.
//
//   tools/deno run -A examples/custom_chain.ts
import * as tf from "@tensorflow/tfjs";
import {
  addDecayedWeights,
  centralize,
  chain,
  clipByGlobalNorm,
  type GradientTransformation,
  initState,
  scaleByAdam,
  scaleByLearningRate,
  stateless,
  warmupCosineDecaySchedule,
} from "@centra/chain";
import { decayMask, gcAxes } from "@centra/match";
import {
  balancedSubset,
  batches,
  fashionMnist,
  mlp,
  modelParams,
} from "@centra/zoo";
import { trainStep } from "@centra/tfjs";

const model = mlp({ hidden: [64], seed: 1, name: "custom_chain_mlp" });
const { params, variables } = modelParams(model);

// Our own block: any `(updates) => updates` function is a transform. This
// one only counts the steps; a real one could log, clip or rescale.
let calls = 0;
const counter: GradientTransformation = stateless((updates) => {
  calls++;
  return updates;
});

// AdamW + GC, written out: clip, GC on the raw gradient (exact axes of each
// layer), Adam moments, decoupled decay that skips biases, then a warmup +
// cosine learning rate. Each line is one block; reorder them to get the
// authors' "GC on the update" variant (centralize after scaleByAdam).
const steps = 40;
const tx = chain(
  clipByGlobalNorm(5),
  centralize({ axes: gcAxes(model) }),
  counter,
  scaleByAdam({ b1: 0.9, b2: 0.999 }),
  addDecayedWeights(1e-3, { mask: decayMask(model) }),
  scaleByLearningRate(
    warmupCosineDecaySchedule({
      initValue: 0,
      peakValue: 3e-3,
      warmupSteps: 5,
      decaySteps: steps,
    }),
  ),
);

const { train } = await fashionMnist();
const loader = batches(balancedSubset(train, { perClass: 64 }), {
  batchSize: 64,
  seed: 1,
});
let state = initState(tx, params);
const losses: number[] = [];
for (let epoch = 0; losses.length < steps; epoch++) {
  for (const { xs, ys } of loader.epoch(epoch)) {
    if (losses.length === steps) {
      tf.dispose([xs, ys]);
      continue;
    }
    const step = trainStep(tx, state, {
      loss: () =>
        tf.losses.softmaxCrossEntropy(
          ys,
          model.apply(xs) as tf.Tensor,
        ) as tf.Scalar,
      variables: Object.values(variables),
    });
    state = step.state;
    losses.push((await step.loss.data())[0]!);
    tf.dispose([xs, ys, step.loss]);
  }
}
console.log(
  `custom chain: loss ${losses[0]!.toFixed(4)} -> ${
    losses.at(-1)!.toFixed(4)
  } in ${steps} steps; our block ran ${calls} times`,
);
