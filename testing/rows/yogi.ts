// yogi's row: Zaheer et al. 2018 (NeurIPS, Algorithm 2) as optax documents
// it, written here from that rule: m = b1 m + (1 - b1) g, v = v - (1 - b2)
// sign(v - g²) g², both from initialAccumulatorValue (1e-6), w = w - lr m /
// (1 - b1^t) / (sqrt(v / (1 - b2^t) + epsRoot) + eps), eps 1e-3.
import type { OptimizerRow } from "../row_types.ts";
import { elementwiseRef, numOr } from "./_elementwise_ref.ts";
import { cosineLr } from "./_shared.ts";

export const yogiRow: OptimizerRow = {
  reference: (lr, o) => {
    const b1 = numOr(o, "b1", 0.9), b2 = numOr(o, "b2", 0.999);
    const eps = numOr(o, "eps", 1e-3), epsRoot = numOr(o, "epsRoot", 0);
    const start = numOr(o, "initialAccumulatorValue", 1e-6);
    return elementwiseRef({
      lr,
      options: o,
      slots: [start, start],
      rule: (g, [m, v], i, t) => {
        m![i] = b1 * m![i]! + (1 - b1) * g;
        v![i] = v![i]! - (1 - b2) * Math.sign(v![i]! - g * g) * g * g;
        const mHat = m![i]! / (1 - Math.pow(b1, t));
        const vHat = v![i]! / (1 - Math.pow(b2, t));
        return mHat / (Math.sqrt(vHat + epsRoot) + eps);
      },
    });
  },
  referenceCases: [
    {
      name:
        "yogi() with GC matches a float64 Yogi reference (Zaheer et al. 2018, optax's defaults) on Pg over 100 steps",
      seed: 141,
      lr: 0.01,
      options: { gc: true },
    },
    {
      // v from 1 with b2 0.5: v - g² changes sign from step to step, so both
      // branches of Yogi's additive update are taken
      name:
        "yogi({ b2: 0.5, initialAccumulatorValue: 1 }) without GC matches a float64 reference, v rising and falling, over 100 steps",
      seed: 142,
      lr: 0.01,
      options: { b1: 0.8, b2: 0.5, initialAccumulatorValue: 1 },
    },
    {
      name:
        'yogi({ gc: true, gcOn: "update", epsRoot }) with a cosine-decay learning rate matches a float64 reference over 100 steps',
      seed: 143,
      lr: cosineLr(0.02, 20),
      options: { gc: true, gcOn: "update", epsRoot: 1e-3, b2: 0.9 },
    },
  ],
  conformance: [{
    // quad 3e-15 (off); rosen 2e-3 / 6e-7 (float64 reference)
    name: "yogi()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: { off: { lr: 0.1, steps: 300 }, on: { lr: 0.1, steps: 300 } },
    rosenbrock: {
      off: { lr: 0.3, steps: 2000 },
      on: { lr: 0.03, steps: 300 },
    },
  }],
  // tfjs has no Yogi
  tfjs: [],
  fused: [{ label: "yogi", lr: 0.05, options: {} }],
  agreement: [{
    label: "yogi",
    lr: 0.01,
    options: { b2: 0.9, initialAccumulatorValue: 0.5 },
  }],
  boundaries: [{ label: "yogi gc", lr: 0.1, options: { gc: true } }],
  json: [{
    learningRate: 1e-2,
    b1: 0.8,
    b2: 0.99,
    eps: 1e-4,
    epsRoot: 1e-8,
    initialAccumulatorValue: 0.1,
    gc: true,
    gcOn: "update",
  }],
  resume: [{ learningRate: 0.01, b2: 0.9, initialAccumulatorValue: 0.5 }],
  errors: [
    {
      lr: 0.1,
      options: { initialAccumulatorValue: -1 },
      message: /initialAccumulatorValue must be in \[0, Infinity\], got -1/,
    },
    {
      lr: 0.1,
      options: { b2: 1.5 },
      message: /b2 must be in \[0, 1\), got 1.5/,
    },
  ],
  hostile: {
    numbers: {
      b1: { ok: 0.9, min: 0, max: 1 },
      b2: { ok: 0.999, min: 0, max: 1 },
      eps: { ok: 1e-3, min: 0, max: Infinity },
      epsRoot: { ok: 0, min: 0, max: Infinity },
      initialAccumulatorValue: { ok: 1e-6, min: 0, max: Infinity },
    },
    booleans: ["gc"],
  },
};
