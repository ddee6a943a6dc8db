// The test row of lamb, with its float64 reference written from the paper's
// Algorithm 2 (You et al. 2019, arXiv:1904.00962, φ the identity) in optax's
// form: Adam's bias-corrected direction r = m̂ / (sqrt(v̂ + epsRoot) + eps),
// u = r + λ w, w = w - lr (‖w‖ / ‖u‖) u per tensor, the ratio 1 where a norm
// is 0; GC on g, or on r (gcOn "update").
import { cosineDecaySchedule } from "@centra/chain";
import type { OptimizerRow } from "../row_types.ts";
import { gc64, gcApplies, lrAt, zerosFor } from "../reference64.ts";
import { cosineLr, gcOf, num } from "./_shared.ts";

const norm = (x: Float64Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

/** lamb's test row. */
export const lambRow: OptimizerRow = {
  reference: (lr, o) => (shapes) => {
    const b1 = num(o, "b1") ?? 0.9, b2 = num(o, "b2") ?? 0.999;
    const eps = num(o, "eps") ?? 1e-6, epsRoot = num(o, "epsRoot") ?? 0;
    const wd = num(o, "weightDecay") ?? 0;
    const onUpdate = o.gcOn === "update";
    const m = zerosFor(shapes), v = zerosFor(shapes);
    return (w, grads, t) => {
      const rate = lrAt(lr, t);
      shapes.forEach((shape, k) => {
        const gcHere = gcApplies(gcOf(o), shape);
        const g = gcHere && !onUpdate ? gc64(grads[k]!, shape) : grads[k]!;
        const mk = m[k]!, vk = v[k]!, wk = w[k]!;
        let r: Float64Array = new Float64Array(g.length);
        for (let i = 0; i < g.length; i++) {
          mk[i] = b1 * mk[i]! + (1 - b1) * g[i]!;
          vk[i] = b2 * vk[i]! + (1 - b2) * g[i]! * g[i]!;
          const mHat = mk[i]! / (1 - Math.pow(b1, t));
          const vHat = vk[i]! / (1 - Math.pow(b2, t));
          r[i] = mHat / (Math.sqrt(vHat + epsRoot) + eps);
        }
        if (gcHere && onUpdate) r = gc64(r, shape);
        const u = r.map((x, i) => x + wd * wk[i]!);
        const wn = norm(wk), un = norm(u);
        const ratio = wn > 0 && un > 0 ? wn / un : 1;
        for (let i = 0; i < g.length; i++) {
          wk[i] = wk[i]! - rate * ratio * u[i]!;
        }
      });
    };
  },
  referenceCases: [
    {
      name:
        "lamb() with GC matches a float64 LAMB reference (You et al. 2019, Algorithm 2) on Pg over 100 steps",
      seed: 171,
      lr: 0.01,
      options: { gc: true },
    },
    {
      name:
        "lamb({ b1, b2, weightDecay }) without GC matches a float64 LAMB reference over 100 steps",
      seed: 172,
      lr: 0.01,
      options: { b1: 0.8, b2: 0.99, weightDecay: 0.1 },
    },
    {
      name:
        'lamb({ gc: true, gcOn: "update", epsRoot }) centralizes Adam\'s direction before the decay and the trust ratio, matching a float64 reference over 100 steps',
      seed: 173,
      lr: 0.01,
      options: {
        gc: true,
        gcOn: "update",
        weightDecay: 0.1,
        epsRoot: 0.5,
        eps: 1e-3,
      },
    },
    {
      name:
        "lamb() with a cosine-decay learning rate schedule and GC matches a float64 reference over 100 steps",
      seed: 174,
      lr: cosineLr(0.02, 20),
      options: { gc: true, weightDecay: 0.01 },
    },
  ],
  // Each step has norm lr ‖W‖ whatever the gradient, so the rows decay the
  // learning rate.
  conformance: [{
    // quad 2e-10 / 3e-9; rosen 2e-3 / 7e-5
    name: "lamb()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: {
      off: { lr: cosineDecaySchedule(0.05, { decaySteps: 600 }), steps: 600 },
      on: { lr: cosineDecaySchedule(0.05, { decaySteps: 600 }), steps: 600 },
    },
    rosenbrock: {
      off: { lr: cosineDecaySchedule(0.01, { decaySteps: 1000 }), steps: 1000 },
      on: { lr: cosineDecaySchedule(0.01, { decaySteps: 300 }), steps: 300 },
    },
  }],
  // tfjs has no LAMB
  tfjs: [],
  fused: [{ label: "lamb", lr: 0.05, options: { weightDecay: 0.01 } }],
  agreement: [{ label: "lamb", lr: 0.01, options: { weightDecay: 0.01 } }],
  boundaries: [{ label: "lamb gc", lr: 0.1, options: { gc: true } }],
  json: [{
    learningRate: 1e-3,
    b1: 0.8,
    b2: 0.99,
    eps: 1e-6,
    epsRoot: 1e-8,
    weightDecay: 0.01,
    gc: true,
    gcOn: "update",
  }],
  resume: [{ learningRate: 0.01, weightDecay: 0.01, gc: true }],
  errors: [
    { lr: -1, message: /learningRate must be in \[0, Infinity\], got -1/ },
    { lr: 0.1, options: { b2: 1 }, message: /b2 must be in \[0, 1\), got 1/ },
    {
      lr: 0.1,
      options: { weightDecay: -1 },
      message: /weightDecay must be in \[0, Infinity\], got -1/,
    },
  ],
  hostile: {
    numbers: {
      b1: { ok: 0.9, min: 0, max: 1 },
      b2: { ok: 0.999, min: 0, max: 1 },
      eps: { ok: 1e-6, min: 0, max: Infinity },
      epsRoot: { ok: 0, min: 0, max: Infinity },
      weightDecay: { ok: 0, min: 0, max: Infinity },
    },
    booleans: ["gc"],
  },
};
