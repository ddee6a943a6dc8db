// The table of optimizers the test suites of every package loop over (as
// optax's alias tests do): one row per optimizer of @centra/chain's
// OPTIMIZERS, with its float64 reference step and the settings each suite
// runs it with. A new optimizer adds its row here; the type makes the row
// required. This file loads in a browser (web/checks.ts reads it).
import * as tf from "@tensorflow/tfjs";
import {
  cosineDecaySchedule,
  exponentialDecaySchedule,
  type GradientTransformation,
  type OptimizerName,
  OPTIMIZERS,
  type Schedule,
  warmupCosineDecaySchedule,
} from "@centra/chain";
import {
  adagradRef,
  adamRef,
  gc64,
  gcApplies,
  type Lr64,
  type RefFactory,
  rmspropRef,
  sgdRef,
  zerosFor,
} from "./reference64.ts";
import { adamaxRow } from "./rows/adamax.ts";
import { adadeltaRow } from "./rows/adadelta.ts";
import { amsgradRow } from "./rows/amsgrad.ts";
import { nadamwRow } from "./rows/nadamw.ts";
import { yogiRow } from "./rows/yogi.ts";
import { adabeliefRow } from "./rows/adabelief.ts";
import { radamRow } from "./rows/radam.ts";

/** Options as an optimizer takes them (or their JSON form). */
export type Options = Record<string, unknown>;

/** A learning rate: a number, or a schedule with its closed form for the reference. */
export type RefLr = number | {
  schedule: () => Schedule;
  /** The learning rate after `count` finished steps, in float64. */
  at: (count: number) => number;
};

/** A reference-suite case: the chain against the row's float64 reference over 30 steps. */
export interface RefCase {
  /** The test name. */
  name: string;
  /** Seeds the weights and gradients. */
  seed: number;
  lr: RefLr;
  options: Options;
}

/** One run of the conformance problems. */
export interface Setting {
  lr: number | Schedule;
  steps: number;
}

/** How GC constrains the column means of W, for the conformance assertions. */
export type MeanRule =
  /** Frozen exactly (Theorem 4.1, or P as the last non-linear step). */
  | "frozen"
  /** Decoupled decay λ: the momentum part is zero-mean, so mean0 (1 - lr λ)^t. */
  | { decay: number }
  /** Elementwise adaptive scaling after P: no invariant for fan-in > 2. */
  | "drifts";

/** A conformance-suite case (quadratic and Rosenbrock, without and with GC). */
export interface ConformanceCase {
  /** The optimizer as the test names it. */
  name: string;
  /** Options besides `gc`. */
  options: Options;
  /** The quadratic's mean rule under GC (fan-in 4). */
  quadraticMeans: MeanRule;
  /** Rosenbrock's mean rule under GC (fan-in 2: adaptive rows are frozen too). */
  rosenbrockMeans: MeanRule;
  /** Why the means are frozen under GC, for the test name. */
  frozenBecause?: string;
  /** Which GC settings to run (default both). */
  gcValues?: readonly boolean[];
  /** Settings without GC (`off`, absent when `gcValues` excludes false) and with. */
  quadratic: { off?: Setting; on: Setting };
  rosenbrock: { off?: Setting; on: Setting };
}

/** A case against tfjs's own optimizer (GC off). */
export interface TfjsCase {
  name: string;
  lr: number;
  options: Options;
  theirs: (lr: number) => tf.Optimizer;
  rtol?: number;
}

/** A labelled setting, for the suites that compare two ways of running it. */
export interface Variant {
  label: string;
  lr: number;
  /** Options; the fused suites add `gc` themselves. */
  options: Options;
}

/** A call that must throw a RangeError whose message matches. */
export interface ErrorCase {
  lr: number;
  options?: Options;
  message: RegExp;
}

/** The numeric options (a valid value and the documented range) and boolean options. */
export interface HostileRanges {
  numbers: Record<string, { ok: number; min: number; max: number }>;
  booleans: string[];
}

