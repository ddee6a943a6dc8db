// The test row of `adamw`: its float64 reference and the settings each
// suite runs it with (see ../row_types.ts).
import { adamRef } from "../reference64.ts";
import type { OptimizerRow } from "../row_types.ts";
import { adamRefOptions, num, quadBoth, WD } from "./_shared.ts";

export const adamwRow: OptimizerRow = {
  // AdamW: decoupled decay λ (default 1e-4), GC on the raw gradient
  reference: (lr, o) =>
    adamRef({
      lr,
      ...adamRefOptions(o),
      decoupled: num(o, "weightDecay") ?? 1e-4,
    }),
  referenceCases: [{
    name:
      "adamw() with GC matches a float64 AdamW reference (w -= lr (m̂/(√v̂+ε) + λw), GC on the raw gradient) over 100 steps",
    seed: 28,
    lr: 0.01,
    options: { weightDecay: 0.5, gc: true, eps: 1e-7 },
  }, {
    name:
      "adamw({ b1, b2, weightDecay }) without GC matches a float64 AdamW reference over 100 steps",
    seed: 40,
    lr: 0.01,
    options: { b1: 0.8, b2: 0.99, weightDecay: 0.5 },
  }, {
    name:
      'adamw({ gc: true, gcOn: "update", weightDecay }) centralizes the scaled update, not the decay, and matches a float64 reference over 100 steps',
    seed: 41,
    lr: 0.01,
    options: { weightDecay: 0.5, gc: true, gcOn: "update" },
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
