// A custom training loop: no model.fit, just trainStep from @centra/tfjs,
// a seeded data loader from @centra/zoo and SGDM + GC from @centra/chain,
// with the learning rate stepped down per epoch like the paper's schedule.
//
//   tools/deno run -A examples/custom_loop.ts
import * as tf from "@tensorflow/tfjs";
import { initState, piecewiseConstantSchedule, sgd } from "@centra/chain";
import { gcAxes } from "@centra/match";
import {
  balancedSubset,
  batches,
  fashionMnist,
  modelParams,
  smallCnn,
} from "@centra/zoo";
import { trainStep } from "@centra/tfjs";

const epochs = 3;
const { train, test } = await fashionMnist();
const trainSet = balancedSubset(train, { perClass: 32 });
const testSet = balancedSubset(test, { perClass: 20 });
const loader = batches(trainSet, { batchSize: 32, seed: 7 });

const model = smallCnn({ width: 0.25, seed: 7, name: "custom_loop_cnn" });
const { params, variables } = modelParams(model);
// x0.1 after the second epoch (the paper's step schedule, scaled down)
const lr = piecewiseConstantSchedule(0.05, { [2 * loader.length]: 0.1 });
const tx = sgd(lr, { momentum: 0.9, weightDecay: 5e-4, gc: gcAxes(model) });
let state = initState(tx, params);

const [testBatch] = [
  ...batches(testSet, { batchSize: testSet.count, shuffle: false }),
];
for (let epoch = 0; epoch < epochs; epoch++) {
  let sum = 0;
  for (const { xs, ys } of loader.epoch(epoch)) {
    const step = trainStep(tx, state, {
      loss: () =>
        tf.losses.softmaxCrossEntropy(
          ys,
          model.apply(xs, { training: true }) as tf.Tensor,
        ) as tf.Scalar,
      variables: Object.values(variables),
    });
    state = step.state;
    sum += (await step.loss.data())[0]!;
    tf.dispose([xs, ys, step.loss]);
  }
  const acc = tf.tidy(() =>
    tf.mean(
      tf.equal(
        tf.argMax(model.predict(testBatch!.xs) as tf.Tensor, -1),
        tf.argMax(testBatch!.ys, -1),
      ).asType("float32"),
    )
  );
  console.log(
    `epoch ${epoch + 1}/${epochs}  loss ${
      (sum / loader.length).toFixed(4)
    }  test acc ${((await acc.data())[0]! * 100).toFixed(1)}%`,
  );
  acc.dispose();
}
