// `fuse(tx)` on the cpu backend (issue 16): the JavaScript loops give the
// op-by-op chain's weights and state bit for bit, for every optimizer of
// the table over 100 steps; they are compiled once per expression set;
// a step that fails anywhere changes nothing; nothing leaks; frozen subsets,
// empty tensors, NaN and infinities behave as op by op; no input is written.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adam,
  adamw,
  applyUpdates,
  centralize,
  chain,
  clipByGlobalNorm,
  disposeState,
  exponentialDecaySchedule,
  type GradientTransformation,
  initState,
  injectHyperparams,
  linearSchedule,
  runStep,
  sgd,
  warmupCosineDecaySchedule,
} from "@centra/chain";
import {
  abs,
  add,
  div,
  elementwise,
  gt,
  max,
  mean,
  min,
  mul,
  neg,
  pow,
  powInt,
  powTwo,
  select,
  sign,
  sqrt,
  square,
  sub,
  sumAll,
} from "@centra/chain/expr";
import { fuse, generatorFor, registerGenerator } from "@centra/chain/fuse";
import { type CpuFaultPoint, cpuFaults, cpuSimd } from "./_cpu_generator.ts";
import { cpuReuse } from "./_cpu_pool.ts";
import { kernelsCompiled } from "./_cpu_codegen.ts";
import { cpuArenaTests } from "./_test_utils.ts";
import { collectTensors } from "./_tree.ts";
import {
  makeOptimizer,
  OPTIMIZER_ROWS,
} from "@centra/testing/optimizer_table.ts";
import { backendTest } from "@centra/testing/backends.ts";
import { normwiseDiff } from "@centra/testing/assert.ts";
import {
  disposeSides,
  scheduledChains,
  seededVariables,
  sideBySide as runSideBySide,
  stepOnce,
} from "@centra/testing/fused_drivers.ts";

const SHAPES: Record<string, number[]> = {
  "conv/kernel": [3, 3, 2, 8],
  "conv/bias": [8],
  "dense/kernel": [16, 4],
  // more rows than tfjs's cpu matMul sums in one block (48)
  "tall/kernel": [100, 3],
};

function cpuTest(name: string, fn: () => void | Promise<void>): void {
  backendTest("cpu", `${name} [cpu]`, fn, () => {
    cpuFaults.point = null;
  });
}

function variables(
  shapes: Record<string, number[]>,
  seed = 1,
): Record<string, tf.Variable> {
  return seededVariables(shapes, "chainfuse", seed);
}

/** A quadratic's gradient plus seeded noise (so GC has means to remove). */
function gradsFor(
  vars: Record<string, tf.Variable>,
  step: number,
): Record<string, tf.Tensor> {
  return tf.tidy(() => {
    const out: Record<string, tf.Tensor> = {};
    let seed = 1000 + 10 * step;
    for (const [k, v] of Object.entries(vars)) {
      out[k] = tf.add(
        tf.mul(v, 0.5),
        tf.randomNormal(v.shape, 0.1, 0.5, "float32", seed++),
      );
    }
    return out;
  });
}

function values(x: unknown): number[][] {
  return [...collectTensors(x)].map((t) => Array.from(t.dataSync()));
}

/**
 * Trains `make()` op by op and fused side by side for `steps` steps; returns
 * both sides' weights and states and the fused kernel counts.
 */
function sideBySide(
  make: () => GradientTransformation<unknown>,
  steps: number,
  options: {
    shapes?: Record<string, number[]>;
    grads?: (vars: Record<string, tf.Variable>, step: number) => Record<
      string,
      tf.Tensor
    >;
    frozen?: (step: number) => readonly string[];
    /** `fuse`'s `exact` (here default `true`: bit for bit). */
    exact?: boolean;
  } = {},
): { plain: number[][]; fused: number[][]; loops: number[] } {
  const { shapes = SHAPES, grads = gradsFor, frozen } = options;
  const a = variables(shapes), b = variables(shapes);
  const loops: number[] = [];
  const plain = { tx: make(), vars: a };
  const fused = {
    tx: fuse(make(), {
      exact: options.exact ?? true,
      onDispatches: (n) => loops.push(n),
    }),
    vars: b,
  };
  let before = 0;
  const states = runSideBySide({
    steps,
    plain,
    fused,
    grads: (side, step) => grads(side === "plain" ? a : b, step),
    ...(frozen === undefined ? {} : { frozen }),
    afterInit: () => before = tf.memory().numTensors,
    afterStep: (step) =>
      assert.equal(tf.memory().numTensors, before, `step ${step}: tensors`),
  });
  const out = {
    plain: [...values(a), ...values(states.plain)],
    fused: [...values(b), ...values(states.fused)],
    loops,
  };
  disposeSides(states, a, b);
  return out;
}

