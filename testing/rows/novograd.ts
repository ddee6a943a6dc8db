// The test row of novograd, with its float64 reference written from the
// paper's Algorithm 1 (Ginsburg et al. 2019, arXiv:1905.11286) in optax's
// form: per tensor, n = ‖g‖², v = n at the first step, b2 v + (1 - b2) n
// after; m = b1 m + g / (sqrt(v + epsRoot) + eps) + λ w; w = w - lr m. GC
// on g (the norm and the moment see Pg), or on m (gcOn "update").
import { cosineDecaySchedule } from "@centra/chain";
import type { OptimizerRow } from "../row_types.ts";
import { gc64, gcApplies, lrAt, zerosFor } from "../reference64.ts";
import { cosineLr, gcOf, num } from "./_shared.ts";

/** novograd's test row. */
export const novogradRow: OptimizerRow = {
  reference: (lr, o) => (shapes) => {
    const b1 = num(o, "b1") ?? 0.9, b2 = num(o, "b2") ?? 0.25;
    const eps = num(o, "eps") ?? 1e-6, epsRoot = num(o, "epsRoot") ?? 0;
    const wd = num(o, "weightDecay") ?? 0;
    const onUpdate = o.gcOn === "update";
    const m = zerosFor(shapes), v = shapes.map(() => 0);
    return (w, grads, t) => {
      const rate = lrAt(lr, t);
      shapes.forEach((shape, k) => {
        const gcHere = gcApplies(gcOf(o), shape);
        const g = gcHere && !onUpdate ? gc64(grads[k]!, shape) : grads[k]!;
        const n = g.reduce((s, x) => s + x * x, 0);
        v[k] = t === 1 ? n : b2 * v[k]! + (1 - b2) * n;
        const denom = Math.sqrt(v[k]! + epsRoot) + eps;
        const mk = m[k]!, wk = w[k]!;
        for (let i = 0; i < g.length; i++) {
          mk[i] = b1 * mk[i]! + g[i]! / denom + wd * wk[i]!;
        }
        const d = gcHere && onUpdate ? gc64(mk, shape) : mk;
        for (let i = 0; i < g.length; i++) wk[i] = wk[i]! - rate * d[i]!;
      });
    };
  },
  referenceCases: [
    {
      name:
        "novograd() with GC matches a float64 NovoGrad reference (Ginsburg et al. 2019, Algorithm 1) on Pg over 100 steps",
      seed: 201,
      lr: 0.01,
      options: { gc: true },
    },
    {
      name:
        "novograd({ b1, b2, weightDecay, epsRoot }) without GC matches a float64 NovoGrad reference over 100 steps",
      seed: 202,
      lr: 0.01,
      options: { b1: 0.8, b2: 0.5, weightDecay: 0.1, epsRoot: 1, eps: 1e-3 },
    },
    {
      name:
        'novograd({ gc: true, gcOn: "update", weightDecay }) centralizes the moment and matches a float64 reference over 100 steps',
      seed: 203,
      lr: 0.01,
      options: { gc: true, gcOn: "update", weightDecay: 0.1 },
    },
    {
      name:
        "novograd() with a cosine-decay learning rate schedule and GC matches a float64 reference over 100 steps",
      seed: 204,
      lr: cosineLr(0.02, 20),
      options: { gc: true },
    },
  ],
  // The normalized gradient has norm about 1 however close the minimum, so
  // the rows decay the learning rate.
  conformance: [{
    // quad 8e-14 / 7e-14; rosen 6e-4 / 8e-7
    name: "novograd()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: {
      off: { lr: cosineDecaySchedule(0.02, { decaySteps: 600 }), steps: 600 },
      on: { lr: cosineDecaySchedule(0.02, { decaySteps: 600 }), steps: 600 },
    },
    rosenbrock: {
      off: {
        lr: cosineDecaySchedule(0.005, { decaySteps: 1000 }),
        steps: 1000,
      },
      on: { lr: cosineDecaySchedule(0.01, { decaySteps: 300 }), steps: 300 },
    },
  }],
  // tfjs has no NovoGrad
  tfjs: [],
  fused: [{ label: "novograd", lr: 0.05, options: { weightDecay: 0.01 } }],
  agreement: [{ label: "novograd", lr: 0.01, options: { weightDecay: 0.01 } }],
  boundaries: [{ label: "novograd gc", lr: 0.1, options: { gc: true } }],
  json: [{
    learningRate: 1e-3,
    b1: 0.95,
    b2: 0.98,
    eps: 1e-8,
    epsRoot: 1e-8,
    weightDecay: 1e-3,
    gc: true,
    gcOn: "update",
  }],
  resume: [{ learningRate: 0.01, weightDecay: 0.01, gc: true }],
  errors: [
    { lr: -1, message: /learningRate must be in \[0, Infinity\], got -1/ },
    { lr: 0.1, options: { b2: 2 }, message: /b2 must be in \[0, 1\], got 2/ },
    {
      lr: 0.1,
      options: { weightDecay: -1 },
      message: /weightDecay must be in \[0, Infinity\], got -1/,
    },
  ],
  hostile: {
    numbers: {
      b1: { ok: 0.9, min: 0, max: 1 },
      b2: { ok: 0.25, min: 0, max: 1 },
      eps: { ok: 1e-6, min: 0, max: Infinity },
      epsRoot: { ok: 0, min: 0, max: Infinity },
      weightDecay: { ok: 0, min: 0, max: Infinity },
    },
    booleans: ["gc"],
  },
};
