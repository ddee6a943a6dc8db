// The test row of lion, with its float64 reference written from the
// paper's Program 1 (Chen et al. 2023, arXiv:2302.06675) in optax's form:
// c = b1 m + (1 - b1) g, w = w - lr (sign(c) + λ w), m = b2 m + (1 - b2) g;
// GC on g (both c and m see Pg) or on sign(c) (gcOn "update"); the decay
// term is never centralized.
import { cosineDecaySchedule } from "@centra/chain";
import type { OptimizerRow } from "../row_types.ts";
import { gc64, gcApplies, lrAt, zerosFor } from "../reference64.ts";
import { cosineLr, gcOf, num } from "./_shared.ts";

/** lion's test row. */
export const lionRow: OptimizerRow = {
  reference: (lr, o) => (shapes) => {
    const b1 = num(o, "b1") ?? 0.9, b2 = num(o, "b2") ?? 0.99;
    const wd = num(o, "weightDecay") ?? 1e-3;
    const onUpdate = o.gcOn === "update";
    const m = zerosFor(shapes);
    return (w, grads, t) => {
      const rate = lrAt(lr, t);
      shapes.forEach((shape, k) => {
        const gcHere = gcApplies(gcOf(o), shape);
        const g = gcHere && !onUpdate ? gc64(grads[k]!, shape) : grads[k]!;
        const mk = m[k]!, wk = w[k]!;
        let d: Float64Array = new Float64Array(g.length);
        for (let i = 0; i < g.length; i++) {
          d[i] = Math.sign(b1 * mk[i]! + (1 - b1) * g[i]!);
          mk[i] = b2 * mk[i]! + (1 - b2) * g[i]!;
        }
        if (gcHere && onUpdate) d = gc64(d, shape);
        for (let i = 0; i < g.length; i++) {
          wk[i] = wk[i]! - rate * (d[i]! + wd * wk[i]!);
        }
      });
    };
  },
  referenceCases: [
    {
      name:
        "lion() with GC matches a float64 Lion reference (Chen et al. 2023, Program 1) on Pg over 100 steps",
      seed: 161,
      lr: 0.01,
      options: { gc: true },
    },
    {
      name:
        "lion({ b1, b2, weightDecay }) without GC matches a float64 Lion reference with decoupled decay over 100 steps",
      seed: 162,
      lr: 0.01,
      options: { b1: 0.5, b2: 0.9, weightDecay: 0.5 },
    },
    {
      name:
        'lion({ gc: true, gcOn: "update" }) centralizes the signs, not the decay, and matches a float64 reference over 100 steps',
      seed: 163,
      lr: 0.01,
      options: { gc: true, gcOn: "update", weightDecay: 0.5 },
    },
    {
      name:
        "lion() with a cosine-decay learning rate schedule and GC matches a float64 reference over 100 steps",
      seed: 164,
      lr: cosineLr(0.02, 20),
      options: { gc: true, weightDecay: 0.1 },
    },
  ],
  // Sign steps of a constant lr hover at an lr-sized cycle, so the rows
  // decay the learning rate; no weight decay, whose mean rule holds for a
  // constant lr only.
  conformance: [{
    // quad 2e-10 / 5e-9; rosen 1e-2 / 7e-3
    name: "lion({ weightDecay: 0 })",
    options: { weightDecay: 0 },
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: {
      off: { lr: cosineDecaySchedule(0.05, { decaySteps: 600 }), steps: 600 },
      on: { lr: cosineDecaySchedule(0.05, { decaySteps: 600 }), steps: 600 },
    },
    rosenbrock: {
      off: { lr: cosineDecaySchedule(0.01, { decaySteps: 3000 }), steps: 3000 },
      on: { lr: cosineDecaySchedule(0.01, { decaySteps: 300 }), steps: 300 },
    },
  }],
  // tfjs has no Lion
  tfjs: [],
  fused: [{ label: "lion", lr: 0.05, options: {} }],
  agreement: [{ label: "lion", lr: 0.01, options: { weightDecay: 0.1 } }],
  boundaries: [{ label: "lion gc", lr: 0.1, options: { gc: true } }],
  json: [{
    learningRate: 1e-4,
    b1: 0.95,
    b2: 0.98,
    weightDecay: 0.1,
    gc: true,
    gcOn: "update",
  }],
  resume: [{ learningRate: 0.01, b1: 0.8, weightDecay: 0.01, gc: true }],
  errors: [
    { lr: -1, message: /learningRate must be in \[0, Infinity\], got -1/ },
    {
      lr: 0.1,
      options: { b1: 1.5 },
      message: /b1 must be in \[0, 1\], got 1.5/,
    },
    {
      lr: 0.1,
      options: { weightDecay: -0.1 },
      message: /weightDecay must be in \[0, Infinity\], got -0.1/,
    },
  ],
  hostile: {
    numbers: {
      b1: { ok: 0.9, min: 0, max: 1 },
      b2: { ok: 0.99, min: 0, max: 1 },
      weightDecay: { ok: 1e-3, min: 0, max: Infinity },
    },
    booleans: ["gc"],
  },
};
