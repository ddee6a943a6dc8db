// adabelief's row: Zhuang et al. 2020 (arXiv:2010.07468, Algorithm 2) as
// optax documents it, written here from that rule: m = b1 m + (1 - b1) g,
// s = b2 s + (1 - b2) (g - m)² + epsRoot, m̂ = m / (1 - b1^t) (Nesterov: b1 m
// / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t)), ŝ = s / (1 - b2^t), w = w -
// lr (m̂ / (sqrt(ŝ) + eps) + λ w); eps = epsRoot = 1e-16, no decay by default.
import type { OptimizerRow } from "../row_types.ts";
import { elementwiseRef, numOr } from "./_elementwise_ref.ts";
import { cosineLr } from "./_shared.ts";

export const adabeliefRow: OptimizerRow = {
  reference: (lr, o) => {
    const b1 = numOr(o, "b1", 0.9), b2 = numOr(o, "b2", 0.999);
    const eps = numOr(o, "eps", 1e-16), epsRoot = numOr(o, "epsRoot", 1e-16);
    const nesterov = o.nesterov === true;
    const decay = numOr(o, "weightDecay", 0);
    return elementwiseRef({
      lr,
      options: o,
      slots: [0, 0],
      ...(decay > 0 ? { decoupled: decay } : {}),
      rule: (g, [m, s], i, t) => {
        m![i] = b1 * m![i]! + (1 - b1) * g;
        const pe = g - m![i]!;
        s![i] = b2 * s![i]! + (1 - b2) * pe * pe + epsRoot;
        const mHat = nesterov
          ? b1 * m![i]! / (1 - Math.pow(b1, t + 1)) +
            (1 - b1) * g / (1 - Math.pow(b1, t))
          : m![i]! / (1 - Math.pow(b1, t));
        const sHat = s![i]! / (1 - Math.pow(b2, t));
        return mHat / (Math.sqrt(sHat) + eps);
      },
    });
  },
  referenceCases: [
    {
      name:
        "adabelief() with GC matches a float64 AdaBelief reference (Zhuang et al. 2020, Algorithm 2, optax's eps) on Pg over 100 steps",
      seed: 151,
      lr: 0.01,
      options: { gc: true },
    },
    {
      // epsRoot 1e-3 enters the belief every step; eps 1e-3 outside the root
      name:
        "adabelief({ nesterov, eps, epsRoot }) without GC matches a float64 reference over 100 steps",
      seed: 152,
      lr: 0.01,
      options: { b1: 0.8, b2: 0.99, eps: 1e-3, epsRoot: 1e-3, nesterov: true },
    },
    {
      name:
        'adabelief({ gc: true, gcOn: "update", weightDecay }) with a cosine-decay learning rate centralizes the scaled update, not the decay, and matches a float64 reference over 100 steps',
      seed: 153,
      lr: cosineLr(0.02, 20),
      options: { gc: true, gcOn: "update", weightDecay: 0.5, eps: 1e-8 },
    },
  ],
  conformance: [{
    // quad 2e-14 (off); rosen 4e-4 / 1e-7 (float64 reference)
    name: "adabelief()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: { off: { lr: 0.1, steps: 300 }, on: { lr: 0.1, steps: 300 } },
    rosenbrock: {
      off: { lr: 0.1, steps: 3000 },
      on: { lr: 0.03, steps: 300 },
    },
  }],
  // tfjs has no AdaBelief
  tfjs: [],
  fused: [{
    label: "adabelief nesterov + decay",
    lr: 0.05,
    options: { nesterov: true, weightDecay: 1e-2 },
  }],
  agreement: [{
    label: "adabelief nesterov",
    lr: 0.01,
    options: { nesterov: true, eps: 1e-8 },
  }],
  boundaries: [{ label: "adabelief gc", lr: 0.1, options: { gc: true } }],
  json: [{
    learningRate: 1e-3,
    b1: 0.8,
    b2: 0.99,
    eps: 1e-8,
    epsRoot: 1e-12,
    nesterov: true,
    weightDecay: 1e-4,
    gc: true,
  }],
  resume: [{ learningRate: 0.01, nesterov: true, weightDecay: 0.01, gc: true }],
  errors: [
    { lr: 0.1, options: { b1: 1 }, message: /b1 must be in \[0, 1\), got 1/ },
    {
      lr: 0.1,
      options: { epsRoot: -1e-16 },
      message: /epsRoot must be in \[0, Infinity\], got -1e-16/,
    },
  ],
  hostile: {
    numbers: {
      b1: { ok: 0.9, min: 0, max: 1 },
      b2: { ok: 0.999, min: 0, max: 1 },
      eps: { ok: 1e-16, min: 0, max: Infinity },
      epsRoot: { ok: 1e-16, min: 0, max: Infinity },
      weightDecay: { ok: 1e-4, min: 0, max: Infinity },
    },
    booleans: ["nesterov", "gc"],
  },
};
