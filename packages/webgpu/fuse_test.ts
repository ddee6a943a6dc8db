import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adam,
  adamw,
  adaptiveGradClip,
  applyUpdates,
  centralize,
  chain,
  clipByGlobalNorm,
  clipByNorm,
  clipByValue,
  disposeState,
  ema,
  type GradientTransformation,
  initState,
  injectHyperparams,
  masked,
  runStep,
  runUpdate,
  scaleByAdam,
  scaleByLearningRate,
  sgd,
  warmupCosineDecaySchedule,
} from "@centra/chain";
import {
  add,
  elementwise,
  type Expr,
  gt,
  hyper,
  input,
  mul,
  select,
  slot,
} from "@centra/chain/expr";
import { ChainOptimizer } from "@centra/tfjs";

type PerParam = Record<string, tf.Tensor>;
import { dispatchStats, fuse } from "./mod.ts";
import { forceSingleOutput, pipelineCount } from "./_dispatch.ts";
import { ONE_PASS_ELEMENTS, ONE_PASS_ROWS } from "./_program.ts";
import {
  assertClose,
  randn,
  read,
  testOnBackends,
} from "@centra/testing/mod.ts";
import {
  makeOptimizer,
  OPTIMIZER_ROWS,
} from "@centra/testing/optimizer_table.ts";
import { backendTest } from "@centra/testing/backends.ts";
import {
  disposeSides,
  quadratic,
  quadraticGrads,
  scheduledChains,
  sideBySide as runSideBySide,
  stepOnce,
} from "@centra/testing/fused_drivers.ts";

const SHAPES: Record<string, number[]> = {
  "conv/kernel": [3, 3, 2, 4],
  "conv/bias": [4],
  "dense/kernel": [6, 3],
};

let uid = 0;

/**
 * Larger kernels: their per-unit means are summed in blocks of rows, whole
 * ones (`big`), with a remainder (`odd`), and four units at a time or one.
 */
const LARGE: Record<string, number[]> = {
  "big/kernel": [2000, 64],
  "odd/kernel": [3, 3, 67, 36],
  "narrow/kernel": [700, 99],
  "big/bias": [64],
};

/** Seeded variables and the targets of the quadratic `½‖w - t‖²`. */
function problem(shapes: Record<string, number[]> = SHAPES): {
  vars: Record<string, tf.Variable>;
  targets: Record<string, tf.Tensor>;
} {
  return quadratic(shapes, "fuse");
}

/** The quadratic's gradient plus seeded noise, so GC has means to remove. */
function grads(
  vars: Record<string, tf.Variable>,
  targets: Record<string, tf.Tensor>,
  step: number,
): Record<string, tf.Tensor> {
  return quadraticGrads(vars, targets, { mean: 0.3, seed: () => 1000 + step });
}

const gpuErrors: string[] = [];
const watched = new WeakSet<object>();
/** Records WebGPU validation errors (an invalid shader is a silent zero otherwise). */
function watchGpu(): void {
  if (tf.getBackend() !== "webgpu") return;
  const device = (tf.backend() as unknown as { device: EventTarget }).device;
  if (watched.has(device)) return;
  watched.add(device);
  device.addEventListener("uncapturederror", (e) => {
    gpuErrors.push(String((e as unknown as { error: Error }).error.message));
  });
}

/**
 * Runs `make()` op by op (`runUpdate` + `applyUpdates`) and fused side by
 * side; the fused one takes its fused `step` (new weights from the kernels)
 * on even steps and `update` + `applyUpdates` on odd ones, so that each reads
 * the state the other wrote. Returns both final weights.
 */