/** Everything the suites know about one optimizer. */
export interface OptimizerRow {
  /**
   * The float64 reference step for a learning rate and the options the
   * optimizer is called with (documented defaults filled in here).
   */
  reference: (lr: Lr64, options: Options) => RefFactory;
  /** reference_test.ts: against `reference` over 30 steps, every backend. */
  referenceCases: RefCase[];
  /** conformance_test.ts: quadratic and Rosenbrock, GC invariants. */
  conformance: ConformanceCase[];
  /** optimizers_test.ts: against tfjs's own optimizer (none when tfjs has none). */
  tfjs: TfjsCase[];
  /** webgpu fuse_test.ts and web/checks.ts: fused against op by op, without and with GC. */
  fused: Variant[];
  /** webgpu agreement_test.ts: cpu, webgpu and fused agree over 100 steps. */
  agreement: Variant[];
  /** chain boundaries_test.ts: tensors with no elements. */
  boundaries: Variant[];
  /** tfjs register_chain_test.ts: built from its JSON form by name. */
  json: Options[];
  /** tfjs resume_test.ts: saved and restored at every step, bit for bit. */
  resume: Options[];
  /** chain errors_test.ts: bad hyperparameters, a RangeError naming them. */
  errors: ErrorCase[];
  /** tests/hostile_input_test.ts: the ranges fast-check probes. */
  hostile: HostileRanges;
}

/** Builds optimizer `name` of @centra/chain's table. */
export function makeOptimizer(
  name: OptimizerName,
  lr: number | Schedule | tf.Scalar,
  options: Options = {},
): GradientTransformation<unknown> {
  return OPTIMIZERS[name].make(lr, options);
}

/** The learning rate a `RefLr` gives the chain and the reference. */
export function refLr(lr: RefLr): [number | Schedule, Lr64] {
  return typeof lr === "number" ? [lr, lr] : [lr.schedule(), lr.at];
}

const gcOf = (o: Options) => (o.gc ?? false) as boolean | "conv";
const num = (o: Options, k: string) => o[k] as number | undefined;

const QUAD_STEPS = 300;
/** The same quadratic setting with and without GC. */
const quadBoth = (lr: number) => ({
  off: { lr, steps: QUAD_STEPS },
  on: { lr, steps: QUAD_STEPS },
});
const WD = 1e-4; // decoupled decay of the sgdw and adamw rows (optax default)