// every optimizer's fused and agreement settings of the table, with and
// without GC, and the suites' extra chains
const CASES: [string, () => GradientTransformation<unknown>][] = [
  ...OPTIMIZER_ROWS.flatMap(([name, row]) =>
    [...row.fused, ...row.agreement].flatMap((v) =>
      [false, true].map((
        gc,
      ): [string, () => GradientTransformation<unknown>] => [
        `${v.label}${gc ? " + GC" : ""}`,
        () => makeOptimizer(name, v.lr, { ...v.options, gc }),
      ])
    )
  ),
  [
    "adam, exponential decay",
    () =>
      adam(
        exponentialDecaySchedule(0.01, { transitionSteps: 7, decayRate: 0.5 }),
      ),
  ],
  // GC's mean of the update reads a division by a shared number: the
  // default loop's reciprocal must not clash with the mean kernel's names
  ["adam, GC on the update", () => adam(0.01, { gc: true, gcOn: "update" })],
  // GC's mean of an update scaled by the trust ratio, a number per tensor
  // computed before the loop: the default mean kernel reads several rows per
  // pass, and its copies of the body must not rename that number
  [
    "lars, GC on the update",
    () =>
      makeOptimizer("lars", 0.1, {
        weightDecay: 1e-4,
        trustCoefficient: 0.002,
        gc: true,
        gcOn: "update",
      }),
  ],
  [
    "clipByGlobalNorm + adamw + GC, warmup cosine",
    () =>
      chain(
        clipByGlobalNorm(1),
        adamw(
          warmupCosineDecaySchedule({
            initValue: 0,
            peakValue: 0.01,
            warmupSteps: 10,
            decaySteps: 100,
          }),
          { weightDecay: 1e-2, gc: true },
        ),
      ),
  ],
  [
    "injectHyperparams sgd momentum + GC",
    () =>
      injectHyperparams(
        (hp) => sgd(hp.learningRate!, { momentum: 0.9, gc: true }),
        { learningRate: 0.05 },
      ),
  ],
  // b1 changes every step: the bias correction's powers of b1, kept from
  // step to step while b1 stays, must be computed again
  [
    "injectHyperparams adam, b1 on a schedule",
    () =>
      injectHyperparams(
        (hp) => adam(hp.learningRate!, { b1: hp.b1! }),
        {
          learningRate: 0.01,
          b1: linearSchedule({
            initValue: 0.5,
            endValue: 0.95,
            transitionSteps: 60,
          }),
        },
      ),
  ],
];

cpuTest(
  "fuse(tx, { exact: true }) on cpu gives the op-by-op weights and state bit for bit, for every optimizer of the table over 100 steps",
  () => {
    for (const [name, make] of CASES) {
      const { plain, fused, loops } = sideBySide(make, 100);
      // lookahead (and ranger, built on it) wraps its optimizer whole, an
      // opaque leaf: op by op (docs/wrappers.md)
      const fusable = !/^(lookahead|ranger)/.test(name);
      assert.ok(
        loops.length === 100 && loops.every((n) => fusable ? n > 0 : n === 0),
        name,
      );
      assert.deepEqual(fused, plain, name);
    }
  },
);

cpuArenaTests(
  "fuse() on cpu, by default (float64 inside the JavaScript loop, float32 at the store; float32 in the SIMD loop), agrees with op by op to float32 rounding for every optimizer of the table over 100 steps",
  () => {
    const failures: string[] = [];
    const print = Deno.env.get("CENTRA_AGREEMENT") === "print";
    for (const [name, make] of CASES) {
      const { plain, fused } = sideBySide(make, 100, { exact: false });
      const d = normwiseDiff(fused, plain);
      if (print) console.log(`${name}: ${d.toExponential(2)}`);
      // each path rounds each op's result to float32 (half an ulp, 6e-8
      // relative) at most once per op and step, the default only at the
      // stores: over 100 steps they part by at most about 100 ulps
      // (largest seen here: lion, 2e-6; CENTRA_AGREEMENT=print lists them)
      if (!(d <= 1e-5)) failures.push(`${name}: ${d} > 1e-5`);
    }
    assert.deepEqual(failures, []);
  },
);

