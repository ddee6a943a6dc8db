// Optimizer comparison with `deno bench`: one update step (the chain only,
// no forward or backward pass) of each Table 2 optimizer, with and without
// GC, on the parameters of @centra/zoo's smallCnn. Shows what GC costs on
// top of each optimizer (the paper: "negligible additional computational
// cost").
//
//   tools/deno bench -A examples/optimizers_bench.ts
//   tools/deno bench -A examples/optimizers_bench.ts --filter adam
import * as tf from "@tensorflow/tfjs";
import {
  adagrad,
  adam,
  adamw,
  applyUpdates,
  disposeState,
  type GradientTransformation,
  initState,
  runUpdate,
  sgd,
  sgdw,
} from "@centra/chain";
import { gcAxes } from "@centra/match";
import { modelParams, smallCnn } from "@centra/zoo";

await tf.setBackend("cpu");
const model = smallCnn({ width: 0.5, seed: 1, name: "bench_cnn" });
const { params, variables } = modelParams(model);
const grads = tf.tidy(() =>
  Object.fromEntries(
    Object.entries(params).map((
      [k, p],
    ) => [k, tf.randomNormal(p.shape, 0, 1e-2, "float32", 1)]),
  )
);
const axes = gcAxes(model);

const optimizers: Record<
  string,
  (gc: false | typeof axes) => GradientTransformation
> = {
  sgdm: (gc) => sgd(0.1, { momentum: 0.9, weightDecay: 5e-4, gc }),
  adam: (gc) => adam(1e-3, { weightDecay: 5e-4, gc }),
  adagrad: (gc) => adagrad(1e-2, { gc }),
  sgdw: (gc) => sgdw(0.1, { momentum: 0.9, weightDecay: 1e-3, gc }),
  adamw: (gc) => adamw(1e-3, { weightDecay: 1e-3, gc }),
};

for (const [name, make] of Object.entries(optimizers)) {
  for (const gc of [false, axes] as const) {
    const tx = make(gc);
    let state = initState(tx, params);
    Deno.bench({
      name: `${name}${gc ? "+gc" : ""}`,
      group: name,
      baseline: gc === false,
      n: 50,
      warmup: 5,
      fn() {
        const [updates, next] = runUpdate(tx, grads, state, params);
        state = next;
        applyUpdates(variables, updates);
        tf.dispose(updates);
      },
    });
    globalThis.addEventListener("unload", () => disposeState(state));
  }
}
