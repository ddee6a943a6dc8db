// Issue 15: every Keras-wide option by name, for every optimizer of the
// table (clipnorm / clipvalue / globalClipnorm, weightDecay with an
// exclusion by role or name, gradientAccumulationSteps, useEma and
// emaMomentum): against the row's float64 reference with Keras 3's rules
// written here in float64 (average k mini-batch gradients, clip the mean,
// one optimizer step, decoupled decay w ← w - lr λ w, EMA of the weights
// at every mini-step); saved and resumed bit for bit at every
// offset; bad values named, with nothing left behind.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { findEmaParams, OPTIMIZERS } from "@centra/chain";
import {
  assertClose,
  randn,
  read,
  testOnBackends,
} from "@centra/testing/mod.ts";
import {
  OPTIMIZER_ROWS,
  OPTIMIZER_TABLE,
  type Options,
} from "@centra/testing/optimizer_table.ts";
import type { RefStep, Shape } from "@centra/testing/reference64.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import type { JsonObject } from "./_json.ts";
import { reloaded } from "./_test_utils.ts";

const SHAPES: readonly Shape[] = [[3, 4], [4]];
const ROLES = ["kernel", "bias"];
const LR = 0.01;

/** Per-tensor clipping by norm, as Keras's clipnorm: g min(1, c / |g|). */
function clipNorm64(g: Float64Array, c: number): Float64Array {
  const n = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
  return n > c ? g.map((x) => x * c / n) : g.slice();
}

interface Keras64 {
  clip: (g: Float64Array[]) => Float64Array[];
  k: number;
  /** Decoupled decay per tensor (0 where excluded or absent). */
  decay: number[];
  mu?: number;
}

/** The Keras rules around a float64 optimizer step `step`. */
function run64(
  step: RefStep,
  w: Float64Array[],
  grads: Float64Array[][],
  o: Keras64,
): { w: Float64Array[]; avg: Float64Array[] } {
  let acc = w.map((x) => new Float64Array(x.length));
  const avg = w.map((x) => new Float64Array(x.length));
  grads.forEach((g, i) => {
    const t = i + 1;
    g.forEach((gk, k) => gk.forEach((x, j) => acc[k]![j]! += x));
    if (t % o.k === 0) {
      const before = w.map((x) => x.slice());
      step(w, o.clip(acc.map((a) => a.map((x) => x / o.k))), t / o.k);
      w.forEach((wk, k) =>
        wk.forEach((_, j) => wk[j] = wk[j]! - LR * o.decay[k]! * before[k]![j]!)
      );
      acc = w.map((x) => new Float64Array(x.length));
    }
    if (o.mu !== undefined) {
      w.forEach((wk, k) =>
        wk.forEach((x, j) =>
          avg[k]![j] = t === 1 ? x : o.mu! * avg[k]![j]! + (1 - o.mu!) * x
        )
      );
    }
  });
  return { w, avg };
}

let id = 0;

/** Runs a ChainOptimizer.from(name, json) on seeded gradients; reads weights and EMA. */
async function runChain(
  name: string,
  json: JsonObject,
  grads: Float64Array[][],
): Promise<
  { start: Float64Array[]; w: Float64Array[]; avg: Float64Array[] | null }
> {
  const prefix = `keras_options_test_${id++}`;
  const vars = SHAPES.map((s, k) =>
    tf.variable(
      tf.tensor(Float32Array.from(randn(s.reduce((a, b) => a * b, 1), 5 + k)), [
        ...s,
      ]),
      true,
      `${prefix}/${ROLES[k]}`,
    )
  );
  const start = await Promise.all(vars.map(read));
  const opt = ChainOptimizer.from(name, json);
  for (const g of grads) {
    const gs: Record<string, tf.Tensor> = {};
    vars.forEach((v, k) => {
      gs[v.name] = tf.tensor(Float32Array.from(g[k]!), v.shape);
    });
    opt.applyGradients(gs);
    tf.dispose(Object.values(gs));
  }
  const w = await Promise.all(vars.map(read));
  const ema = findEmaParams(opt.state);
  const avg = ema === undefined
    ? null
    : await Promise.all(vars.map((v) => read(ema[v.name]!)));
  opt.dispose();
  tf.dispose(vars);
  return { start, w, avg };
}