const sgdRow: OptimizerRow = {
  // PyTorch SGD; weightDecay is L2, added to the gradient before GC
  reference: (lr, o) =>
    sgdRef({
      lr,
      ...(o.momentum === undefined ? {} : { momentum: num(o, "momentum")! }),
      nesterov: o.nesterov === true,
      ...(o.weightDecay === undefined ? {} : { l2: num(o, "weightDecay")! }),
      gc: gcOf(o),
    }),
  referenceCases: [
    {
      name: "sgd() with GC matches a float64 SGD + GC reference over 30 steps",
      seed: 13,
      lr: 0.05,
      options: { gc: true },
    },
    {
      name: "sgd() without GC matches a float64 SGD reference over 30 steps",
      seed: 14,
      lr: 0.05,
      options: {},
    },
    {
      name:
        "sgd({ momentum }) with GC matches a float64 SGDM + GC reference (m = βm + Pg) over 30 steps",
      seed: 15,
      lr: 0.02,
      options: { momentum: 0.9, gc: true },
    },
    {
      name:
        "sgd({ momentum, weightDecay }) with GC centralizes g + λw (paper 3.4) and matches a float64 reference over 30 steps",
      seed: 16,
      lr: 0.02,
      options: { momentum: 0.9, weightDecay: 0.05, gc: true },
    },
    {
      name:
        "sgd({ momentum, nesterov, weightDecay }) with GC matches a float64 Nesterov reference over 30 steps",
      seed: 17,
      lr: 0.02,
      options: { momentum: 0.8, nesterov: true, weightDecay: 0.05, gc: true },
    },
    {
      name:
        'sgd({ momentum, gc: "conv" }) centralizes only rank >= 3 kernels and matches a float64 reference over 30 steps',
      seed: 18,
      lr: 0.02,
      options: { momentum: 0.9, gc: "conv" },
    },
    {
      name:
        "sgd() with a cosine-decay learning rate schedule and GC matches a float64 reference over 30 steps",
      seed: 19,
      lr: {
        schedule: () =>
          cosineDecaySchedule(0.1, { decaySteps: 20, alpha: 0.1 }),
        at: (c) =>
          0.1 *
          (0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(c, 20) / 20)) + 0.1),
      },
      options: { momentum: 0.5, gc: true },
    },
  ],
  // Achieved values (cpu): quadratic final/initial loss (off) and excess over
  // the subspace minimum (on); Rosenbrock worst distance to (1, 1) (off / on).
  conformance: [
    {
      // quad 3e-14 / 2e-14; rosen 2e-2 / 6e-7
      name: "sgd()",
      frozenBecause: "Theorem 4.1",
      options: {},
      quadraticMeans: "frozen",
      rosenbrockMeans: "frozen",
      quadratic: quadBoth(0.3),
      rosenbrock: {
        off: { lr: 0.0019, steps: 5000 },
        on: { lr: 0.001, steps: 300 },
      },
    },
    {
      // quad 2e-14 / 2e-14; rosen 3e-3 / 2e-6
      name: "sgd({ momentum: 0.9 })",
      frozenBecause: "Theorem 4.1",
      options: { momentum: 0.9 },
      quadraticMeans: "frozen",
      rosenbrockMeans: "frozen",
      quadratic: quadBoth(0.1),
      rosenbrock: {
        off: { lr: 0.001, steps: 1500 },
        on: { lr: 0.001, steps: 300 },
      },
    },
    {
      // quad 0 / 0; rosen 2e-3 / 1e-7
      name: "sgd({ momentum: 0.9, nesterov: true })",
      frozenBecause: "Theorem 4.1",
      options: { momentum: 0.9, nesterov: true },
      quadraticMeans: "frozen",
      rosenbrockMeans: "frozen",
      quadratic: quadBoth(0.1),
      rosenbrock: {
        off: { lr: 0.001, steps: 1500 },
        on: { lr: 0.001, steps: 300 },
      },
    },
  ],
  tfjs: [
    {
      name: "sgd() matches tf.train.sgd",
      lr: 0.01,
      options: {},
      theirs: (lr) => tf.train.sgd(lr),
    },
    {
      name: "sgd({ momentum }) matches tf.train.momentum",
      lr: 0.01,
      options: { momentum: 0.9 },
      theirs: (lr) => tf.train.momentum(lr, 0.9),
    },
    {
      name:
        "sgd({ momentum, nesterov }) matches tf.train.momentum with useNesterov",
      lr: 0.01,
      options: { momentum: 0.9, nesterov: true },
      theirs: (lr) => tf.train.momentum(lr, 0.9, true),
    },
  ],
  fused: [
    { label: "sgd", lr: 0.05, options: {} },
    {
      label: "sgd nesterov + L2",
      lr: 0.05,
      options: { momentum: 0.9, nesterov: true, weightDecay: 1e-2 },
    },
  ],
  agreement: [
    { label: "sgd", lr: 0.05, options: {} },
    {
      label: "sgd momentum nesterov + L2",
      lr: 0.05,
      options: { momentum: 0.9, nesterov: true, weightDecay: 1e-2 },
    },
  ],
  boundaries: [
    { label: "sgd", lr: 0.1, options: {} },
    { label: "sgd momentum gc", lr: 0.1, options: { momentum: 0.9, gc: true } },
  ],
  json: [{
    learningRate: 0.1,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 1e-4,
    gc: true,
  }],
  resume: [{ learningRate: 0.1, momentum: 0.9, nesterov: true, gc: true }],
  errors: [
    { lr: -0.1, message: /learningRate must be in \[0, Infinity\], got -0.1/ },
    { lr: NaN, message: /learningRate must be finite, got NaN/ },
    {
      lr: 0.1,
      options: { momentum: 1.5 },
      message: /momentum must be in \[0, 1\], got 1.5/,
    },
    {
      lr: 0.1,
      options: { nesterov: true },
      message: /nesterov needs momentum > 0/,
    },
  ],
  hostile: {
    numbers: {
      momentum: { ok: 0.9, min: 0, max: 1 },
      weightDecay: { ok: 1e-4, min: 0, max: Infinity },
    },
    booleans: ["nesterov", "gc"],
  },
};