async function sideBySide(
  make: () => GradientTransformation<unknown>,
  steps: number,
  options: {
    shapes?: Record<string, number[]>;
    /** Parameters without a gradient at a step (frozen), on both sides. */
    frozen?: (step: number) => readonly string[];
  } = {},
): Promise<{ plain: Float64Array[]; fused: Float64Array[]; aliased: number }> {
  watchGpu();
  const { shapes = SHAPES, frozen } = options;
  const a = problem(shapes), b = problem(shapes);
  // exact: on cpu, the op-by-op numbers bit for bit (the default rounding
  // is tested in packages/chain/fuse_test.ts); no effect on webgpu
  const plainTx = make(), fusedTx = fuse(make(), { exact: true });
  let aliased = 0;
  // the fused side counts the dispatches that read their own output
  const fusedStep = (g: Record<string, tf.Tensor>, s: unknown, i: number) => {
    if (i % 2 === 0) {
      const stats = dispatchStats(() => runStep(fusedTx, g, s, b.vars));
      aliased += stats.aliased;
      return stats.result;
    }
    const stats = dispatchStats(() => runUpdate(fusedTx, g, s, b.vars));
    aliased += stats.aliased;
    const [ub, nb] = stats.result;
    applyUpdates(b.vars, ub);
    tf.dispose(ub);
    return nb;
  };
  const states = runSideBySide({
    steps,
    plain: {
      tx: plainTx,
      vars: a.vars,
      step: (g, s) => stepOnce(plainTx, g, s, a.vars, true),
    },
    fused: { tx: fusedTx, vars: b.vars, step: fusedStep },
    grads: (side, i) =>
      side === "plain"
        ? grads(a.vars, a.targets, i)
        : grads(b.vars, b.targets, i),
    ...(frozen === undefined ? {} : { frozen }),
  });
  const plain = await Promise.all(Object.values(a.vars).map(read));
  const fused = await Promise.all(Object.values(b.vars).map(read));
  assert.deepEqual(gpuErrors, [], "WebGPU reported errors");
  disposeSides(states, a.vars, b.vars, a.targets, b.targets);
  return { plain, fused, aliased };
}

/** A test that needs the webgpu backend (skipped without an adapter). */
function webgpuTest(name: string, fn: () => void | Promise<void>): void {
  backendTest("webgpu", name, fn);
}

// Every optimizer's settings of the table (testing/optimizer_table.ts).
const OPTIMIZERS: [string, (gc: boolean) => GradientTransformation<unknown>][] =
  OPTIMIZER_ROWS.flatMap(([name, row]) =>
    row.fused.map((
      v,
    ): [string, (gc: boolean) => GradientTransformation<unknown>] => [
      v.label,
      (gc) => makeOptimizer(name, v.lr, { ...v.options, gc }),
    ])
  );

for (const gc of [false, true]) {
  testOnBackends(
    `fuse() agrees with op-by-op for every optimizer ${
      gc ? "with" : "without"
    } GC over 100 steps on cpu and 30 on webgpu (agreement_test.ts: 100 there)`,
    async (backend) => {
      // op by op on llvmpipe is slow; agreement_test.ts holds fused webgpu
      // to op by op over 100 steps for every optimizer of the table
      const steps = backend === "webgpu" ? 30 : 100;
      for (const [name, make] of OPTIMIZERS) {
        const { plain, fused, aliased } = await sideBySide(
          () => make(gc),
          steps,
        );
        assert.equal(aliased, 0, `${name}: a dispatch read its own output`);
        plain.forEach((p, i) =>
          assertClose(fused[i]!, p, {
            rtol: 1e-4,
            atol: 1e-5,
            what: `${name} ${Object.keys(SHAPES)[i]}`,
          })
        );
      }
    },
  );
}

webgpuTest(
  "fuse() fuses every optimizer of the table: one step is one fused launch with fewer kernels than op by op [webgpu]",
  () => {
    for (const gc of [false, true]) {
      for (const [name, make] of OPTIMIZERS) {
        const { vars, targets } = problem();
        const counts: number[] = [];
        const tx = fuse(make(gc), { onDispatches: (n) => counts.push(n) });
        let state = initState(tx, vars);
        const g = grads(vars, targets, 0);
        const fz = dispatchStats(() => runStep(tx, g, state, vars));
        state = fz.result;
        const plain = make(gc);
        const s0 = initState(plain, vars);
        const op = dispatchStats(() => runStep(plain, g, s0, vars));
        const what = `${name}${gc ? " + GC" : ""}`;
        assert.equal(counts.length, 1, `${what}: fused launches ${counts}`);
        assert.ok(
          fz.dispatches < op.dispatches,
          `${what}: fused ${fz.dispatches} vs op-by-op ${op.dispatches} dispatches`,
        );
        tf.dispose(g);
        disposeState(state);
        disposeState(op.result);
        tf.dispose([Object.values(vars), Object.values(targets)]);
      }
    }
  },
);

