// adamaxw's row: Adamax (Kingma and Ba 2015, arXiv:1412.6980, section 7.1,
// in optax's form: eps inside the maximum) with Loshchilov and Hutter 2019's
// decoupled decay (arXiv:1711.05101), as optax documents adamaxw, written
// here from that rule: m = b1 m + (1 - b1) g, u = max(b2 u, |g| + eps),
// w = w - lr (m / (1 - b1^t) / u + λ w), λ 1e-4 by default; GC on g or on
// the scaled update, never on λ w.
import type { OptimizerRow } from "../row_types.ts";
import { elementwiseRef, numOr } from "./_elementwise_ref.ts";
import { adamaxRule } from "./adamax.ts";
import { cosineLr } from "./_shared.ts";

export const adamaxwRow: OptimizerRow = {
  reference: (lr, o) =>
    elementwiseRef({
      lr,
      options: o,
      slots: [0, 0],
      decoupled: numOr(o, "weightDecay", 1e-4),
      rule: adamaxRule(o),
    }),
  referenceCases: [
    {
      name:
        "adamaxw({ weightDecay }) with GC matches a float64 AdamaxW reference (w -= lr (m̂/u + λw), GC on the raw gradient) over 100 steps",
      seed: 221,
      lr: 0.01,
      options: { weightDecay: 0.5, gc: true },
    },
    {
      // eps 1e-3 inside the maximum; optax's default decay 1e-4
      name:
        "adamaxw({ b1, b2, eps: 1e-3 }) without GC matches a float64 AdamaxW reference with optax's default decay 1e-4 over 100 steps",
      seed: 222,
      lr: 0.01,
      options: { b1: 0.8, b2: 0.95, eps: 1e-3 },
    },
    {
      name:
        'adamaxw({ gc: true, gcOn: "update", weightDecay }) with a cosine-decay learning rate centralizes the scaled update, not the decay, and matches a float64 reference over 100 steps',
      seed: 223,
      lr: cosineLr(0.02, 20),
      options: { gc: true, gcOn: "update", weightDecay: 0.5 },
    },
  ],
  conformance: [{
    name: "adamaxw({ weightDecay: 0.0001 })",
    options: { weightDecay: 1e-4 },
    quadraticMeans: "drifts",
    rosenbrockMeans: { decay: 1e-4 },
    quadratic: { off: { lr: 0.1, steps: 300 }, on: { lr: 0.1, steps: 300 } },
    rosenbrock: {
      off: { lr: 0.3, steps: 3000 },
      on: { lr: 0.03, steps: 300 },
    },
  }],
  // tfjs has no AdamaxW
  tfjs: [],
  fused: [{ label: "adamaxw", lr: 0.05, options: { weightDecay: 1e-2 } }],
  agreement: [{ label: "adamaxw", lr: 0.01, options: { weightDecay: 1e-2 } }],
  boundaries: [{
    label: "adamaxw gc on update",
    lr: 0.1,
    options: { gc: true, gcOn: "update" },
  }],
  json: [{
    learningRate: 2e-3,
    b1: 0.8,
    b2: 0.99,
    eps: 1e-7,
    weightDecay: 0.01,
    gc: true,
  }],
  resume: [{
    learningRate: {
      schedule: "warmupCosineDecay",
      initValue: 0,
      peakValue: 0.1,
      warmupSteps: 2,
      decaySteps: 6,
    },
    b2: 0.99,
    weightDecay: 0.01,
    gc: true,
  }],
  errors: [
    {
      lr: 0.1,
      options: { weightDecay: -0.1 },
      message: /weightDecay must be in \[0, Infinity\], got -0.1/,
    },
    { lr: 0.1, options: { b1: 1 }, message: /b1 must be in \[0, 1\), got 1/ },
    {
      lr: 0.1,
      options: { eps: -1 },
      message: /eps must be in \[0, Infinity\], got -1/,
    },
  ],
  hostile: {
    numbers: {
      b1: { ok: 0.9, min: 0, max: 1 },
      b2: { ok: 0.999, min: 0, max: 1 },
      eps: { ok: 1e-8, min: 0, max: Infinity },
      weightDecay: { ok: 1e-4, min: 0, max: Infinity },
    },
    booleans: ["gc"],
  },
};