const sgdwRow: OptimizerRow = {
  // SGD with decoupled decay λ (default 1e-4), GC on the raw gradient
  reference: (lr, o) =>
    sgdRef({
      lr,
      ...(o.momentum === undefined ? {} : { momentum: num(o, "momentum")! }),
      nesterov: o.nesterov === true,
      decoupled: num(o, "weightDecay") ?? 1e-4,
      gc: gcOf(o),
    }),
  referenceCases: [
    {
      name:
        "sgdw({ momentum, weightDecay }) with GC centralizes the raw gradient and matches a float64 SGDW reference over 30 steps",
      seed: 20,
      lr: 0.02,
      options: { momentum: 0.9, weightDecay: 0.5, gc: true },
    },
  ],
  conformance: [
    {
      // quad 2e-10 / 2e-10; rosen 3e-3 / 5e-5
      name: `sgdw({ momentum: 0.9, weightDecay: ${WD} })`,
      options: { momentum: 0.9, weightDecay: WD },
      quadraticMeans: { decay: WD },
      rosenbrockMeans: { decay: WD },
      quadratic: quadBoth(0.1),
      rosenbrock: {
        off: { lr: 0.001, steps: 1500 },
        on: { lr: 0.001, steps: 300 },
      },
    },
  ],
  // tfjs has no SGDW
  tfjs: [],
  fused: [{
    label: "sgdw",
    lr: 0.05,
    options: { momentum: 0.9, weightDecay: 1e-2 },
  }],
  agreement: [{
    label: "sgdw",
    lr: 0.05,
    options: { momentum: 0.9, weightDecay: 1e-2 },
  }],
  boundaries: [{
    label: "sgdw gc",
    lr: 0.1,
    options: { momentum: 0.9, weightDecay: 1e-2, gc: true },
  }],
  json: [{
    learningRate: 0.1,
    momentum: 0.9,
    weightDecay: 1e-4,
    gc: "conv",
  }],
  resume: [{ learningRate: 0.1, momentum: 0.5, weightDecay: 0.01 }],
  errors: [{
    lr: 0.1,
    options: { weightDecay: -1 },
    message: /weightDecay must be in \[0, Infinity\], got -1/,
  }],
  hostile: {
    numbers: {
      momentum: { ok: 0.9, min: 0, max: 1 },
      weightDecay: { ok: 1e-4, min: 0, max: Infinity },
    },
    booleans: ["nesterov", "gc"],
  },
};

/** Adam's reference options from an optimizer's (eps defaults to 1e-8). */
function adamRefOptions(o: Options) {
  return {
    ...(o.b1 === undefined ? {} : { b1: num(o, "b1")! }),
    ...(o.b2 === undefined ? {} : { b2: num(o, "b2")! }),
    eps: num(o, "eps") ?? 1e-8,
    ...(o.epsRoot === undefined ? {} : { epsRoot: num(o, "epsRoot")! }),
    amsgrad: o.amsgrad === true,
    gc: gcOf(o),
    gcOn: (o.gcOn ?? "gradient") as "gradient" | "update",
  };
}