cpuArenaTests(
  "fuse() on cpu runs one loop per tensor, after one reduction per centralized one",
  () => {
    const vars = variables(SHAPES);
    const counts: number[] = [];
    const tx = fuse(adamw(0.01, { gc: true }), {
      onDispatches: (n) => counts.push(n),
    });
    let state = initState(tx, vars);
    const g = gradsFor(vars, 0);
    state = runStep(tx, g, state, vars);
    // three centralized kernels (a mean, then the loop that writes the new
    // weight and both moments) and one bias (the loop alone)
    assert.deepEqual(counts, [3 * 2 + 1]);
    tf.dispose(Object.values(g));
    disposeState(state);
    tf.dispose(Object.values(vars));
  },
);

cpuArenaTests(
  "fuse() on cpu, by default, takes GC's per-unit means after clipByGlobalNorm in the same pass as each tensor's part of the norm, and its update is the float64 rule's",
  () => {
    const vars = variables(SHAPES);
    const counts: number[] = [];
    const tx = fuse(chain(clipByGlobalNorm(0.5), centralize()), {
      onDispatches: (n) => counts.push(n),
    });
    const state = initState(tx, vars);
    const g = gradsFor(vars, 3);
    const before = tf.memory().numTensors;
    const [u, next] = tx.update(g, state, vars);
    // per tensor: its part of the norm (with its means, if centralized),
    // then its loop; exact rounding takes a third kernel per centralized one
    assert.deepEqual(counts, [4 * 2]);
    // the published rule in float64: c = min(1, maxNorm / ‖g‖), then each
    // output unit's c·g less its mean over the other axes
    const host = Object.fromEntries(
      Object.entries(g).map(([k, t]) => [k, Array.from(t.dataSync())]),
    );
    const norm = Math.sqrt(
      Object.values(host).flat().reduce((s, x) => s + x * x, 0),
    );
    assert.ok(norm > 0.5, `the norm (${norm}) must be clipped`);
    const c = 0.5 / norm;
    for (const [k, t] of Object.entries(g)) {
      const x = host[k]!, units = t.shape[t.shape.length - 1]!;
      const rows = x.length / units;
      const want = x.map((v, i) => {
        if (t.rank < 2) return c * v;
        let m = 0;
        for (let r = 0; r < rows; r++) m += c * x[r * units + (i % units)]!;
        return c * v - m / rows;
      });
      const got = Array.from(u[k]!.dataSync());
      got.forEach((v, i) =>
        assert.ok(
          Math.abs(v - want[i]!) <= 1e-6 * (1 + Math.abs(want[i]!)),
          `${k}[${i}]: ${v} vs ${want[i]}`,
        )
      );
    }
    tf.dispose(Object.values(u));
    assert.equal(tf.memory().numTensors, before);
    disposeState(next);
    tf.dispose(Object.values(g));
    tf.dispose(Object.values(vars));
  },
);

cpuArenaTests(
  "fuse() on cpu compiles its loops once: not again over 60 steps of a schedule, also inside injectHyperparams",
  () => {
    const cases = scheduledChains();
    for (const [name, make] of cases) {
      const vars = variables(SHAPES);
      const tx = fuse(make());
      let state = initState(tx, vars);
      const afterInit = tf.memory().numTensors;
      let compiled = 0;
      for (let step = 0; step < 60; step++) {
        const g = gradsFor(vars, step);
        state = stepOnce(tx, g, state, vars, step % 2 === 1);
        tf.dispose(Object.values(g));
        // the first two steps compile both forms (update and new weight)
        if (step === 1) compiled = kernelsCompiled();
        assert.equal(tf.memory().numTensors, afterInit, `${name} ${step}`);
      }
      assert.ok(compiled > 0);
      assert.equal(kernelsCompiled(), compiled, `${name}: compiled late`);
      disposeState(state);
      tf.dispose(Object.values(vars));
    }
  },
);