testOnBackends(
  "fuse() agrees with op-by-op for GC variants, clipping, ema and schedules",
  async () => {
    const schedule = warmupCosineDecaySchedule({
      initValue: 0,
      peakValue: 0.05,
      warmupSteps: 5,
      decaySteps: 30,
    });
    const cases: [string, () => GradientTransformation<unknown>][] = [
      ["adam gc conv", () => adam(0.05, { gc: "conv" })],
      ["adam gcOn update", () => adam(0.05, { gc: true, gcOn: "update" })],
      [
        "clipByGlobalNorm + adamw + GC, scheduled",
        () => chain(clipByGlobalNorm(1), adamw(schedule, { gc: true })),
      ],
      [
        "clipByGlobalNorm before and after scaleByAdam (two global norms in one run)",
        () =>
          chain(
            clipByGlobalNorm(1),
            scaleByAdam(),
            clipByGlobalNorm(0.5),
            scaleByLearningRate(0.05),
          ),
      ],
      [
        "GC over the last axis (units first), then default GC, with momentum",
        () =>
          chain(
            centralize({
              axes: (_, shape) => shape.length > 1 ? [shape.length - 1] : null,
            }),
            centralize(),
            sgd(0.05, { momentum: 0.9 }),
          ),
      ],
      [
        "adaptiveGradClip (two per-unit norms) + sgd momentum + GC",
        () =>
          chain(
            adaptiveGradClip(0.05),
            sgd(0.05, { momentum: 0.9, gc: true }),
          ),
      ],
      [
        "clipByNorm + clipByValue + ema",
        () =>
          chain(
            clipByNorm(2),
            clipByValue(0.5),
            ema(0.9),
            sgd(0.05),
          ),
      ],
      [
        "masked and injectHyperparams run op by op in between",
        () =>
          chain(
            masked(clipByValue(0.1), (name) => name.endsWith("bias")),
            injectHyperparams((hp) => sgd(hp.lr!, { momentum: 0.9 }), {
              lr: 0.05,
            }),
            clipByGlobalNorm(1),
          ),
      ],
    ];
    for (const [name, make] of cases) {
      const { plain, fused, aliased } = await sideBySide(make, 30);
      assert.equal(aliased, 0);
      plain.forEach((p, i) =>
        assertClose(fused[i]!, p, { rtol: 1e-4, atol: 1e-5, what: name })
      );
    }
  },
);

/** A user transform with eight state slots: more inputs than one shader binds. */
function eightSlots(): GradientTransformation<Record<string, PerParam>> {
  const names = ["a", "b", "c", "d", "e", "f", "g", "h"];
  let sum: Expr = input("g");
  names.forEach((n, i) => sum = add(sum, mul(slot(n), i + 1)));
  return elementwise<Record<string, PerParam>>({
    where: "eightSlots",
    slots: names,
    init: (params) =>
      Object.fromEntries(names.map((n, i) => [
        n,
        Object.fromEntries(
          Object.entries(params).map((
            [k, p],
          ) => [k, tf.fill(p.shape, i / 100)]),
        ),
      ])),
    check: () => {},
    step: () => ({ hypers: { k: 0.5 }, rest: {} }),
    math: () => ({
      update: mul(sum, hyper("k")),
      slots: { a: mul(slot("a"), 0.5) },
    }),
  });
}

testOnBackends(
  "fuse() runs a user's elementwise transform, also past the shader's input limit",
  async () => {
    const { plain, fused, aliased } = await sideBySide(
      () => chain(eightSlots(), adam(0.05, { gc: true })),
      10,
    );
    assert.equal(aliased, 0);
    plain.forEach((p, i) =>
      assertClose(fused[i]!, p, { rtol: 1e-4, atol: 1e-5, what: "eight" })
    );
  },
);

Deno.test("fuse() on cpu (its exact JavaScript loops) gives identical results", async () => {
  await tf.setBackend("cpu");
  const { plain, fused } = await sideBySide(
    () => chain(clipByGlobalNorm(1), adamw(0.05, { gc: true })),
    5,
  );
  plain.forEach((p, i) => assert.deepEqual(fused[i], p));
});

