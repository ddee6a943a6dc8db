// The test row of `adam`: its float64 reference and the settings each
// suite runs it with (see ../row_types.ts).
import * as tf from "@tensorflow/tfjs";
import { warmupCosineDecaySchedule } from "@centra/chain";
import { adamRef } from "../reference64.ts";
import type { OptimizerRow } from "../row_types.ts";
import { adamRefOptions, num, QUAD_STEPS, quadBoth } from "./_shared.ts";

export const adamRow: OptimizerRow = {
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
        "adam() with GC matches paper Algorithm 2 (bias-corrected Adam on Pg) in float64 over 100 steps",
      seed: 21,
      lr: 0.01,
      options: { gc: true, eps: 1e-7 },
    },
    {
      name:
        "adam() without GC matches a float64 Kingma-Ba Adam reference over 100 steps",
      seed: 22,
      lr: 0.01,
      options: { b1: 0.8, b2: 0.99, eps: 1e-8 },
    },
    {
      name:
        "adam({ amsgrad }) with GC matches a float64 AMSGrad reference (PyTorch form: max of v, then bias-corrected) over 100 steps",
      seed: 23,
      lr: 0.01,
      // b2 0.9 so that v actually falls below its running maximum in 30 steps
      options: { amsgrad: true, b2: 0.9, gc: true, eps: 1e-7 },
    },
    {
      name:
        "adam({ epsRoot }) with GC adds epsRoot inside the square root, matching a float64 reference over 100 steps",
      seed: 24,
      lr: 0.01,
      options: { epsRoot: 0.5, eps: 1e-3, gc: true },
    },
    {
      name:
        'adam({ gc: true, gcOn: "update" }) centralizes Adam\'s scaled update and matches a float64 reference over 100 steps',
      seed: 25,
      lr: 0.01,
      options: { gc: true, gcOn: "update", eps: 1e-7 },
    },
    {
      name:
        "adam({ weightDecay }) with GC centralizes g + λw (L2) and matches a float64 reference over 100 steps",
      seed: 26,
      lr: 0.01,
      options: { weightDecay: 0.1, gc: true, eps: 1e-7 },
    },
    {
      name:
        "adam() with a warmup-cosine learning rate schedule and GC matches a float64 reference over 100 steps",
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