const gradsFor = (n: number, seed: number): Float64Array[][] =>
  Array.from(
    { length: n },
    (_, i) =>
      SHAPES.map((s, k) =>
        randn(s.reduce((a, b) => a * b, 1), seed + 31 * i + k).map((x) =>
          Math.fround(x * 2)
        )
      ),
  );

const ownOf = (row: (typeof OPTIMIZER_ROWS)[number][1]): Options => {
  const { learningRate: _lr, ...own } = row.json[0]!;
  return own;
};

testOnBackends(
  "ChainOptimizer.from() takes clipnorm, weightDecay with an exclusion by role, gradientAccumulationSteps, useEma and emaMomentum for every optimizer of the table (float64 references)",
  async (backend) => {
    const rows = backend === "cpu"
      ? OPTIMIZER_ROWS
      : OPTIMIZER_ROWS.slice(0, 2);
    for (const [name, row] of rows) {
      const own = ownOf(row);
      const hasDecay = Object.hasOwn(OPTIMIZERS[name].options, "weightDecay");
      const keras: JsonObject = {
        clipnorm: 0.8,
        gradientAccumulationSteps: 3,
        useEma: true,
        emaMomentum: 0.9,
        ...(hasDecay ? {} : {
          weightDecay: 0.5,
          excludeFromWeightDecay: { roles: ["bias"] },
        }),
      };
      const grads = gradsFor(12, 40);
      const got = await runChain(name, {
        learningRate: LR,
        ...own,
        ...keras,
      } as JsonObject, grads);
      const want = run64(
        row.reference(LR, own)(SHAPES),
        got.start.map((x) => x.slice()),
        grads,
        {
          clip: (g) => g.map((gk) => clipNorm64(gk, 0.8)),
          k: 3,
          decay: hasDecay ? [0, 0] : [0.5, 0],
          mu: 0.9,
        },
      );
      got.w.forEach((wk, k) =>
        assertClose(wk, want.w[k]!, {
          rtol: 1e-4,
          atol: 1e-5,
          what: `${name} ${ROLES[k]}`,
        })
      );
      got.avg!.forEach((ak, k) =>
        assertClose(ak, want.avg[k]!, {
          rtol: 1e-4,
          atol: 1e-5,
          what: `${name} EMA of ${ROLES[k]}`,
        })
      );
      // the options did something: not the bare optimizer's weights
      const bare = run64(
        row.reference(LR, own)(SHAPES),
        got.start.map((x) => x.slice()),
        grads,
        { clip: (g) => g, k: 1, decay: [0, 0] },
      );
      // (relative to how far the weights moved: lars moves them little)
      const moved = Math.max(
        ...bare.w[0]!.map((x, j) => Math.abs(x - got.start[0]![j]!)),
      );
      assert.ok(
        got.w[0]!.some((x, j) => Math.abs(x - bare.w[0]![j]!) > 0.01 * moved),
        `${name}: the Keras options changed nothing`,
      );
    }
  },
);

Deno.test("clipvalue, globalClipnorm and an exclusion by name into adamw's own decay follow their float64 rules", async () => {
  await tf.setBackend("cpu");
  const grads = gradsFor(6, 90);
  const cases: [string, JsonObject, Keras64, () => RefStep][] = [
    [
      "sgd",
      { learningRate: LR, momentum: 0.9, clipvalue: 0.5 },
      {
        clip: (g) =>
          g.map((gk) => gk.map((x) => Math.min(0.5, Math.max(-0.5, x)))),
        k: 1,
        decay: [0, 0],
      },
      () =>
        OPTIMIZER_TABLE.sgd.reference(LR, {
          momentum: 0.9,
        })(SHAPES),
    ],
    [
      "rmsprop",
      { learningRate: LR, globalClipnorm: 1.5, weightDecay: 0.2 },
      {
        clip: (g) => {
          const n = Math.sqrt(
            g.reduce((s, gk) => s + gk.reduce((a, x) => a + x * x, 0), 0),
          );
          return g.map((gk) => n > 1.5 ? gk.map((x) => x * 1.5 / n) : gk);
        },
        k: 1,
        decay: [0.2, 0.2],
      },
      () =>
        OPTIMIZER_TABLE.rmsprop.reference(LR, {})(
          SHAPES,
        ),
    ],
  ];
  for (const [name, json, rules, ref] of cases) {
    const got = await runChain(name, json, grads);
    const want = run64(ref(), got.start.map((x) => x.slice()), grads, rules);
    got.w.forEach((wk, k) =>
      assertClose(wk, want.w[k]!, {
        rtol: 1e-4,
        atol: 1e-5,
        what: `${name} ${ROLES[k]}`,
      })
    );
  }
  // adamw's own decoupled decay, masked by name: the bias is not decayed
  const adamw = OPTIMIZER_TABLE.adamw;
  const got = await runChain("adamw", {
    learningRate: LR,
    weightDecay: 0.3,
    excludeFromWeightDecay: { names: ["/bias"] },
  }, grads);
  const kernel = adamw.reference(LR, { weightDecay: 0.3 })([SHAPES[0]!]);
  const bias = adamw.reference(LR, { weightDecay: 0 })([SHAPES[1]!]);
  const w = got.start.map((x) => x.slice());
  grads.forEach((g, i) => {
    kernel([w[0]!], [g[0]!], i + 1);
    bias([w[1]!], [g[1]!], i + 1);
  });
  got.w.forEach((wk, k) =>
    assertClose(wk, w[k]!, {
      rtol: 1e-4,
      atol: 1e-5,
      what: `adamw ${ROLES[k]}`,
    })
  );
});

