// The test row of `nadam`: its float64 reference and the settings each
// suite runs it with (see ../row_types.ts).
import { gc64, gcApplies, zerosFor } from "../reference64.ts";
import type { OptimizerRow } from "../row_types.ts";
import { cosineLr, gcOf, num, quadBoth } from "./_shared.ts";

export const nadamRow: OptimizerRow = {
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
        "nadam() with GC matches a float64 Nadam reference (Dozat 2016, optax's form) on Pg over 100 steps",
      seed: 35,
      lr: 0.01,
      options: { gc: true, eps: 1e-7 },
    },
    {
      name:
        "nadam() without GC matches a float64 Nadam reference over 100 steps",
      seed: 36,
      lr: 0.01,
      options: { b1: 0.8, b2: 0.99 },
    },
    {
      name:
        'nadam({ gc: true, gcOn: "update", epsRoot }) centralizes the scaled update and matches a float64 reference over 100 steps',
      seed: 37,
      lr: 0.01,
      options: { gc: true, gcOn: "update", epsRoot: 0.5, eps: 1e-3 },
    },
    {
      name:
        "nadam() with a cosine-decay learning rate schedule matches a float64 reference over 100 steps",
      seed: 38,
      lr: cosineLr(0.02, 20),
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
