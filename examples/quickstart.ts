// The README's quickstart: the paper's SGDM + GC, and a composed
// AdamW + GC + clipping, on one Dense kernel.
//
//   tools/deno run -A examples/quickstart.ts
import * as tf from "@tensorflow/tfjs";
import {
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  initState,
  runUpdate,
  sgd,
} from "@centra/chain";

export const paper = sgd(0.1, { momentum: 0.9, weightDecay: 5e-4, gc: true });
const tx = chain(
  clipByGlobalNorm(1),
  adamw(1e-3, { weightDecay: 1e-4, gc: true }),
);

const w = tf.variable(tf.randomNormal([784, 10]), true, "dense/kernel");
const vars = { [w.name]: w };
let state = initState(tx, vars);
for (let step = 0; step < 10; step++) {
  const { grads } = tf.variableGrads(() => tf.square(w).mean() as tf.Scalar);
  const [updates, next] = runUpdate(tx, grads, state, vars); // tidy + frees the replaced state
  state = next;
  applyUpdates(vars, updates);
  tf.dispose([updates, grads]);
}
console.log(
  `loss after 10 steps: ${tf.square(w).mean().dataSync()[0]!.toFixed(4)}`,
);
