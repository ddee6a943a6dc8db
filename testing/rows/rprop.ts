// The test row of rprop, with its float64 reference written from the rule
// of Riedmiller and Braun 1993 without weight backtracking (PyTorch's Rprop,
// optax's rprop): per element, s = g p (p the last update), the step size δ
// (lr at first) becomes clip(δ η₊) where s > 0, clip(δ η₋) where s < 0,
// stays where s = 0; the update is δ sign(g), 0 where s < 0; w = w - update.
// GC on g, or on the update (gcOn "update"). The update is the one just
// computed (PyTorch), not optax 0.2.x's previous one (optax#1725).
import type { OptimizerRow } from "../row_types.ts";
import { gc64, gcApplies, zerosFor } from "../reference64.ts";
import { gcOf, num } from "./_shared.ts";

/** rprop's test row. */
export const rpropRow: OptimizerRow = {
  reference: (lr, o) => (shapes) => {
    if (typeof lr !== "number") throw new Error("rprop takes a number");
    const down = num(o, "etaMinus") ?? 0.5, up = num(o, "etaPlus") ?? 1.2;
    const lo = num(o, "minStepSize") ?? 1e-6;
    const hi = num(o, "maxStepSize") ?? 50;
    const clip = (x: number) => Math.min(Math.max(x, lo), hi);
    const onUpdate = o.gcOn === "update";
    const step = zerosFor(shapes, lr), prev = zerosFor(shapes);
    return (w, grads) => {
      shapes.forEach((shape, k) => {
        const gcHere = gcApplies(gcOf(o), shape);
        const g = gcHere && !onUpdate ? gc64(grads[k]!, shape) : grads[k]!;
        const sk = step[k]!, pk = prev[k]!, wk = w[k]!;
        let d: Float64Array = new Float64Array(g.length);
        for (let i = 0; i < g.length; i++) {
          const s = g[i]! * pk[i]!;
          if (s > 0) sk[i] = clip(sk[i]! * up);
          else if (s < 0) sk[i] = clip(sk[i]! * down);
          d[i] = s < 0 ? 0 : sk[i]! * Math.sign(g[i]!);
          pk[i] = d[i]!;
        }
        if (gcHere && onUpdate) d = gc64(d, shape);
        for (let i = 0; i < g.length; i++) wk[i] = wk[i]! - d[i]!;
      });
    };
  },
  referenceCases: [
    {
      name:
        "rprop() with GC matches a float64 Rprop reference (Riedmiller and Braun 1993, PyTorch's form) on Pg over 100 steps",
      seed: 191,
      lr: 0.01,
      options: { gc: true },
    },
    {
      name:
        "rprop({ etaMinus, etaPlus, minStepSize, maxStepSize }) without GC clips the step sizes and matches a float64 reference over 100 steps",
      seed: 192,
      lr: 0.01,
      // bounds that both bind within 30 steps
      options: {
        etaMinus: 0.3,
        etaPlus: 1.5,
        minStepSize: 0.005,
        maxStepSize: 0.03,
      },
    },
    {
      name:
        'rprop({ gc: true, gcOn: "update" }) centralizes the steps and matches a float64 reference over 100 steps',
      seed: 193,
      lr: 0.01,
      options: { gc: true, gcOn: "update" },
    },
  ],
  conformance: [{
    // quad 1e-12 / 0; rosen 3e-3 / 1e-6
    name: "rprop()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: {
      off: { lr: 0.01, steps: 300 },
      on: { lr: 0.01, steps: 300 },
    },
    rosenbrock: {
      off: { lr: 0.001, steps: 3000 },
      on: { lr: 0.001, steps: 300 },
    },
  }],
  // tfjs has no Rprop
  tfjs: [],
  fused: [{ label: "rprop", lr: 0.05, options: {} }],
  agreement: [{ label: "rprop", lr: 0.01, options: {} }],
  boundaries: [{ label: "rprop gc", lr: 0.1, options: { gc: true } }],
  json: [{
    learningRate: 0.01,
    etaMinus: 0.4,
    etaPlus: 1.3,
    minStepSize: 1e-5,
    maxStepSize: 1,
    gc: true,
    gcOn: "update",
  }],
  resume: [{ learningRate: 0.01, gc: true }],
  errors: [
    { lr: -1, message: /learningRate must be in \[0, Infinity\], got -1/ },
    {
      lr: 0.1,
      options: { etaPlus: 0.5 },
      message: /etaPlus must be in \[1, Infinity\], got 0.5/,
    },
    {
      lr: 0.1,
      options: { minStepSize: 1, maxStepSize: 0.5 },
      message: /maxStepSize must be in \[1, Infinity\], got 0.5/,
    },
  ],
  hostile: {
    numbers: {
      etaMinus: { ok: 0.5, min: 0, max: 1 },
      etaPlus: { ok: 1.2, min: 1, max: Infinity },
      minStepSize: { ok: 1e-6, min: 0, max: Infinity },
      maxStepSize: { ok: 50, min: 0, max: Infinity },
    },
    booleans: ["gc"],
  },
};