webgpuTest(
  "fuse() makes one kernel per tensor that writes its weight and state, plus one small pass per small centralized one [webgpu]",
  () => {
    const { vars, targets } = problem();
    const counts: number[] = [];
    const tx = fuse(adamw(0.01, { gc: true }), {
      onDispatches: (n) => counts.push(n),
    });
    let state = initState(tx, vars);
    const g = grads(vars, targets, 0);
    const fz = dispatchStats(() => runStep(tx, g, state, vars));
    state = fz.result;
    // once per step: one kernel for the scalars every tensor shares (Adam's
    // two bias corrections); per centralized kernel: its per-unit means in
    // one pass (these kernels are small: 18 and 6 rows) and one kernel that
    // writes the new weight and both moments; per bias: that kernel alone.
    // Nothing else: no separate kernel adds the updates to the weights.
    assert.deepEqual(counts, [1 + 2 * 2 + 1]);
    assert.equal(fz.dispatches, 1 + 2 * 2 + 1);
    const plain = adamw(0.01, { gc: true });
    const s0 = initState(plain, vars);
    const op = dispatchStats(() => runStep(plain, g, s0, vars));
    assert.ok(
      fz.dispatches < op.dispatches / 4,
      `fused ${fz.dispatches} vs op-by-op ${op.dispatches} dispatches`,
    );
    tf.dispose(g);
    disposeState(state);
    disposeState(op.result);
    tf.dispose([Object.values(vars), Object.values(targets)]);
  },
);

webgpuTest(
  "fuse() falls back to one output per dispatch without tfjs's internals, with the same results [webgpu]",
  async () => {
    forceSingleOutput(true);
    try {
      const cases: [string, () => GradientTransformation<unknown>][] = [
        [
          "clipByGlobalNorm + adamw + GC",
          () => chain(clipByGlobalNorm(1), adamw(0.05, { gc: true })),
        ],
        ["sgd momentum + GC", () => sgd(0.05, { momentum: 0.9, gc: true })],
      ];
      for (const [name, make] of cases) {
        const { plain, fused, aliased } = await sideBySide(make, 20);
        assert.equal(aliased, 0);
        plain.forEach((p, i) =>
          assertClose(fused[i]!, p, { rtol: 1e-4, atol: 1e-5, what: name })
        );
      }
      // one kernel per output: GC means, mu, nu and the new weight per
      // kernel, mu, nu and the new weight per bias, Adam's two bias
      // corrections once per step
      const { vars, targets } = problem();
      const tx = fuse(adamw(0.01, { gc: true }));
      const state = initState(tx, vars);
      const g = grads(vars, targets, 0);
      const st = dispatchStats(() => runStep(tx, g, state, vars));
      assert.equal(st.dispatches, 2 + 4 + 3 + 4);
      tf.dispose(g);
      disposeState(st.result);
      tf.dispose([Object.values(vars), Object.values(targets)]);
    } finally {
      forceSingleOutput(false);
    }
  },
);

testOnBackends(
  "fuse() steps a subset of the parameters (frozen ones keep their weights and state)",
  async () => {
    // the bias has no gradient on steps 1, 2, 5 and 6 (by step and by update)
    const { plain, fused, aliased } = await sideBySide(
      () => chain(clipByGlobalNorm(1), adamw(0.05, { gc: true })),
      8,
      {
        frozen: (step) => step % 4 === 1 || step % 4 === 2 ? ["conv/bias"] : [],
      },
    );
    assert.equal(aliased, 0);
    plain.forEach((p, i) =>
      assertClose(fused[i]!, p, {
        rtol: 1e-4,
        atol: 1e-5,
        what: Object.keys(SHAPES)[i]!,
      })
    );
  },
);

testOnBackends(
  "fuse() agrees with op-by-op on larger tensors, whose means are summed in blocks of rows",
  async () => {
    const cases: [string, () => GradientTransformation<unknown>][] = [
      ["adamw + GC", () => adamw(0.02, { weightDecay: 1e-2, gc: true })],
      ["sgd momentum + GC", () => sgd(0.02, { momentum: 0.9, gc: true })],
      [
        "clipByGlobalNorm + adam + GC",
        () => chain(clipByGlobalNorm(1), adam(0.02, { gc: true })),
      ],
    ];
    for (const [name, make] of cases) {
      const { plain, fused, aliased } = await sideBySide(make, 12, {
        shapes: LARGE,
      });
      assert.equal(aliased, 0);
      plain.forEach((p, i) =>
        assertClose(fused[i]!, p, {
          rtol: 1e-4,
          atol: 1e-5,
          what: `${name} ${Object.keys(LARGE)[i]}`,
        })
      );
    }
  },
);

