// The test row of lars, with its float64 reference written from the paper's
// Algorithm 1 (You et al. 2017, arXiv:1708.03888) in optax's form (the
// learning rate before the momentum): u = g + λ w (P u with GC),
// d = -lr η ‖w‖ / (‖u‖ + eps) u per tensor (ratio 1 where a norm is 0, and
// none outside the trust-ratio mask), m = μ m + d, w = w + m (Nesterov:
// w = w + d + μ m); gcOn "update" centralizes the rescaled u.
import { cosineDecaySchedule } from "@centra/chain";
import type { OptimizerRow } from "../row_types.ts";
import { gc64, gcApplies, lrAt, zerosFor } from "../reference64.ts";
import { gcOf, num } from "./_shared.ts";

const norm = (x: Float64Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

/** lars's test row. */
export const larsRow: OptimizerRow = {
  reference: (lr, o) => (shapes) => {
    const wd = num(o, "weightDecay") ?? 0;
    const eta = num(o, "trustCoefficient") ?? 0.001;
    const eps = num(o, "eps") ?? 0;
    const mu = num(o, "momentum") ?? 0.9;
    const nesterov = o.nesterov === true;
    // a function of the shape (the suite's names carry a unique prefix)
    const mask = o.trustRatioMask as
      | ((name: string, shape: readonly number[]) => boolean)
      | undefined;
    const trusted = (k: number) =>
      mask === undefined || mask(`p${k}`, shapes[k]!) === true;
    const onUpdate = o.gcOn === "update";
    const m = zerosFor(shapes);
    return (w, grads, t) => {
      const rate = lrAt(lr, t);
      shapes.forEach((shape, k) => {
        const gcHere = gcApplies(gcOf(o), shape);
        const wk = w[k]!, mk = m[k]!;
        let u: Float64Array = grads[k]!.map((g, i) => g + wd * wk[i]!);
        if (gcHere && !onUpdate) u = gc64(u, shape);
        if (trusted(k)) {
          const wn = norm(wk), un = norm(u);
          const r = wn > 0 && un > 0 ? eta * wn / (un + eps) : 1;
          u = u.map((x) => x * r);
        }
        if (gcHere && onUpdate) u = gc64(u, shape);
        for (let i = 0; i < u.length; i++) {
          const d = -rate * u[i]!;
          mk[i] = mu * mk[i]! + d;
          wk[i] = wk[i]! + (nesterov ? d + mu * mk[i]! : mk[i]!);
        }
      });
    };
  },
  referenceCases: [
    {
      name:
        "lars() with GC matches a float64 LARS reference (You et al. 2017, Algorithm 1) on P(g) over 100 steps",
      seed: 181,
      lr: 1,
      options: { gc: true, trustCoefficient: 0.01 },
    },
    {
      name:
        "lars({ weightDecay, eps, nesterov }) without GC matches a float64 LARS reference over 100 steps",
      seed: 182,
      lr: 1,
      options: {
        weightDecay: 0.1,
        trustCoefficient: 0.02,
        eps: 0.5,
        momentum: 0.8,
        nesterov: true,
      },
    },
    {
      name:
        'lars({ gc: true, gcOn: "update", trustRatioMask }) rescales only the masked tensors, centralizes the rescaled update, and matches a float64 reference over 100 steps',
      seed: 183,
      lr: 0.5,
      options: {
        gc: true,
        gcOn: "update",
        weightDecay: 0.05,
        trustCoefficient: 0.01,
        // the rank-1 tensor (a bias) takes plain momentum steps
        trustRatioMask: (_: string, shape: readonly number[]) =>
          shape.length > 1,
      },
    },
    {
      name:
        "lars() with a cosine-decay learning rate schedule and GC matches a float64 reference over 100 steps",
      seed: 184,
      lr: {
        schedule: () => cosineDecaySchedule(2, { decaySteps: 20 }),
        at: (c) => 2 * 0.5 * (1 + Math.cos(Math.PI * Math.min(c, 20) / 20)),
      },
      options: { gc: true, weightDecay: 0.01, trustCoefficient: 0.01 },
    },
  ],
  // Each step has norm lr η ‖W‖ whatever the gradient, so the rows decay the
  // learning rate.
  conformance: [{
    // quad 4e-8 / 1e-7; rosen 5e-6 / 1e-4
    name: "lars()",
    options: {},
    quadraticMeans: "frozen",
    frozenBecause: "P is applied before a per-tensor scaling and momentum",
    rosenbrockMeans: "frozen",
    quadratic: {
      off: { lr: cosineDecaySchedule(10, { decaySteps: 600 }), steps: 600 },
      on: { lr: cosineDecaySchedule(10, { decaySteps: 600 }), steps: 600 },
    },
    rosenbrock: {
      off: { lr: cosineDecaySchedule(2, { decaySteps: 1000 }), steps: 1000 },
      on: { lr: cosineDecaySchedule(2, { decaySteps: 300 }), steps: 300 },
    },
  }],
  // tfjs has no LARS
  tfjs: [],
  fused: [{
    label: "lars",
    lr: 1,
    options: {
      weightDecay: 0.01,
      trustCoefficient: 0.01,
      nesterov: true,
      // biases take plain momentum steps: a masked stage, fused
      trustRatioMask: (_: string, shape: readonly number[]) => shape.length > 1,
    },
  }],
  agreement: [{
    label: "lars",
    lr: 1,
    options: { weightDecay: 0.01, trustCoefficient: 0.01 },
  }],
  boundaries: [{ label: "lars gc", lr: 0.1, options: { gc: true } }],
  json: [{
    learningRate: 0.1,
    weightDecay: 1e-4,
    trustCoefficient: 0.002,
    eps: 1e-8,
    momentum: 0.8,
    nesterov: true,
    gc: true,
    gcOn: "update",
  }],
  resume: [{
    learningRate: 1,
    weightDecay: 0.01,
    trustCoefficient: 0.01,
    gc: true,
  }],
  errors: [
    { lr: -1, message: /learningRate must be in \[0, Infinity\], got -1/ },
    {
      lr: 0.1,
      options: { trustCoefficient: -0.5 },
      message: /trustCoefficient must be in \[0, Infinity\], got -0.5/,
    },
    {
      lr: 0.1,
      options: { momentum: 0, nesterov: true },
      message: /nesterov needs momentum > 0/,
    },
  ],
  hostile: {
    numbers: {
      weightDecay: { ok: 0, min: 0, max: Infinity },
      trustCoefficient: { ok: 0.001, min: 0, max: Infinity },
      eps: { ok: 0, min: 0, max: Infinity },
      momentum: { ok: 0.9, min: 0, max: 1 },
    },
    booleans: ["nesterov", "gc"],
  },
};