const POINTS: [CpuFaultPoint, number][] = [
  ["loop", 0],
  ["loop", 1],
  ["loop", 4],
  ["wrap", 0],
  ["wrap", 3],
];

cpuArenaTests(
  "fuse() on cpu: a step that fails anywhere changes nothing, and the same step then works",
  (arenas) => {
    const makes: [string, () => GradientTransformation<unknown>][] = [
      [
        "clipByGlobalNorm + adamw + GC",
        () => chain(clipByGlobalNorm(1), adamw(0.05, { gc: true })),
      ],
      [
        "injectHyperparams sgd momentum + GC",
        () =>
          injectHyperparams(
            (hp) => sgd(hp.learningRate!, { momentum: 0.9, gc: true }),
            { learningRate: 0.05 },
          ),
      ],
    ];
    for (const [name, make] of makes) {
      for (const [point, skip] of POINTS) {
        for (const byUpdate of [false, true]) {
          const what = `${name}: ${point} +${skip}${
            byUpdate ? " by update" : ""
          }`;
          const vars = variables(SHAPES), twin = variables(SHAPES);
          const other = variables({ other: [5, 7] }).other!;
          // with arenas, the SIMD loops (default rounding) against a fused
          // twin that never failed; else bit for bit against op by op
          const tx = fuse(make(), { exact: !arenas });
          const plain = arenas ? fuse(make()) : make();
          let state = initState(tx, vars), twinState = initState(plain, twin);
          const g0 = gradsFor(vars, 0), t0 = gradsFor(twin, 0);
          state = stepOnce(tx, g0, state, vars, byUpdate);
          twinState = stepOnce(plain, t0, twinState, twin, byUpdate);
          const g = gradsFor(vars, 1);
          const before = {
            vars: values(vars),
            state: values(state),
            grads: values(g),
            other: values(other),
          };
          const count = tf.memory().numTensors;
          cpuFaults.point = point;
          cpuFaults.skip = skip;
          assert.throws(
            () => stepOnce(tx, g, state, vars, byUpdate),
            /injected fault/,
            what,
          );
          assert.equal(cpuFaults.point, null, `${what}: not reached`);
          assert.equal(tf.memory().numTensors, count, `${what}: leaked`);
          assert.deepEqual(values(vars), before.vars, `${what}: variables`);
          assert.deepEqual(values(state), before.state, `${what}: state`);
          assert.deepEqual(values(g), before.grads, `${what}: gradients`);
          assert.deepEqual(values(other), before.other, `${what}: other`);
          state = stepOnce(tx, g, state, vars, byUpdate);
          const tg = gradsFor(twin, 1);
          twinState = stepOnce(plain, tg, twinState, twin, byUpdate);
          assert.deepEqual(
            [values(vars), values(state)],
            [values(twin), values(twinState)],
            `${what}: after the retry`,
          );
          tf.dispose([g0, t0, g, tg].flatMap((x) => Object.values(x)));
          disposeState(state);
          disposeState(twinState);
          tf.dispose([...Object.values(vars), ...Object.values(twin), other]);
        }
      }
    }
  },
);

cpuArenaTests(
  "fuse() on cpu writes no input: gradients and the old state keep their values",
  () => {
    const vars = variables(SHAPES);
    const tx = chain(clipByGlobalNorm(1), adamw(0.05, { gc: true }));
    let state = initState(tx, vars);
    for (let step = 0; step < 3; step++) {
      const g = gradsFor(vars, step);
      const old = state;
      const oldValues = values(old), gradValues = values(g);
      // what the generator relies on: on cpu, dataSync() is the tensor's
      // own array, not a copy (so reading it costs nothing, and writing it
      // would corrupt the tensor)
      const first = Object.values(g)[0]!;
      assert.equal(first.dataSync(), first.dataSync());
      // the transformation itself, not a driver: the old state stays the
      // caller's, readable after the step
      const [u, next] = fuse(tx).update(g, state, vars);
      assert.deepEqual(values(old), oldValues);
      assert.deepEqual(values(g), gradValues);
      applyUpdates(vars, u);
      const live = collectTensors(next);
      tf.dispose([
        ...Object.values(u),
        ...Object.values(g),
        ...[...collectTensors(old)].filter((t) => !live.has(t)),
      ]);
      state = next;
    }
    disposeState(state);
    tf.dispose(Object.values(vars));
  },
);