const adamRow: OptimizerRow = {
  // Kingma and Ba with bias correction; weightDecay is L2 before GC
  reference: (lr, o) =>
    adamRef({
      lr,
      ...adamRefOptions(o),
      ...(o.weightDecay === undefined ? {} : { l2: num(o, "weightDecay")! }),
    }),
  referenceCases: [
    {
      name:
        "adam() with GC matches paper Algorithm 2 (bias-corrected Adam on Pg) in float64 over 30 steps",
      seed: 21,
      lr: 0.01,
      options: { gc: true, eps: 1e-7 },
    },
    {
      name:
        "adam() without GC matches a float64 Kingma-Ba Adam reference over 30 steps",
      seed: 22,
      lr: 0.01,
      options: { b1: 0.8, b2: 0.99, eps: 1e-8 },
    },
    {
      name:
        "adam({ amsgrad }) with GC matches a float64 AMSGrad reference (PyTorch form: max of v, then bias-corrected) over 30 steps",
      seed: 23,
      lr: 0.01,
      // b2 0.9 so that v actually falls below its running maximum in 30 steps
      options: { amsgrad: true, b2: 0.9, gc: true, eps: 1e-7 },
    },
    {
      name:
        "adam({ epsRoot }) with GC adds epsRoot inside the square root, matching a float64 reference over 30 steps",
      seed: 24,
      lr: 0.01,
      options: { epsRoot: 0.5, eps: 1e-3, gc: true },
    },
    {
      name:
        'adam({ gc: true, gcOn: "update" }) centralizes Adam\'s scaled update and matches a float64 reference over 30 steps',
      seed: 25,
      lr: 0.01,
      options: { gc: true, gcOn: "update", eps: 1e-7 },
    },
    {
      name:
        "adam({ weightDecay }) with GC centralizes g + λw (L2) and matches a float64 reference over 30 steps",
      seed: 26,
      lr: 0.01,
      options: { weightDecay: 0.1, gc: true, eps: 1e-7 },
    },
    {
      name:
        "adam() with a warmup-cosine learning rate schedule and GC matches a float64 reference over 30 steps",
      seed: 27,
      lr: {
        schedule: () =>
          warmupCosineDecaySchedule({
            initValue: 0,
            peakValue: 0.02,
            warmupSteps: 5,
            decaySteps: 25,
            endValue: 0.001,
          }),
        at: (c) =>
          c < 5 ? 0.02 * c / 5 : 0.001 +
            (0.02 - 0.001) * 0.5 *
              (1 + Math.cos(Math.PI * Math.min(c - 5, 20) / 20)),
      },
      options: { gc: true, eps: 1e-7 },
    },
  ],
  conformance: [
    {
      // quad 2e-14 / 1e-9 (plain loss ratio only 4e-2: means drift by 0.25);
      // rosen 1e-3 / 8e-7
      name: "adam()",
      options: {},
      quadraticMeans: "drifts",
      rosenbrockMeans: "frozen",
      quadratic: quadBoth(0.1),
      rosenbrock: {
        off: { lr: 0.1, steps: 3000 },
        on: { lr: 0.03, steps: 300 },
      },
    },
    {
      // GC on Adam's update: quad 3e-14; rosen 2e-6 (slow: the normalized update of
      // the raw gradient is nearly constant per column, so P leaves little of it)
      name: 'adam({ gcOn: "update" })',
      frozenBecause: "P is its last non-linear step",
      options: { gcOn: "update" },
      gcValues: [true], // without GC this is adam()
      quadraticMeans: "frozen",
      rosenbrockMeans: "frozen",
      quadratic: { on: { lr: 0.1, steps: QUAD_STEPS } },
      rosenbrock: { on: { lr: 0.1, steps: 2000 } },
    },
  ],
  tfjs: [{
    name: "adam({ eps: 1e-7 }) matches tf.train.adam",
    lr: 0.01,
    options: { eps: 1e-7 },
    theirs: (lr) => tf.train.adam(lr, 0.9, 0.999, 1e-7),
  }],
  fused: [
    { label: "adam", lr: 0.05, options: {} },
    {
      label: "adam amsgrad + L2",
      lr: 0.05,
      options: { amsgrad: true, weightDecay: 1e-2 },
    },
  ],
  agreement: [
    { label: "adam", lr: 0.01, options: {} },
    { label: "adam amsgrad", lr: 0.01, options: { amsgrad: true } },
  ],
  boundaries: [{ label: "adam gc", lr: 0.1, options: { gc: true } }],
  json: [
    {
      learningRate: 1e-3,
      b1: 0.8,
      b2: 0.99,
      eps: 1e-7,
      amsgrad: true,
      gc: true,
    },
    { learningRate: 1e-3, gc: true, gcOn: "update" },
  ],
  resume: [{ learningRate: 0.01, amsgrad: true, weightDecay: 0.01 }],
  errors: [
    { lr: Infinity, message: /learningRate must be finite, got Infinity/ },
    { lr: 0.1, options: { b1: 1 }, message: /b1 must be in \[0, 1\), got 1/ },
    {
      lr: 0.1,
      options: { eps: -1e-8 },
      message: /eps must be in \[0, Infinity\], got -1e-8/,
    },
  ],
  hostile: {
    numbers: {
      b1: { ok: 0.9, min: 0, max: 1 },
      b2: { ok: 0.999, min: 0, max: 1 },
      eps: { ok: 1e-8, min: 0, max: Infinity },
    },
    booleans: ["amsgrad", "gc"],
  },
};

const adamwRow: OptimizerRow = {
  // AdamW: decoupled decay λ (default 1e-4), GC on the raw gradient
  reference: (lr, o) =>
    adamRef({
      lr,
      ...adamRefOptions(o),
      decoupled: num(o, "weightDecay") ?? 1e-4,
    }),
  referenceCases: [{
    name:
      "adamw() with GC matches a float64 AdamW reference (w -= lr (m̂/(√v̂+ε) + λw), GC on the raw gradient) over 30 steps",
    seed: 28,
    lr: 0.01,
    options: { weightDecay: 0.5, gc: true, eps: 1e-7 },
  }],
  conformance: [{
    // quad 4e-10 / 1e-9; rosen 5e-3 / 5e-4
    name: `adamw({ weightDecay: ${WD} })`,
    options: { weightDecay: WD },
    quadraticMeans: "drifts",
    rosenbrockMeans: { decay: WD },
    quadratic: quadBoth(0.1),
    rosenbrock: { off: { lr: 0.1, steps: 3000 }, on: { lr: 0.01, steps: 300 } },
  }],
  // tfjs has no AdamW
  tfjs: [],
  fused: [{ label: "adamw", lr: 0.05, options: { weightDecay: 1e-2 } }],
  agreement: [{ label: "adamw", lr: 0.01, options: { weightDecay: 1e-2 } }],
  boundaries: [{
    label: "adamw gc on update",
    lr: 0.1,
    options: { gc: true, gcOn: "update" },
  }],
  json: [{ learningRate: 1e-3, weightDecay: 0.01 }],
  resume: [{
    // injectHyperparams's count and a schedule of it
    learningRate: {
      schedule: "warmupCosineDecay",
      initValue: 0,
      peakValue: 0.1,
      warmupSteps: 2,
      decaySteps: 6,
    },
    weightDecay: 0.01,
  }],
  errors: [{
    lr: 0.1,
    options: { b2: NaN },
    message: /b2 must be finite, got NaN/,
  }],
  hostile: {
    numbers: {
      b1: { ok: 0.9, min: 0, max: 1 },
      b2: { ok: 0.999, min: 0, max: 1 },
      eps: { ok: 1e-8, min: 0, max: Infinity },
      weightDecay: { ok: 1e-4, min: 0, max: Infinity },
    },
    booleans: ["amsgrad", "gc"],
  },
};

