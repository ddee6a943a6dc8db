/**
 * Checks that run inside a browser page (bundled to `checks.js`, loaded by
 * `checks.html`); `web/browser_test.ts` calls them through
 * `globalThis.centraChecks` and asserts on what they return, in Deno.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import {
  adamw,
  applyUpdates,
  disposeState,
  type GradientTransformation,
  initState,
  runStep,
  runUpdate,
} from "@centra/chain";
import { dispatchStats, fuse } from "@centra/webgpu";
import { ChainOptimizer } from "@centra/tfjs/chain-optimizer";
import {
  makeOptimizer,
  OPTIMIZER_ROWS,
} from "@centra/testing/optimizer_table.ts";
import { reportGpuErrors } from "./gpu_errors.ts";
import { adapterName, webGpuAdapter } from "../tools/webgpu_adapter.ts";

/**
 * Every optimizer of `@centra/chain` and the options that take other code
 * paths (Nesterov, AMSGrad, L2 decay, centred RMSprop with momentum), from
 * the `fused` settings of the table of optimizers; each is checked without
 * and with GC.
 */
export const OPTIMIZERS: readonly [
  string,
  (gc: boolean) => GradientTransformation<unknown>,
][] = OPTIMIZER_ROWS.flatMap(([name, row]) =>
  row.fused.map((
    v,
  ): [string, (gc: boolean) => GradientTransformation<unknown>] => [
    v.label,
    (gc) => makeOptimizer(name, v.lr, { ...v.options, gc }),
  ])
);

// A conv kernel, its bias, a dense kernel with a remainder of 4 columns.
const SHAPES: Record<string, number[]> = {
  "conv/kernel": [3, 3, 4, 8],
  "conv/bias": [8],
  "dense/kernel": [30, 7],
};

/** What {@linkcode fusedAgreement} reports per optimizer. */
export interface Agreement {
  name: string;
  gc: boolean;
  /**
   * max over all weights of |fused - plain| / (atol + rtol |plain|) with
   * rtol 1e-4, atol 1e-5 (float32 rounding over the steps): at most 1
   * means they agree.
   */
  worst: number;
  /** WGSL dispatches of the fused side (0 would mean it was not fused). */
  fusedDispatches: number;
  /** Whether every final weight is finite. */
  finite: boolean;
}

/** Whether the page runs on tfjs's WebGPU backend, and its adapter. */
export async function backend(): Promise<
  { backend: string; adapter: string; webgpu: boolean }
> {
  const adapter = await webGpuAdapter();
  const ok = adapter !== null && (await tf.setBackend("webgpu"));
  await tf.ready();
  if (ok) reportGpuErrors();
  return {
    backend: tf.getBackend(),
    adapter: adapter === null ? "" : adapterName(adapter),
    webgpu: ok === true,
  };
}

/**
 * Runs every optimizer of {@linkcode OPTIMIZERS}, without and with GC,
 * op by op (`runUpdate` + `applyUpdates`) and fused side by side on the
 * same seeded quadratic with noisy gradients; the fused one takes its
 * `step` (new weights written by its kernels) on even steps and `update`
 * on odd ones, so each reads the state the other wrote.
 *
 * @param steps Steps per optimizer.
 * @returns One row per optimizer and GC setting, and the tensor count
 * before and after.
 */
export async function fusedAgreement(
  steps: number,
): Promise<
  {
    rows: Agreement[];
    control: Agreement;
    tensorsBefore: number;
    tensorsAfter: number;
  }
> {
  const tensorsBefore = tf.memory().numTensors;
  const rows: Agreement[] = [];
  for (const gc of [false, true]) {
    for (const [name, make] of OPTIMIZERS) {
      rows.push(await sideBySide(name, gc, make, steps));
    }
  }
  // The measure must see a real difference: AdamW against AdamW with a
  // learning rate 0.1 % higher.
  const control = await sideBySide(
    "control: lr x1.001",
    true,
    (gc, fused) => adamw(fused ? 0.05005 : 0.05, { weightDecay: 1e-2, gc }),
    steps,
  );
  return {
    rows,
    control,
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
  };
}