webgpuTest(
  "fuse() keeps tf.memory().numTensors flat and compiles no shader after the first steps of a schedule, also inside injectHyperparams [webgpu]",
  async () => {
    const cases = scheduledChains();
    const backend = tf.backend() as unknown as {
      pipelineCache: Record<string, unknown>;
      device: GPUDevice;
    };
    const compiled = () =>
      Object.keys(backend.pipelineCache).length +
      pipelineCount(backend.device);
    for (const [name, make] of cases) {
      const { vars, targets } = problem();
      const tx = fuse(make());
      const before = tf.memory().numTensors;
      let state = initState(tx, vars);
      const afterInit = tf.memory().numTensors;
      let shaders = 0;
      const counts: number[] = [];
      for (let step = 0; step < 60; step++) {
        const g = grads(vars, targets, step);
        state = stepOnce(tx, g, state, vars, step % 2 === 1);
        tf.dispose(g);
        if (step === 3) shaders = compiled();
        if (step % 10 === 9) counts.push(tf.memory().numTensors);
      }
      await read(Object.values(vars)[0]!);
      assert.ok(
        counts.every((c) => c === afterInit),
        `${name}: ${afterInit}: ${counts}`,
      );
      assert.equal(compiled(), shaders, `${name}: shaders compiled late`);
      disposeState(state);
      assert.equal(tf.memory().numTensors, before, name);
      tf.dispose([Object.values(vars), Object.values(targets)]);
    }
  },
);

webgpuTest(
  "fuse() fuses the transformation injectHyperparams builds at each step [webgpu]",
  () => {
    const { vars, targets } = problem();
    const plain = fuse(adamw(0.01, { gc: true }));
    const injected = fuse(
      injectHyperparams((hp) => adamw(hp.lr!, { gc: true }), { lr: 0.01 }),
    );
    let sp = initState(plain, vars), si = initState(injected, vars);
    const g = grads(vars, targets, 0);
    const a = dispatchStats(() => runUpdate(plain, g, sp, vars));
    const b = dispatchStats(() => runUpdate(injected, g, si, vars));
    [, sp] = a.result;
    [, si] = b.result;
    // the same kernels (injectHyperparams adds at most its own step count),
    // where op by op would dispatch dozens
    assert.ok(
      b.dispatches <= a.dispatches + 1,
      `${b.dispatches} vs ${a.dispatches}`,
    );
    tf.dispose([a.result[0], b.result[0], g]);
    disposeState(sp);
    disposeState(si);
    tf.dispose([Object.values(vars), Object.values(targets)]);
  },
);

testOnBackends(
  "fuse() works as the chain of a ChainOptimizer in model.fit",
  async () => {
    const prefix = `fusefit${uid++}`;
    const make = (name: string) =>
      tf.sequential({
        name,
        layers: [
          tf.layers.conv2d({
            name: `${name}_conv`,
            inputShape: [5, 5, 1],
            filters: 3,
            kernelSize: 3,
            activation: "relu",
            kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          }),
          tf.layers.flatten({ name: `${name}_flat` }),
          tf.layers.dense({
            name: `${name}_out`,
            units: 2,
            kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
          }),
        ],
      });
    const xs = tf.randomUniform([8, 5, 5, 1], 0, 1, "float32", 3);
    const ys = tf.randomUniform([8, 2], 0, 1, "float32", 4);
    const losses: number[][] = [];
    for (const fused of [false, true]) {
      const model = make(`${prefix}_${fused ? "fused" : "plain"}`);
      const tx = adamw(0.01, { gc: true });
      // ChainOptimizer fuses by default: the plain side opts out
      const optimizer = fused
        ? new ChainOptimizer(fuse(tx))
        : new ChainOptimizer(tx, { fused: false });
      model.compile({ optimizer, loss: "meanSquaredError" });
      const h = await model.fit(xs, ys, {
        epochs: 4,
        batchSize: 8,
        verbose: 0,
      });
      losses.push(h.history.loss as number[]);
      optimizer.dispose();
      model.dispose();
    }
    assertClose(losses[1]!, losses[0]!, { rtol: 1e-4, what: "loss" });
    assert.ok(losses[1]![3]! < losses[1]![0]!);
    tf.dispose([xs, ys]);
  },
);

