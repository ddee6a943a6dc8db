// emaParams against a float64 run written here from Keras's documented rule
// (the average starts at the weights after the first step, then
// a = μ a + (1 - μ) w; every k-th step the weights take the average), on
// every backend; its tensor count over many steps; its bad options.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  chain,
  disposeReplaced,
  disposeState,
  emaParams,
  findEmaParams,
  initState,
  runStep,
  sgd,
} from "./mod.ts";
import {
  assertClose,
  HAS_WEBGPU,
  randn,
  read,
  testOnBackends,
} from "@centra/testing/mod.ts";

const SHAPE = [3, 4];
const N = 12;

/** SGD with momentum, then the EMA and the overwrite, all in float64. */
function reference64(
  w0: Float64Array,
  grads: Float64Array[],
  o: { lr: number; momentum: number; mu: number; every?: number },
): { w: Float64Array; avg: Float64Array } {
  const w = Float64Array.from(w0);
  const m = new Float64Array(w.length);
  const avg = new Float64Array(w.length);
  grads.forEach((g, i) => {
    const t = i + 1;
    for (let j = 0; j < w.length; j++) {
      m[j] = o.momentum * m[j]! + g[j]!; // tfjs/PyTorch momentum
      w[j] = w[j]! - o.lr * m[j]!;
      avg[j] = t === 1 ? w[j]! : o.mu * avg[j]! + (1 - o.mu) * w[j]!;
    }
    if (o.every !== undefined && t % o.every === 0) w.set(avg);
  });
  return { w, avg };
}

async function run(
  steps: number,
  o: { lr: number; momentum: number; mu: number; every?: number },
  name: string,
): Promise<
  { w: Float64Array; avg: Float64Array; want: ReturnType<typeof reference64> }
> {
  const w0 = randn(N, 7);
  const grads = Array.from({ length: steps }, (_, i) => randn(N, 100 + i));
  const v = tf.variable(tf.tensor(Float32Array.from(w0), SHAPE), true, name);
  // the reference starts from the float32 weights
  const start = await read(v);
  const tx = chain(
    sgd(o.lr, { momentum: o.momentum }),
    emaParams(
      o.every === undefined
        ? { momentum: o.mu }
        : { momentum: o.mu, overwriteFrequency: o.every },
    ),
  );
  const vars = { [name]: v };
  let state = initState(tx, vars);
  for (const g of grads) {
    const gt = tf.tensor(Float32Array.from(g), SHAPE);
    const next = runStep(tx, { [name]: gt }, state, vars);
    disposeReplaced(state, next);
    state = next;
    gt.dispose();
  }
  const w = await read(v);
  const avg = await read(findEmaParams(state)![name]!);
  disposeState(state);
  v.dispose();
  return { w, avg, want: reference64(start, grads, o) };
}

let id = 0;
testOnBackends(
  "emaParams() keeps Keras's average of the weights (a float64 run), starting at the first step's weights",
  async (backend) => {
    const steps = backend === "cpu" ? 100 : 25;
    const o = { lr: 0.05, momentum: 0.9, mu: 0.9 };
    const { w, avg, want } = await run(steps, o, `ema_params_test/${id++}`);
    assertClose(w, want.w, { rtol: 1e-5, atol: 1e-5, what: "weights" });
    assertClose(avg, want.avg, { rtol: 1e-5, atol: 1e-5, what: "average" });
    // the average lags: it is not the weights
    assert.ok(avg.some((a, i) => Math.abs(a - w[i]!) > 1e-3));
    const one = await run(1, o, `ema_params_test/${id++}`);
    assert.deepEqual(one.avg, one.w, "after one step the average is w");
  },
);