cpuArenaTests(
  "fuse() on cpu: frozen subsets and tensors with no elements step as op by op",
  (arenas) => {
    const shapes = { ...SHAPES, "empty/kernel": [4, 0], "empty/bias": [0] };
    const { plain, fused } = sideBySide(
      () => chain(clipByGlobalNorm(1), adamw(0.05, { gc: true })),
      8,
      {
        shapes,
        frozen: (step) => step % 4 === 1 || step % 4 === 2 ? ["conv/bias"] : [],
        exact: !arenas,
      },
    );
    // bit for bit when exact; the SIMD loops to float32 rounding
    if (arenas) assert.ok(normwiseDiff(fused, plain) <= 1e-6);
    else assert.deepEqual(fused, plain);
  },
);

/** Gradients with NaN, ±Infinity, ±0 and huge values among normal ones. */
function hostileGrads(
  vars: Record<string, tf.Variable>,
  step: number,
  special: readonly number[] = [NaN, Infinity, -Infinity, 0, -0, 3e38, -1e-45],
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(vars)) {
    const g = tf.randomNormal(v.shape, 0, 1, "float32", 7 * step + 1);
    const data = g.dataSync().slice();
    g.dispose();
    if (step >= 6) {
      for (let i = 0; i < data.length; i += 5) {
        data[i] = special[(i / 5 + step) % special.length]!;
      }
    }
    out[k] = tf.tensor(data, v.shape);
  }
  return out;
}

/** Every op of the expression language, a user's elementwise transform. */
function everyOp(): GradientTransformation<unknown> {
  return elementwise<"lr" | "k", "acc" | "sgn">({
    where: "everyOp",
    counts: true,
    hypers: { lr: 0.01, k: 0.9 },
    slots: { acc: 0, sgn: 0 },
    math: ({ g, p, count, hypers: { lr, k }, slots: { acc, sgn } }) =>
    (
      _name,
      shape,
    ) => {
      const m0 = mean(g, shape.length === 0 ? [] : [0]);
      const norm = sqrt(sumAll(square(g)));
      const x = select(gt(abs(g), norm), {
        then: sign(g),
        otherwise: max(min(g, 2), -2),
      });
      const y = div(sub(x, m0), add(pow(abs(p), 0.5), 1));
      // a step count (a tensor) squared twice on the host; k^count
      const c2 = powTwo(count, 2);
      const decay = powInt(k, count);
      return {
        update: mul(
          neg(lr),
          add(
            add(y, mul(sign(g), 1e-4)),
            mul(powTwo(abs(g), 2), div(1e-3, c2)),
          ),
        ),
        slots: {
          acc: add(mul(acc, decay), mul(square(g), sub(1, decay))),
          // sign(NaN) is 0 in tfjs, NaN in Math.sign
          sgn: add(mul(sgn, 0.5), sign(g)),
        },
      };
    },
  }) as GradientTransformation<unknown>;
}

cpuTest(
  "fuse() on cpu: every op, NaN, infinities, signed zeros and means over other axes give op-by-op's numbers",
  () => {
    const cases: [string, () => GradientTransformation<unknown>][] = [
      ["every op", () => chain(everyOp(), sgd(0.1))],
      [
        "GC over the last axis, then default GC, with momentum",
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
        "GC over the first two axes of a conv kernel, clipByGlobalNorm",
        () =>
          chain(
            centralize({
              axes: (_, shape) => shape.length === 4 ? [0, 1] : null,
            }),
            clipByGlobalNorm(1),
            adam(0.05),
          ),
      ],
      ["adamw + GC", () => adamw(0.05, { gc: true })],
    ];
    const shapes = { ...SHAPES, scalar: [], vector: [7] };
    for (const [name, make] of cases) {
      // finite gradients first: a NaN spreads through global norms
      const clean = sideBySide(make, 12, { shapes });
      assert.deepEqual(clean.fused, clean.plain, name);
      const { plain, fused } = sideBySide(make, 9, {
        grads: hostileGrads,
        shapes,
      });
      assert.deepEqual(fused, plain, `${name}, hostile`);
      // the hostile steps did reach the weights
      assert.ok(plain.flat().some((v) => !Number.isFinite(v)), name);
      // by default: NaN and infinities where op by op has them, the finite
      // numbers to float32 rounding, while no intermediate leaves float32's
      // range (3e38 squared does: see the next test)
      const fast = sideBySide(make, 9, {
        grads: (vars, step) =>
          hostileGrads(vars, step, [NaN, Infinity, -Infinity, 0, -0, -1e-45]),
        shapes,
        exact: false,
      });
      const pattern = (xs: number[][]) =>
        xs.map((x) => x.map((v) => Number.isFinite(v) ? 0 : v));
      assert.deepEqual(pattern(fast.fused), pattern(fast.plain), name);
      const finite = (xs: number[][]) =>
        xs.map((x) => x.map((v) => Number.isFinite(v) ? v : 0));
      const d = normwiseDiff(finite(fast.fused), finite(fast.plain));
      assert.ok(d <= 1e-6, `${name}, hostile, by default: ${d}`);
    }
  },
);