/** The bits of a tensor, for bit-exact comparisons. */
async function bits(t: tf.Tensor): Promise<number[]> {
  const copy = Float32Array.from(await t.data() as Float32Array);
  return Array.from(new Uint32Array(copy.buffer));
}

testOnBackends(
  "Keras options save and resume bit for bit at every step offset, the EMA and the accumulator included",
  async (backend) => {
    const rows = backend === "cpu"
      ? OPTIMIZER_ROWS
      : [["adam", OPTIMIZER_TABLE.adam] as const];
    const STEPS = 5;
    for (const [name, row] of rows) {
      const json = {
        ...row.json[0]!,
        clipnorm: 1,
        gradientAccumulationSteps: 2,
        useEma: true,
        emaOverwriteFrequency: 3,
        ...(Object.hasOwn(OPTIMIZERS[name as "sgd"].options, "weightDecay")
          ? {}
          : { weightDecay: 0.01 }),
      } as JsonObject;
      const grad = (i: number) =>
        tf.tidy(() => tf.sin(tf.add(tf.range(0, 6), i)).reshape([2, 3]));
      const go = (
        o: ChainOptimizer,
        w: tf.Variable,
        from: number,
        to: number,
      ) => {
        for (let i = from; i < to; i++) {
          const g = grad(i);
          o.applyGradients({ [w.name]: g });
          g.dispose();
        }
      };
      const start = tf.tensor2d([[0.5, -1, 2], [1, 0.25, -0.5]]);
      const ref = tf.variable(start, true, `keras_resume_ref_${id++}/w`);
      const refOpt = ChainOptimizer.from(name, json);
      go(refOpt, ref, 0, STEPS);
      const want = [
        await bits(ref),
        await bits(findEmaParams(refOpt.state)![ref.name]!),
      ];
      // saved after j < STEPS steps, so that b steps and holds its state
      // (a loaded state is matched to the variables at the next step)
      for (let j = 0; j < STEPS; j++) {
        const before = tf.memory().numTensors;
        const w = tf.variable(start, true, `keras_resume_${id++}/w`);
        const a = ChainOptimizer.from(name, json);
        go(a, w, 0, j);
        const b = await reloaded(a);
        go(b, w, j, STEPS);
        assert.deepEqual(
          [await bits(w), await bits(findEmaParams(b.state)![w.name]!)],
          want,
          `${name}: saved after ${j} of ${STEPS}`,
        );
        b.dispose();
        w.dispose();
        assert.equal(tf.memory().numTensors, before, `${name} at ${j}: leak`);
      }
      refOpt.dispose();
      tf.dispose([ref, start]);
    }
  },
);

