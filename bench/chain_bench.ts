// One optimizer step: tfjs's built-in momentum and adam beside centra's sgd
// and adam with and without GC, on the parameter shapes of a small CNN and of
// ResNet-18. Backend from CENTRA_BACKEND (cpu by default; `deno task bench`
// runs cpu, then webgpu when an adapter exists).
//
//   CENTRA_BACKEND=webgpu deno bench -A bench/chain_bench.ts
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import {
  adam,
  applyUpdates,
  type GradientTransformation,
  initState,
  runUpdate,
  sgd,
} from "@centra/chain";
import {
  countParams,
  makeGrads,
  makeVars,
  RESNET18,
  settle,
  SMALL_CNN,
} from "./_shapes.ts";

const backend = Deno.env.get("CENTRA_BACKEND") ?? "cpu";
await tf.setBackend(backend);
await tf.ready();

const MODELS = { "small CNN": SMALL_CNN, "ResNet-18": RESNET18 } as const;

for (const [model, shapes] of Object.entries(MODELS)) {
  const group = `${model} (${
    (countParams(shapes) / 1e6).toFixed(2)
  }M params, ${backend})`;
  // ResNet-18 steps take seconds on a software adapter: few samples there
  const n = model === "ResNet-18" ? (backend === "cpu" ? 10 : 5) : undefined;
  const opts = n === undefined ? {} : { n, warmup: 1 };

  const builtin = (
    name: string,
    make: () => tf.Optimizer,
    baseline = false,
  ) => {
    const vars = makeVars(shapes);
    const grads = makeGrads(vars);
    const named: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(vars)) named[v.name] = grads[k]!;
    const opt = make();
    Deno.bench({
      name,
      group,
      baseline,
      ...opts,
      async fn() {
        opt.applyGradients(named);
        await settle(vars);
      },
    });
  };
  const centra = (name: string, tx: GradientTransformation<unknown>) => {
    const vars = makeVars(shapes);
    const grads = makeGrads(vars);
    let state = initState(tx, vars);
    Deno.bench({
      name,
      group,
      ...opts,
      async fn() {
        const [u, next] = runUpdate(tx, grads, state, vars);
        state = next;
        applyUpdates(vars, u);
        tf.dispose(u);
        await settle(vars);
      },
    });
  };

  builtin("tf.train.adam", () => tf.train.adam(1e-3), true);
  builtin("tf.train.momentum", () => tf.train.momentum(0.1, 0.9));
  centra("centra adam", adam(1e-3, { eps: 1e-7 }));
  centra("centra adam + GC", adam(1e-3, { eps: 1e-7, gc: true }));
  centra("centra sgd momentum", sgd(0.1, { momentum: 0.9 }));
  centra("centra sgd momentum + GC", sgd(0.1, { momentum: 0.9, gc: true }));
}