cpuTest(
  "fuse() on cpu, by default, computes in float64 where an intermediate overflows float32: Adam's step for a gradient of 3e38",
  () => {
    const w = variables({ w: [2] }).w!;
    w.assign(tf.zeros([2]));
    const g = { [w.name]: tf.tensor1d([3e38, 1]) };
    const step = (tx: GradientTransformation<unknown>) => {
      const s = runStep(tx, g, initState(tx, { [w.name]: w }), { [w.name]: w });
      const out = Array.from(w.dataSync());
      disposeState(s);
      w.assign(tf.zeros([2]));
      return out;
    };
    const plain = step(adam(0.1));
    const exact = step(fuse(adam(0.1), { exact: true }));
    const fast = step(fuse(adam(0.1)));
    // Adam's first step is -lr·g/(|g| + eps) = -lr·sign(g) in float64;
    // op by op squares 3e38 to Infinity in float32 and steps by -lr·m̂/∞ = 0
    assert.deepEqual(plain, [0, Math.fround(-0.1)]);
    assert.deepEqual(exact, plain);
    assert.deepEqual(fast, [Math.fround(-0.1), Math.fround(-0.1)]);
    tf.dispose([w, ...Object.values(g)]);
  },
);

cpuTest(
  "fuse() on cpu runs SIMD loops and reductions by default over tensors of 4096 elements or more whose math has lanes, in agreement with op by op over 30 steps",
  () => {
    // conv: 4,608 elements in units of 32 (GC's means as lanes); dense:
    // 5,200 in units of 10 (GC's means have no lanes: the JavaScript loop;
    // without GC a flat SIMD loop); odd: 4,099, a flat SIMD loop over a
    // length that is no multiple of 4; bias: too small, JavaScript
    const shapes = {
      "conv/kernel": [3, 3, 16, 32],
      "dense/kernel": [520, 10],
      "dense/bias": [10],
      "odd/scale": [4099],
    };
    const makes: [string, () => GradientTransformation<unknown>][] = [
      ["adam", () => adam(0.01)],
      ["sgd momentum + GC", () => sgd(0.05, { momentum: 0.9, gc: true })],
      [
        "GC + AdamW + clip",
        () => chain(clipByGlobalNorm(1), adamw(0.01, { gc: true })),
      ],
    ];
    for (const [name, make] of makes) {
      const runs = cpuSimd.runs, reductions = cpuSimd.reductions;
      const { plain, fused, loops } = sideBySide(make, 30, {
        shapes,
        exact: false,
      });
      // Adam: all but the bias, every step; with GC not the dense kernel
      const simd = cpuSimd.runs - runs;
      const want = name === "adam" ? 3 * 30 : 2 * 30;
      assert.equal(simd, want, `${name}: SIMD loops`);
      // reductions over the arenas of the tensors with SIMD loops: GC's
      // means of the conv kernel; with clipping, its part of the norm in
      // the same pass, and the odd tensor's (its last 3 elements masked)
      const summed = cpuSimd.reductions - reductions;
      const wantSums = { adam: 0, "sgd momentum + GC": 30 }[name] ?? 2 * 30;
      assert.equal(summed, wantSums, `${name}: SIMD reductions`);
      assert.ok(loops.every((n) => n > 0), name);
      const d = normwiseDiff(fused, plain);
      assert.ok(d <= 1e-5, `${name}: ${d}`);
    }
  },
);