Deno.test("ChainOptimizer.from() names a bad Keras option and leaves no tensor behind", () => {
  const bad: [JsonObject, typeof TypeError | typeof RangeError, RegExp][] = [
    [
      { clipnorm: 0 },
      RangeError,
      /clipnorm must be a finite number above 0, got 0/,
    ],
    [
      { clipvalue: -1 },
      RangeError,
      /clipvalue must be a finite number above 0, got -1/,
    ],
    [
      { globalClipnorm: "1" },
      TypeError,
      /globalClipnorm must be a number, got "1"/,
    ],
    [
      { clipnorm: 1, clipvalue: 1 },
      TypeError,
      /only one of clipnorm, clipvalue and globalClipnorm can be set \(as in Keras\), got clipnorm and clipvalue/,
    ],
    [{ weightDecay: -0.1 }, RangeError, /weightDecay must be/],
    [
      { excludeFromWeightDecay: { roles: ["bias"] } },
      TypeError,
      /excludeFromWeightDecay needs weightDecay/,
    ],
    [
      { weightDecay: 0.1, excludeFromWeightDecay: ["bias"] },
      TypeError,
      /excludeFromWeightDecay must be \{ roles\?, names\? \}, got \["bias"\]/,
    ],
    [
      { weightDecay: 0.1, excludeFromWeightDecay: { role: ["bias"] } },
      TypeError,
      /unknown option "excludeFromWeightDecay.role"/,
    ],
    [
      { weightDecay: 0.1, excludeFromWeightDecay: { names: [1] } },
      TypeError,
      /excludeFromWeightDecay.names must be an array of strings, got \[1\]/,
    ],
    [
      { gradientAccumulationSteps: 0 },
      RangeError,
      /gradientAccumulationSteps must be an integer of at least 1, got 0/,
    ],
    [
      { gradientAccumulationSteps: 1.5 },
      RangeError,
      /gradientAccumulationSteps must be an integer of at least 1, got 1.5/,
    ],
    [{ useEma: "yes" }, TypeError, /useEma must be a boolean, got "yes"/],
    [
      { emaMomentum: 0.9 },
      TypeError,
      /emaMomentum needs useEma: true, got useEma undefined/,
    ],
    [
      { useEma: true, emaMomentum: 1.01 },
      RangeError,
      /emaMomentum must be in \[0, 1\], got 1.01/,
    ],
    [
      { useEma: false, emaOverwriteFrequency: 5 },
      TypeError,
      /emaOverwriteFrequency needs useEma: true, got useEma false/,
    ],
    [
      { useEma: true, emaOverwriteFrequency: 0 },
      RangeError,
      /emaOverwriteFrequency must be an integer of at least 1, got 0/,
    ],
    [
      { reduceOnPlateau: 1 },
      TypeError,
      /reduceOnPlateau must be a boolean, got 1/,
    ],
    [
      {
        reduceOnPlateau: true,
        learningRate: { schedule: "cosineDecay", initValue: 1, decaySteps: 3 },
      },
      TypeError,
      /reduceOnPlateau needs a numeric learningRate/,
    ],
    [
      { clipNorm: 1 },
      TypeError,
      /unknown option "clipNorm" \(known: learningRate, .*clipnorm, clipvalue, globalClipnorm/,
    ],
  ];
  for (const name of Object.keys(OPTIMIZERS)) {
    for (const [json, kind, message] of bad) {
      const before = tf.memory().numTensors;
      assert.throws(
        () => ChainOptimizer.from(name, { learningRate: 0.1, ...json }),
        (e: Error) => e instanceof kind && message.test(e.message),
        `${name}: ${String(message)}`,
      );
      assert.equal(tf.memory().numTensors, before, `${name}: ${message}`);
    }
  }
  // an exclusion into adamw's own mask cannot be given twice
  assert.throws(
    () =>
      ChainOptimizer.from("adamw", {
        learningRate: 0.1,
        weightDecay: 0.1,
        weightDecayMask: { w: true },
        excludeFromWeightDecay: { names: ["w"] },
      }),
    /give excludeFromWeightDecay or weightDecayMask, not both/,
  );
});

Deno.test("every Keras option at once keeps tf.memory().numTensors flat over 1,000 steps", async () => {
  await tf.setBackend("cpu");
  const w = tf.variable(tf.ones([3, 2]), true, `keras_memory_${id++}/kernel`);
  const opt = ChainOptimizer.from("rmsprop", {
    learningRate: 0.01,
    globalClipnorm: 1,
    weightDecay: 0.01,
    excludeFromWeightDecay: { roles: ["bias"] },
    gradientAccumulationSteps: 3,
    useEma: true,
    emaOverwriteFrequency: 7,
    reduceOnPlateau: true,
  });
  const g = tf.fill([3, 2], 0.5);
  const counts: number[] = [];
  for (let i = 0; i < 1000; i++) {
    opt.applyGradients({ [w.name]: g });
    if (i % 250 === 249) counts.push(tf.memory().numTensors);
  }
  assert.ok(counts.every((c) => c === counts[0]), `counts ${counts}`);
  opt.dispose();
  tf.dispose([g, w]);
});