Deno.test("fuse() rejects what is not a transformation", () => {
  assert.throws(
    () => fuse(null as unknown as GradientTransformation<unknown>),
    TypeError,
  );
});

/**
 * A transform whose per-step condition (here `count > k`, one number per
 * step, hoisted out of the per-element kernel as a float) picks between
 * per-element values, as RAdam's switch and Rprop's first step do.
 */
function switchAfter(k: number): GradientTransformation<unknown> {
  return elementwise({
    where: "switchAfter",
    hypers: { k: [k, { min: 0 }] },
    slots: { m: 0 },
    math: ({ g, count, hypers: h, slots: s }) => {
      const m = add(mul(s.m!, 0.5), g);
      return {
        update: select(gt(count, h.k!), { then: m, otherwise: mul(g, 2) }),
        slots: { m },
      };
    },
  }) as GradientTransformation<unknown>;
}

testOnBackends(
  "fuse() compiles a per-step condition that selects between per-element values",
  async () => {
    const { plain, fused, aliased } = await sideBySide(
      () => chain(switchAfter(3), adam(0.05, { gc: true })),
      8,
    );
    assert.equal(aliased, 0);
    plain.forEach((p, i) =>
      assertClose(fused[i]!, p, { rtol: 1e-4, atol: 1e-5, what: "switch" })
    );
  },
);

// GC's per-unit means on small tensors: one pass (`CentraMeanColumns`)

/** The trainable weights of @centra/zoo's `smallCnn()` (bench/'s small CNN). */
const SMALL_CNN: Record<string, number[]> = {
  "conv1/kernel": [3, 3, 1, 16],
  "bn1/gamma": [16],
  "bn1/beta": [16],
  "conv2/kernel": [3, 3, 16, 32],
  "bn2/gamma": [32],
  "bn2/beta": [32],
  "fc1/kernel": [1568, 64],
  "fc1/bias": [64],
  "fc/kernel": [64, 10],
  "fc/bias": [10],
};

/** Dispatches of the second fused `runStep` of `make()` on fresh `shapes`. */
function stepDispatches(
  make: () => GradientTransformation<unknown>,
  shapes: Record<string, number[]>,
): number {
  const { vars, targets } = problem(shapes);
  const tx = fuse(make());
  let state = initState(tx, vars);
  let dispatches = 0;
  for (let step = 0; step < 2; step++) {
    const g = grads(vars, targets, step);
    const st = dispatchStats(() => runStep(tx, g, state, vars));
    assert.equal(st.aliased, 0);
    state = st.result;
    dispatches = st.dispatches;
    tf.dispose(g);
  }
  disposeState(state);
  tf.dispose([Object.values(vars), Object.values(targets)]);
  return dispatches;
}

webgpuTest(
  "fuse() computes a small tensor's GC means in one dispatch and a larger one's in two [webgpu]",
  () => {
    const withGc = () => sgd(0.05, { momentum: 0.9, gc: true });
    const withoutGc = () => sgd(0.05, { momentum: 0.9 });
    // [rows x units]: at most ONE_PASS_ROWS rows and ONE_PASS_ELEMENTS
    // elements take one pass, four units at a time or one
    const rows = ONE_PASS_ROWS, units = ONE_PASS_ELEMENTS / ONE_PASS_ROWS;
    const cases: [number[], number][] = [
      [[3, 3, 16, 32], 1],
      [[64, 10], 1],
      [[3, 3, 1, 16], 1],
      [[rows, 8], 1],
      [[rows, 7], 1],
      [[rows / 2, units * 2], 1],
      [[rows + 1, 8], 2],
      [[rows + 1, 7], 2],
      [[rows / 2, units * 2 + 4], 2],
      [[1568, 64], 2],
    ];
    for (const [shape, passes] of cases) {
      const shapes = { "one/kernel": shape };
      // the same chain without GC: one kernel, no scalars to share
      const plain = stepDispatches(withoutGc, shapes);
      assert.equal(plain, 1);
      assert.equal(
        stepDispatches(withGc, shapes) - plain,
        passes,
        `mean dispatches of [${shape}]`,
      );
    }
    // the small CNN: one pass for three kernels, two for fc1's [1568, 64];
    // SGD momentum + GC: 2 dispatches for each of those three, 3 for fc1,
    // 1 per vector (18 with two passes everywhere)
    const momentum = stepDispatches(withGc, SMALL_CNN);
    assert.equal(momentum, 3 * 2 + 3 + 6, "sgd momentum + GC, small CNN");
    assert.equal(momentum - stepDispatches(withoutGc, SMALL_CNN), 3 + 2);
    // GC + AdamW + clip: GC adds the same 5 (19 in all, 22 with two passes)
    const clipped = (gc: boolean) => () =>
      chain(clipByGlobalNorm(1), adamw(1e-3, { weightDecay: 1e-4, gc }));
    assert.equal(
      stepDispatches(clipped(true), SMALL_CNN) -
        stepDispatches(clipped(false), SMALL_CNN),
      3 + 2,
      "clipByGlobalNorm + adamw + GC, small CNN",
    );
  },
);

