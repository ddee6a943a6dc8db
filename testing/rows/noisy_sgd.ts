// The test row of noisySgd, with its float64 reference written from optax's
// documented rule (noisy_sgd: w = w - lr (g + N(0, eta / t^gamma)) at step
// t): GC on g before the noise, or on g + noise (gcOn "update"). The
// reference draws the same standard normals as the chain from the exposed
// generator (noiseSample: stream k is the k-th parameter given to init, as
// the suites give them); everything else is computed here. The generator's
// statistics are tested in packages/chain/noisy_sgd_test.ts.
import { cosineDecaySchedule, noiseSample } from "@centra/chain";
import type { OptimizerRow } from "../row_types.ts";
import { gc64, gcApplies, lrAt } from "../reference64.ts";
import { gcOf, num } from "./_shared.ts";

/** noisySgd's test row. */
export const noisySgdRow: OptimizerRow = {
  reference: (lr, o) => (shapes) => {
    const eta = num(o, "eta") ?? 0.01, gamma = num(o, "gamma") ?? 0.55;
    const seed = num(o, "seed") ?? 0;
    const onUpdate = o.gcOn === "update";
    return (w, grads, t) => {
      const rate = lrAt(lr, t);
      const std = Math.sqrt(eta / Math.pow(t, gamma));
      shapes.forEach((shape, k) => {
        const gcHere = gcApplies(gcOf(o), shape);
        const g = gcHere && !onUpdate ? gc64(grads[k]!, shape) : grads[k]!;
        const z = noiseSample(g.length, { seed, step: t, stream: k });
        let u: Float64Array = g.map((x, i) => x + std * z[i]!);
        if (gcHere && onUpdate) u = gc64(u, shape);
        const wk = w[k]!;
        for (let i = 0; i < wk.length; i++) wk[i] = wk[i]! - rate * u[i]!;
      });
    };
  },
  referenceCases: [
    {
      name:
        "noisySgd({ eta, seed }) with GC matches a float64 reference drawing the same noise (Pg + N(0, eta / t^gamma)) over 100 steps",
      seed: 211,
      lr: 0.05,
      options: { eta: 0.5, seed: 17, gc: true },
    },
    {
      name:
        "noisySgd() without GC matches a float64 reference with optax's defaults (eta 0.01, gamma 0.55, seed 0) over 100 steps",
      seed: 212,
      lr: 0.05,
      options: {},
    },
    {
      name:
        'noisySgd({ gcOn: "update", gamma }) with GC centralizes g + noise and matches a float64 reference with a cosine-decay schedule over 100 steps',
      seed: 213,
      lr: {
        schedule: () => cosineDecaySchedule(0.1, { decaySteps: 20 }),
        at: (c) => 0.1 * 0.5 * (1 + Math.cos(Math.PI * Math.min(c, 20) / 20)),
      },
      options: {
        eta: 1,
        gamma: 0.3,
        seed: 4000000000,
        gc: true,
        gcOn: "update",
      },
    },
  ],
  // GC on the noisy update keeps every mean (Theorem 4.1: P is the last
  // non-linear step); on the gradient the noise would move them.
  conformance: [{
    // quad 9e-5 / 8e-5; rosen 2e-2 / 2e-5
    name: 'noisySgd({ gcOn: "update" })',
    frozenBecause: "P is its last non-linear step",
    options: { gcOn: "update" },
    quadraticMeans: "frozen",
    rosenbrockMeans: "frozen",
    quadratic: {
      off: { lr: 0.3, steps: 300 },
      on: { lr: 0.3, steps: 300 },
    },
    rosenbrock: {
      off: { lr: 0.0019, steps: 5000 },
      on: { lr: 0.001, steps: 300 },
    },
  }],
  // tfjs has no noisy SGD
  tfjs: [],
  fused: [{ label: "noisySgd", lr: 0.05, options: { eta: 0.1, seed: 3 } }],
  agreement: [{ label: "noisySgd", lr: 0.01, options: { eta: 0.1 } }],
  boundaries: [{ label: "noisySgd gc", lr: 0.1, options: { gc: true } }],
  json: [{
    learningRate: 0.01,
    eta: 0.1,
    gamma: 0.6,
    seed: 12345,
    gc: true,
    gcOn: "update",
  }],
  resume: [{ learningRate: 0.01, eta: 0.1, seed: 9, gc: true }],
  errors: [
    { lr: -1, message: /learningRate must be in \[0, Infinity\], got -1/ },
    {
      lr: 0.1,
      options: { eta: -0.01 },
      message: /eta must be in \[0, Infinity\], got -0.01/,
    },
    {
      lr: 0.1,
      options: { seed: 1.5 },
      message: /seed must be a whole number in \[0, 4294967295\], got 1.5/,
    },
  ],
  hostile: {
    numbers: {
      eta: { ok: 0.01, min: 0, max: Infinity },
      gamma: { ok: 0.55, min: 0, max: Infinity },
      seed: { ok: 0, min: 0, max: 0xffffffff },
    },
    booleans: ["gc"],
  },
};