const adagradRow: OptimizerRow = {
  // tfjs's Adagrad: accumulator from 0.1, eps 1e-7 inside the square root
  reference: (lr, o) =>
    adagradRef(
      lr,
      num(o, "initialAccumulatorValue") ?? 0.1,
      num(o, "eps") ?? 1e-7,
      gcOf(o),
    ),
  referenceCases: [
    {
      name:
        "adagrad() with GC matches a float64 tfjs-style Adagrad (0.1 start, eps inside sqrt) over 30 steps",
      seed: 29,
      lr: 0.05,
      options: { gc: true },
    },
    {
      name:
        "adagrad() without GC matches a float64 Adagrad reference with a zero start over 30 steps",
      seed: 30,
      lr: 0.05,
      options: { initialAccumulatorValue: 0, eps: 1e-7 },
    },
  ],
  conformance: [{
    // quad 8e-15 / 0; rosen 2e-2 / 6e-7 (the huge first gradients fill the
    // accumulator, so plain Adagrad needs lr 1 and many steps)
    name: "adagrad()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: quadBoth(1),
    rosenbrock: { off: { lr: 1, steps: 6000 }, on: { lr: 0.1, steps: 300 } },
  }],
  tfjs: [{
    name: "adagrad() matches tf.train.adagrad (0.1 start, eps 1e-7)",
    lr: 0.01,
    options: {},
    theirs: (lr) => tf.train.adagrad(lr),
  }],
  fused: [{ label: "adagrad", lr: 0.1, options: {} }],
  agreement: [{ label: "adagrad", lr: 0.1, options: {} }],
  boundaries: [{ label: "adagrad", lr: 0.1, options: {} }],
  json: [{ learningRate: 0.1, initialAccumulatorValue: 0.2, eps: 1e-7 }],
  resume: [{ learningRate: 0.1 }],
  errors: [{
    lr: 0.1,
    options: { initialAccumulatorValue: -1 },
    message: /initialAccumulatorValue must be in/,
  }],
  hostile: {
    numbers: { eps: { ok: 1e-7, min: 0, max: Infinity } },
    booleans: ["gc"],
  },
};