/**
 * A float32 gradient whose units have means of their own (GC has something
 * to remove) and whose centralized values are at least 0.5 from 0 (rows in
 * pairs, `x` and `-x` about the unit's mean), so that Adam's `m / sqrt(v)`
 * does not magnify the float32 rounding of a value near 0.
 */
function unitMeanGradient(
  shape: readonly number[],
  seed: number,
): Float32Array {
  const units = shape.at(-1)!;
  const z = randn(tf.util.sizeFromShape([...shape]), seed);
  return Float32Array.from(z, (_, k) => {
    const row = Math.floor(k / units), j = k % units;
    const x = z[(row - row % 2) * units + j]!;
    const c = (x < 0 ? -1 : 1) * (0.5 + Math.abs(x));
    return 0.5 + j / units + (row % 2 === 0 ? c : -c);
  });
}

/** Float64 GC: each unit's (last axis) mean over the other axes subtracted. */
function centralize64(g: Float64Array, shape: readonly number[]): Float64Array {
  if (shape.length < 2) return g.slice();
  const units = shape[shape.length - 1]!, rows = g.length / units;
  const out = new Float64Array(g.length);
  for (let j = 0; j < units; j++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += g[r * units + j]!;
    for (let r = 0; r < rows; r++) {
      out[r * units + j] = g[r * units + j]! - sum / rows;
    }
  }
  return out;
}

/** A float64 update rule over every parameter: updates from gradients. */
type Rule64 = (g: Float64Array[], t: number) => Float64Array[];

/** SGD with momentum `m = βm + g`, GC on the gradient, in float64. */
function sgdGc64(
  shapes: readonly number[][],
  lr: number,
  beta: number,
): Rule64 {
  // the hyperparameters as the float32 numbers the kernels read
  [lr, beta] = [Math.fround(lr), Math.fround(beta)];
  const m = shapes.map((s) => new Float64Array(tf.util.sizeFromShape(s)));
  return (g) =>
    g.map((gi, i) => {
      const c = centralize64(gi, shapes[i]!), mi = m[i]!;
      return mi.map((_, k) => -lr * (mi[k] = beta * mi[k]! + c[k]!));
    });
}

/**
 * Adam (Kingma and Ba 2015, Algorithm 1), GC on the gradient, in float64,
 * with `b1 = 7/8` and `b2 = 15/16`: their powers up to the fourth are exact
 * in float32, so the bias corrections `1 - bᵗ` (which cancel digits) are
 * exact on both sides, and what differs is the rounding per element.
 */
function adamGc64(shapes: readonly number[][], lr: number): Rule64 {
  const b1 = 7 / 8, b2 = 15 / 16, eps = Math.fround(1e-8);
  // the learning rate as the float32 number the kernels read
  lr = Math.fround(lr);
  const m = shapes.map((s) => new Float64Array(tf.util.sizeFromShape(s)));
  const v = shapes.map((s) => new Float64Array(tf.util.sizeFromShape(s)));
  return (g, t) =>
    g.map((gi, i) => {
      const c = centralize64(gi, shapes[i]!), mi = m[i]!, vi = v[i]!;
      return c.map((x, k) => {
        mi[k] = b1 * mi[k]! + (1 - b1) * x;
        vi[k] = b2 * vi[k]! + (1 - b2) * x * x;
        const mHat = mi[k]! / (1 - b1 ** t), vHat = vi[k]! / (1 - b2 ** t);
        return -lr * mHat / (Math.sqrt(vHat) + eps);
      });
    });
}