async function sideBySide(
  name: string,
  gc: boolean,
  make: (gc: boolean, fused: boolean) => GradientTransformation<unknown>,
  steps: number,
): Promise<Agreement> {
  const vars = (tag: string) => {
    let seed = 1;
    const out: Record<string, tf.Variable> = {};
    for (const [k, shape] of Object.entries(SHAPES)) {
      const init = tf.randomNormal(shape, 0, 1, "float32", seed++);
      out[k] = tf.variable(init, true, `${tag}/${k}`);
      init.dispose();
    }
    return out;
  };
  const id = `${name.replace(/\W+/g, "_")}_${gc ? "gc" : "nogc"}`;
  const a = vars(`plain_${id}`), b = vars(`fused_${id}`);
  const targets: Record<string, tf.Tensor> = {};
  let seed = 100;
  for (const [k, shape] of Object.entries(SHAPES)) {
    targets[k] = tf.randomNormal(shape, 0, 1, "float32", seed++);
  }
  // the quadratic's gradient w - t plus seeded noise, so GC has means to remove
  const grads = (v: Record<string, tf.Variable>, step: number) =>
    tf.tidy(() => {
      const out: Record<string, tf.Tensor> = {};
      for (const [k, w] of Object.entries(v)) {
        out[k] = tf.add(
          tf.sub(w, targets[k]!),
          tf.randomNormal(w.shape, 0.3, 0.5, "float32", 1000 + step),
        );
      }
      return out;
    });
  const plainTx = make(gc, false), fusedTx = fuse(make(gc, true));
  let sa = initState(plainTx, a), sb = initState(fusedTx, b);
  let fusedDispatches = 0;
  for (let step = 0; step < steps; step++) {
    const ga = grads(a, step), gb = grads(b, step);
    const [ua, na] = runUpdate(plainTx, ga, sa, a);
    sa = na;
    applyUpdates(a, ua);
    if (step % 2 === 0) {
      const s = dispatchStats(() => runStep(fusedTx, gb, sb, b));
      fusedDispatches += s.dispatches;
      sb = s.result;
    } else {
      const s = dispatchStats(() => runUpdate(fusedTx, gb, sb, b));
      fusedDispatches += s.dispatches;
      const [ub, nb] = s.result;
      sb = nb;
      applyUpdates(b, ub);
      tf.dispose(ub);
    }
    tf.dispose([ua, Object.values(ga), Object.values(gb)]);
  }
  let worst = 0, finite = true;
  for (const k of Object.keys(SHAPES)) {
    const p = await a[k]!.data(), f = await b[k]!.data();
    for (let i = 0; i < p.length; i++) {
      if (!Number.isFinite(p[i]!) || !Number.isFinite(f[i]!)) finite = false;
      worst = Math.max(
        worst,
        Math.abs(f[i]! - p[i]!) / (1e-5 + 1e-4 * Math.abs(p[i]!)),
      );
    }
  }
  disposeState(sa);
  disposeState(sb);
  tf.dispose([Object.values(a), Object.values(b), Object.values(targets)]);
  return { name, gc, worst, fusedDispatches, finite };
}

/**
 * Trains a small classifier with `model.fit` and a `ChainOptimizer` over a
 * fused AdamW + GC, on a seeded problem it can learn (labels are the
 * argmax of a fixed linear map of the inputs).
 *
 * @returns The loss of each epoch, the fused kernels' dispatches and the
 * tensor count before and after.
 */
export async function fitWithChainOptimizer(): Promise<{
  losses: number[];
  fusedDispatches: number;
  tensorsBefore: number;
  tensorsAfter: number;
}> {
  const tensorsBefore = tf.memory().numTensors;
  let fusedDispatches = 0;
  const optimizer = new ChainOptimizer(
    fuse(adamw(1e-2, { weightDecay: 1e-4, gc: true }), {
      onDispatches: (n) => void (fusedDispatches += n),
    }),
  );
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        units: 32,
        activation: "relu",
        inputShape: [16],
        kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }),
      }),
      tf.layers.dense({
        units: 4,
        kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }),
      }),
    ],
  });
  const [xs, ys] = tf.tidy(() => {
    const x = tf.randomNormal([256, 16], 0, 1, "float32", 3);
    const map = tf.randomNormal([16, 4], 0, 1, "float32", 4);
    return [x, tf.oneHot(tf.argMax(tf.matMul(x, map), -1), 4).toFloat()];
  });
  model.compile({
    optimizer,
    loss: (t: tf.Tensor, p: tf.Tensor) => tf.losses.softmaxCrossEntropy(t, p),
  });
  const history = await model.fit(xs, ys, {
    epochs: 8,
    batchSize: 32,
    shuffle: false,
    verbose: 0,
  });
  tf.dispose([xs, ys]);
  optimizer.dispose();
  model.dispose();
  return {
    losses: (history.history.loss as number[]).map(Number),
    fusedDispatches,
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
  };
}

const checks = { backend, fusedAgreement, fitWithChainOptimizer };
(globalThis as { centraChecks?: typeof checks }).centraChecks = checks;
if (typeof document !== "undefined") {
  document.getElementById("status")!.textContent = "ready";
}