cpuTest(
  "fuse() on cpu: a SIMD loop computes in float32, as op by op: Adam's step for a gradient of 3e38",
  () => {
    const min = cpuReuse.arenaMin;
    cpuReuse.arenaMin = 0;
    try {
      const w = variables({ w: [4] }).w!;
      w.assign(tf.zeros([4]));
      const g = { [w.name]: tf.tensor1d([3e38, 1, -1, 0]) };
      const step = (tx: GradientTransformation<unknown>) => {
        const s = runStep(tx, g, initState(tx, { [w.name]: w }), {
          [w.name]: w,
        });
        const out = Array.from(w.dataSync());
        disposeState(s);
        w.assign(tf.zeros([4]));
        return out;
      };
      const runs = cpuSimd.runs;
      const plain = step(adam(0.1));
      const fast = step(fuse(adam(0.1)));
      assert.equal(cpuSimd.runs, runs + 1);
      // float32 squares 3e38 to Infinity: -lr·m̂/∞ = 0, as op by op; the
      // JavaScript loop (float64) would step by -lr
      assert.deepEqual(plain, [0, Math.fround(-0.1), Math.fround(0.1), 0]);
      assert.deepEqual(fast, plain);
      tf.dispose([w, ...Object.values(g)]);
    } finally {
      cpuReuse.arenaMin = min;
    }
  },
);

/** A second name for the cpu backend, with cpu's kernels: a backend without a generator. */
function plainBackend(name: string): void {
  if (tf.findBackend(name) !== null) return;
  const cpu = tf.findBackend("cpu")!;
  const Backend = cpu.constructor as new () => tf.KernelBackend;
  for (const k of tf.getKernelsForBackend("cpu")) {
    tf.registerKernel({ ...k, backendName: name });
  }
  tf.registerBackend(name, () => new Backend());
}

cpuTest(
  "fuse() runs op by op on a backend with no generator, and a generator registered for it plugs in",
  async () => {
    const name = "centra-test-plain";
    plainBackend(name);
    assert.equal(generatorFor(name), undefined);
    const make = () => chain(clipByGlobalNorm(1), adamw(0.05, { gc: true }));
    // the reference: op by op on cpu
    const want = sideBySide(make, 6).plain;
    await tf.setBackend(name);
    try {
      const plain = sideBySide(make, 6);
      assert.deepEqual(plain.loops, [], "no generator, no kernels");
      // op by op on both sides (this backend's op-by-op numbers: not "cpu",
      // so `evaluate` takes tf.mean for GC, not cpu's faster mean)
      assert.deepEqual(plain.fused, plain.plain);
      // a third backend's generator (here the cpu one, counted)
      const calls: number[] = [];
      const cpu = generatorFor("cpu")!;
      registerGenerator(name, {
        name: "counted cpu",
        run(outputs, context) {
          calls.push(outputs.size);
          return cpu.run(outputs, context);
        },
      });
      const fused = sideBySide(make, 6);
      assert.deepEqual(calls, [4, 4, 4, 4, 4, 4]);
      // per tensor: its part of the global norm and its loop; per
      // centralized one, its mean
      assert.ok(fused.loops.every((n) => n === 4 * 2 + 3), `${fused.loops}`);
      // the cpu generator computes as op by op does on "cpu"
      assert.deepEqual(fused.fused, want);
    } finally {
      await tf.setBackend("cpu");
    }
  },
);

Deno.test("fuse() refuses bad options by name, before building anything", () => {
  const tx = adam(0.1);
  assert.throws(
    () => fuse(tx, { exakt: true } as never),
    (e: unknown) =>
      e instanceof TypeError && /fuse: unknown option "exakt"/.test(e.message),
  );
  assert.throws(
    () => fuse(tx, { exact: "yes" } as never),
    (e: unknown) =>
      e instanceof TypeError && /fuse: exact must be .*got yes/.test(e.message),
  );
  assert.throws(
    () => fuse(tx, { onDispatches: 3 } as never),
    (e: unknown) =>
      e instanceof TypeError && /fuse: onDispatches must be/.test(e.message),
  );
  assert.throws(() => fuse(tx, null as never), TypeError);
});