const rmspropRow: OptimizerRow = {
  // tfjs's RMSProp: the learning rate before momentum; decay 0.9, eps 1e-8
  reference: (lr, o) =>
    rmspropRef({
      lr,
      decay: num(o, "decay") ?? 0.9,
      eps: num(o, "eps") ?? 1e-8,
      centered: o.centered === true,
      ...(o.momentum === undefined ? {} : { momentum: num(o, "momentum")! }),
      gc: gcOf(o),
    }),
  referenceCases: [
    {
      name:
        "rmsprop() with GC matches a float64 tfjs-style RMSProp reference over 30 steps",
      seed: 31,
      lr: 0.005,
      options: { decay: 0.9, eps: 1e-7, gc: true },
    },
    {
      name:
        "rmsprop({ centered }) with GC matches a float64 centred RMSProp reference over 30 steps",
      seed: 32,
      lr: 0.005,
      options: { decay: 0.9, eps: 1e-7, centered: true, gc: true },
    },
    {
      name:
        "rmsprop({ momentum }) with GC applies momentum after the learning rate (tfjs) and matches a float64 reference over 30 steps",
      seed: 33,
      lr: 0.005,
      options: { decay: 0.9, eps: 1e-7, momentum: 0.9, gc: true },
    },
    {
      name:
        "rmsprop({ centered, momentum }) without GC matches a float64 reference over 30 steps",
      seed: 34,
      lr: 0.005,
      options: { decay: 0.8, eps: 1e-7, centered: true, momentum: 0.5 },
    },
  ],
  // Constant-lr RMSProp hovers at an lr-sized limit cycle, so its plain rows
  // use a decaying schedule.
  conformance: [
    {
      // quad 0 / 3e-9; rosen 1e-2 / 7e-3
      name: "rmsprop()",
      options: {},
      quadraticMeans: "drifts",
      rosenbrockMeans: "frozen",
      quadratic: {
        off: {
          lr: cosineDecaySchedule(0.1, { decaySteps: QUAD_STEPS }),
          steps: QUAD_STEPS,
        },
        on: {
          lr: cosineDecaySchedule(0.1, { decaySteps: QUAD_STEPS }),
          steps: QUAD_STEPS,
        },
      },
      rosenbrock: {
        off: {
          lr: exponentialDecaySchedule(0.02, {
            transitionSteps: 4000,
            decayRate: 0.05,
          }),
          steps: 4000,
        },
        on: { lr: 0.01, steps: 300 },
      },
    },
    {
      // quad 1e-5 / 9e-6; rosen 2e-4 / 2e-4
      name: "rmsprop({ momentum: 0.9 })",
      options: { momentum: 0.9 },
      quadraticMeans: "drifts",
      rosenbrockMeans: "frozen",
      quadratic: quadBoth(0.01),
      rosenbrock: {
        off: { lr: 0.001, steps: 1500 },
        on: { lr: 0.001, steps: 300 },
      },
    },
  ],
  tfjs: [
    {
      name: "rmsprop({ eps: 1e-7 }) matches tf.train.rmsprop",
      lr: 0.01,
      options: { eps: 1e-7 },
      theirs: (lr) => tf.train.rmsprop(lr, 0.9, 0, 1e-7),
    },
    {
      // tfjs 4.22's centred RMSProp takes sqrt(v - m² - eps) (a sign slip that
      // gives NaN once the variance falls below eps); centra follows PyTorch
      // and optax, sqrt(v - m² + eps). With eps = 0 the two agree.
      name:
        "rmsprop({ momentum, centered }) matches tf.train.rmsprop centered with momentum (eps 0)",
      lr: 0.01,
      options: { eps: 0, momentum: 0.5, centered: true },
      theirs: (lr) => tf.train.rmsprop(lr, 0.9, 0.5, 0, true),
    },
  ],
  fused: [
    { label: "rmsprop", lr: 0.01, options: {} },
    {
      label: "rmsprop centered + momentum",
      lr: 0.01,
      options: { centered: true, momentum: 0.9 },
    },
  ],
  agreement: [
    { label: "rmsprop", lr: 0.01, options: {} },
    {
      label: "rmsprop centered momentum",
      lr: 0.01,
      options: { centered: true, momentum: 0.9 },
    },
  ],
  boundaries: [{
    label: "rmsprop centered",
    lr: 0.1,
    options: { centered: true },
  }],
  json: [{ learningRate: 0.01, decay: 0.95, centered: true, momentum: 0.5 }],
  resume: [{ learningRate: 0.01, centered: true, momentum: 0.5 }],
  errors: [{
    lr: 0.1,
    options: { decay: 2 },
    message: /decay must be in \[0, 1\], got 2/,
  }],
  hostile: {
    numbers: {
      decay: { ok: 0.9, min: 0, max: 1 },
      momentum: { ok: 0.9, min: 0, max: 1 },
      eps: { ok: 1e-7, min: 0, max: Infinity },
    },
    booleans: ["centered", "gc"],
  },
};