/** `rule` after clipping every gradient together to global norm `maxNorm`. */
function clipped64(maxNorm: number, rule: Rule64): Rule64 {
  return (g, t) => {
    let sq = 0;
    for (const gi of g) for (const x of gi) sq += x * x;
    const norm = Math.sqrt(sq);
    // the bound clips: the mean reads the step's clipping factor
    assert.ok(norm > maxNorm, `norm ${norm}`);
    const k = maxNorm / norm;
    return rule(g.map((gi) => gi.map((x) => k * x)), t);
  };
}

testOnBackends(
  "fuse() centralizes small tensors (one-pass means) as a float64 reference does, also after clipByGlobalNorm",
  async () => {
    // a conv kernel and a Dense kernel below the one-pass limits, four
    // units at a time and one, and a bias (not centralized)
    const SHAPES_1P: Record<string, number[]> = {
      "c/kernel": [3, 3, 16, 32],
      "c/bias": [32],
      "d/kernel": [64, 10],
    };
    const shapes = Object.values(SHAPES_1P);
    for (const [name, shape] of Object.entries(SHAPES_1P)) {
      const rows = tf.util.sizeFromShape(shape) / shape.at(-1)!;
      assert.ok(rows <= ONE_PASS_ROWS, name);
    }
    const ADAM_1P = { b1: 7 / 8, b2: 15 / 16, gc: true };
    const cases: [
      string,
      () => GradientTransformation<unknown>,
      () => Rule64,
    ][] = [
      [
        "sgd momentum + GC",
        () => sgd(0.1, { momentum: 0.9, gc: true }),
        () => sgdGc64(shapes, 0.1, 0.9),
      ],
      [
        "adam + GC",
        () => adam(0.01, ADAM_1P),
        () => adamGc64(shapes, 0.01),
      ],
      [
        "clipByGlobalNorm + sgd momentum + GC",
        () => chain(clipByGlobalNorm(5), sgd(0.1, { momentum: 0.9, gc: true })),
        () => clipped64(5, sgdGc64(shapes, 0.1, 0.9)),
      ],
      [
        "clipByGlobalNorm + adam + GC",
        () => chain(clipByGlobalNorm(5), adam(0.01, ADAM_1P)),
        () => clipped64(5, adamGc64(shapes, 0.01)),
      ],
    ];
    for (const [name, make, makeRule] of cases) {
      const vars = Object.fromEntries(
        Object.entries(SHAPES_1P).map(([k, s], i) => [
          k,
          tf.variable(
            tf.tensor(
              Float32Array.from(randn(tf.util.sizeFromShape(s), 77 + i)),
              s,
            ),
            true,
            `onepass${uid++}/${k}`,
          ),
        ]),
      );
      const tx = fuse(make()), rule = makeRule();
      const before = tf.memory().numTensors;
      let state = initState(tx, vars);
      for (let t = 1; t <= 4; t++) {
        // read as doubles by the reference
        const g32 = shapes.map((s, i) => unitMeanGradient(s, 100 * t + i));
        const g = Object.fromEntries(
          Object.keys(vars).map((k, i) => [k, tf.tensor(g32[i]!, shapes[i])]),
        );
        const [u, next] = runUpdate(tx, g, state, vars);
        state = next;
        const want = rule(g32.map((x) => Float64Array.from(x)), t);
        const got = await Promise.all(Object.values(u).map(read));
        got.forEach((x, i) => {
          const ref = want[i]!;
          let err = 0, size = 0;
          x.forEach((v, k) => {
            err = Math.max(err, Math.abs(v - ref[k]!));
            size = Math.max(size, Math.abs(ref[k]!));
          });
          assert.ok(
            err <= 4e-6 * size,
            `${name}, step ${t}, ${shapes[i]}: max error ${err} of ${size}`,
          );
        });
        tf.dispose([Object.values(u), Object.values(g)]);
      }
      disposeState(state);
      assert.equal(tf.memory().numTensors, before, name);
      tf.dispose(Object.values(vars));
    }
  },
);
