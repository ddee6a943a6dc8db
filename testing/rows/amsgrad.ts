// amsgrad's row: Reddi et al. 2018 (arXiv:1904.09237) in optax's form,
// written here from optax's documented rule: m = b1 m + (1 - b1) g,
// v = b2 v + (1 - b2) g², v̂max = max(v̂max, v / (1 - b2^t)) (each correction
// optional), w = w - lr m / (1 - b1^t) / (sqrt(v̂max + epsRoot) + eps).
import { warmupCosineDecaySchedule } from "@centra/chain";
import type { OptimizerRow } from "../row_types.ts";
import { elementwiseRef, numOr } from "./_elementwise_ref.ts";

export const amsgradRow: OptimizerRow = {
  reference: (lr, o) => {
    const b1 = numOr(o, "b1", 0.9), b2 = numOr(o, "b2", 0.999);
    const eps = numOr(o, "eps", 1e-8), epsRoot = numOr(o, "epsRoot", 0);
    const cMu = o.biasCorrectionMu !== false;
    const cNu = o.biasCorrectionNu !== false;
    return elementwiseRef({
      lr,
      options: o,
      slots: [0, 0, 0],
      rule: (g, [m, v, vMax], i, t) => {
        m![i] = b1 * m![i]! + (1 - b1) * g;
        v![i] = b2 * v![i]! + (1 - b2) * g * g;
        const mHat = cMu ? m![i]! / (1 - Math.pow(b1, t)) : m![i]!;
        const vHat = cNu ? v![i]! / (1 - Math.pow(b2, t)) : v![i]!;
        vMax![i] = Math.max(vMax![i]!, vHat);
        return mHat / (Math.sqrt(vMax![i]! + epsRoot) + eps);
      },
    });
  },
  // b2 0.9 lets v̂ fall below its maximum within 30 steps, so the maximum
  // (and which v it is taken over) matters
  referenceCases: [
    {
      name:
        "amsgrad() with GC matches a float64 AMSGrad reference (optax: the maximum of the debiased v) on Pg over 100 steps",
      seed: 121,
      lr: 0.01,
      options: { b2: 0.9, gc: true },
    },
    {
      name:
        "amsgrad({ biasCorrectionMu: false, biasCorrectionNu: false, eps: 1e-3 }) without GC matches the paper's Algorithm 2 in float64 over 100 steps",
      seed: 122,
      lr: 0.01,
      options: {
        b2: 0.9,
        eps: 1e-3,
        biasCorrectionMu: false,
        biasCorrectionNu: false,
      },
    },
    {
      name:
        'amsgrad({ gc: true, gcOn: "update", epsRoot }) with a warmup-cosine learning rate matches a float64 reference over 100 steps',
      seed: 123,
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
      options: { b2: 0.9, epsRoot: 1e-4, gc: true, gcOn: "update" },
    },
  ],
  conformance: [{
    // rosen 2e-2 / 2e-7 (float64 reference): the maximum keeps the huge
    // first Rosenbrock gradients, so plain AMSGrad needs lr 1 and many steps
    name: "amsgrad()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: { off: { lr: 0.1, steps: 300 }, on: { lr: 0.1, steps: 300 } },
    rosenbrock: {
      off: { lr: 1, steps: 4000 },
      on: { lr: 0.03, steps: 300 },
    },
  }],
  // tfjs has no AMSGrad
  tfjs: [],
  fused: [{ label: "amsgrad", lr: 0.05, options: { b2: 0.9 } }],
  agreement: [{ label: "amsgrad", lr: 0.01, options: { b2: 0.9 } }],
  boundaries: [{ label: "amsgrad gc", lr: 0.1, options: { gc: true } }],
  json: [{
    learningRate: 1e-3,
    b1: 0.8,
    b2: 0.99,
    eps: 1e-7,
    epsRoot: 1e-8,
    biasCorrectionNu: false,
    gc: true,
  }],
  resume: [{ learningRate: 0.01, b2: 0.9, gc: true, gcOn: "update" }],
  errors: [
    {
      lr: 0.1,
      options: { b1: -0.1 },
      message: /b1 must be in \[0, 1\), got -0.1/,
    },
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
    booleans: ["biasCorrectionMu", "biasCorrectionNu", "gc"],
  },
};