const nadamRow: OptimizerRow = {
  // Dozat 2016 in optax's form (scale_by_adam(nesterov=True)), written here
  // from the documented rule: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g²,
  // m̂ = b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t), v̂ = v / (1 - b2^t),
  // w = w - lr m̂ / (sqrt(v̂ + epsRoot) + eps); GC on g or on the update
  reference: (lr, o) => (shapes) => {
    const b1 = num(o, "b1") ?? 0.9, b2 = num(o, "b2") ?? 0.999;
    const eps = num(o, "eps") ?? 1e-8, epsRoot = num(o, "epsRoot") ?? 0;
    const onUpdate = o.gcOn === "update";
    const m = zerosFor(shapes), v = zerosFor(shapes);
    return (w, grads, t) => {
      const rate = typeof lr === "number" ? lr : lr(t - 1);
      shapes.forEach((shape, k) => {
        const gcHere = gcApplies(gcOf(o), shape);
        const g = gcHere && !onUpdate ? gc64(grads[k]!, shape) : grads[k]!;
        const mk = m[k]!, vk = v[k]!, wk = w[k]!;
        let d: Float64Array = new Float64Array(g.length);
        for (let i = 0; i < g.length; i++) {
          mk[i] = b1 * mk[i]! + (1 - b1) * g[i]!;
          vk[i] = b2 * vk[i]! + (1 - b2) * g[i]! * g[i]!;
          const mHat = b1 * mk[i]! / (1 - Math.pow(b1, t + 1)) +
            (1 - b1) * g[i]! / (1 - Math.pow(b1, t));
          const vHat = vk[i]! / (1 - Math.pow(b2, t));
          d[i] = mHat / (Math.sqrt(vHat + epsRoot) + eps);
        }
        if (gcHere && onUpdate) d = gc64(d, shape);
        for (let i = 0; i < g.length; i++) wk[i] = wk[i]! - rate * d[i]!;
      });
    };
  },
  referenceCases: [
    {
      name:
        "nadam() with GC matches a float64 Nadam reference (Dozat 2016, optax's form) on Pg over 30 steps",
      seed: 35,
      lr: 0.01,
      options: { gc: true, eps: 1e-7 },
    },
    {
      name:
        "nadam() without GC matches a float64 Nadam reference over 30 steps",
      seed: 36,
      lr: 0.01,
      options: { b1: 0.8, b2: 0.99 },
    },
    {
      name:
        'nadam({ gc: true, gcOn: "update", epsRoot }) centralizes the scaled update and matches a float64 reference over 30 steps',
      seed: 37,
      lr: 0.01,
      options: { gc: true, gcOn: "update", epsRoot: 0.5, eps: 1e-3 },
    },
    {
      name:
        "nadam() with a cosine-decay learning rate schedule matches a float64 reference over 30 steps",
      seed: 38,
      lr: {
        schedule: () => cosineDecaySchedule(0.02, { decaySteps: 20 }),
        at: (c) => 0.02 * 0.5 * (1 + Math.cos(Math.PI * Math.min(c, 20) / 20)),
      },
      options: { gc: true },
    },
  ],
  conformance: [{
    name: "nadam()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: quadBoth(0.1),
    rosenbrock: {
      off: { lr: 0.1, steps: 3000 },
      on: { lr: 0.03, steps: 300 },
    },
  }],
  // tfjs has no Nadam
  tfjs: [],
  fused: [{ label: "nadam", lr: 0.05, options: {} }],
  agreement: [{ label: "nadam", lr: 0.01, options: {} }],
  boundaries: [{ label: "nadam gc", lr: 0.1, options: { gc: true } }],
  json: [{
    learningRate: 1e-3,
    b1: 0.8,
    b2: 0.99,
    eps: 1e-7,
    epsRoot: 1e-8,
    gc: true,
    gcOn: "update",
  }],
  resume: [{ learningRate: 0.01, b1: 0.8, gc: true }],
  errors: [
    { lr: -1, message: /learningRate must be in \[0, Infinity\], got -1/ },
    { lr: 0.1, options: { b1: 1 }, message: /b1 must be in \[0, 1\), got 1/ },
    {
      lr: 0.1,
      options: { epsRoot: -1 },
      message: /epsRoot must be in \[0, Infinity\], got -1/,
    },
  ],
  hostile: {
    numbers: {
      b1: { ok: 0.9, min: 0, max: 1 },
      b2: { ok: 0.999, min: 0, max: 1 },
      eps: { ok: 1e-8, min: 0, max: Infinity },
      epsRoot: { ok: 0, min: 0, max: Infinity },
    },
    booleans: ["gc"],
  },
};

/**
 * Every optimizer of @centra/chain's `OPTIMIZERS` with its test row; a
 * missing row is a type error.
 */
export const OPTIMIZER_TABLE: { readonly [N in OptimizerName]: OptimizerRow } =
  {
    sgd: sgdRow,
    sgdw: sgdwRow,
    adam: adamRow,
    adamw: adamwRow,
    adagrad: adagradRow,
    rmsprop: rmspropRow,
    nadam: nadamRow,
    adamax: adamaxRow,
    adadelta: adadeltaRow,
    amsgrad: amsgradRow,
    nadamw: nadamwRow,
    yogi: yogiRow,
    adabelief: adabeliefRow,
    radam: radamRow,
  };

/** The rows in table order, with their names. */
export const OPTIMIZER_ROWS:
  readonly (readonly [OptimizerName, OptimizerRow])[] =
    (Object.keys(OPTIMIZERS) as OptimizerName[]).map((n) =>
      [n, OPTIMIZER_TABLE[n]] as const
    );