testOnBackends(
  "emaParams() with overwriteFrequency writes the average into the weights every k-th step (Keras)",
  async (backend) => {
    const steps = backend === "cpu" ? 96 : 24; // multiples of 6
    const o = { lr: 0.05, momentum: 0.5, mu: 0.8, every: 6 };
    const { w, avg, want } = await run(steps, o, `ema_params_test/${id++}`);
    assertClose(w, want.w, { rtol: 1e-5, atol: 1e-5, what: "weights" });
    assertClose(avg, want.avg, { rtol: 1e-5, atol: 1e-5, what: "average" });
    // the last step (a multiple of 6) overwrote: weights = average
    assertClose(w, avg, { rtol: 0, atol: 1e-6, what: "weights = average" });
  },
);

Deno.test("emaParams() keeps tf.memory().numTensors flat over 1,000 steps", async () => {
  await tf.setBackend("cpu");
  const name = `ema_params_test/${id++}`;
  const v = tf.variable(tf.ones(SHAPE), true, name);
  const tx = chain(
    sgd(0.01, { momentum: 0.9 }),
    emaParams({ overwriteFrequency: 7 }),
  );
  const vars = { [name]: v };
  let state = initState(tx, vars);
  const g = tf.fill(SHAPE, 0.5);
  const counts: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const next = runStep(tx, { [name]: g }, state, vars);
    disposeReplaced(state, next);
    state = next;
    if (i % 250 === 249) counts.push(tf.memory().numTensors);
  }
  assert.ok(counts.every((c) => c === counts[0]), `counts ${counts}`);
  disposeState(state);
  tf.dispose([g, v]);
});

Deno.test("emaParams() refuses bad options by name", () => {
  const bad: [() => unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    [
      () => emaParams({ momentum: 1.5 }),
      RangeError,
      /emaParams: momentum must be in \[0, 1\], got 1.5/,
    ],
    [
      () => emaParams({ overwriteFrequency: 0 }),
      RangeError,
      /emaParams: overwriteFrequency must be a positive integer, got 0/,
    ],
    [
      () => emaParams({ overwriteFrequency: 2.5 }),
      RangeError,
      /overwriteFrequency must be a positive integer, got 2.5/,
    ],
    [
      () => emaParams({ decay: 0.9 } as never),
      TypeError,
      /emaParams: unknown option "decay"/,
    ],
  ];
  for (const [fn, kind, message] of bad) {
    assert.throws(
      fn,
      (e: Error) => e instanceof kind && message.test(e.message),
      String(message),
    );
  }
});

if (HAS_WEBGPU) {
  Deno.test({
    name:
      "emaParams() fused by @centra/webgpu equals op by op, overwrite steps included [webgpu]",
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await tf.setBackend("webgpu");
      const { fuse } = await import("@centra/webgpu");
      const make = () =>
        chain(
          sgd(0.05, { momentum: 0.9 }),
          emaParams({ momentum: 0.8, overwriteFrequency: 3 }),
        );
      const got: Float64Array[][] = [];
      for (
        const [k, tx] of [["op", make()], ["fused", fuse(make())]] as const
      ) {
        const name = `ema_params_test/fused_${k}_${id++}`;
        const v = tf.variable(
          tf.tensor(Float32Array.from(randn(N, 3)), SHAPE),
          true,
          name,
        );
        const vars = { [name]: v };
        let state = initState(tx, vars);
        for (let i = 0; i < 10; i++) {
          const g = tf.tensor(Float32Array.from(randn(N, 50 + i)), SHAPE);
          const next = runStep(tx, { [name]: g }, state, vars);
          disposeReplaced(state, next);
          state = next;
          g.dispose();
        }
        got.push([await read(v), await read(findEmaParams(state)![name]!)]);
        disposeState(state);
        v.dispose();
      }
      // float32 rounding apart (the kernel's order of operations differs)
      for (const i of [0, 1]) {
        assertClose(got[1]![i]!, got[0]![i]!, {
          rtol: 1e-6,
          atol: 1e-6,
          what: i === 0 ? "weights" : "average",
        });
      }
    },
  });
}
