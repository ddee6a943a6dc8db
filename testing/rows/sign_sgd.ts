// The test row of signSgd, with its float64 reference written from the
// documented rule (Bernstein et al. 2018; optax's sign_sgd): u = sign(g),
// w = w - lr u; GC on g before the sign, or on the signs (gcOn "update").
import { cosineDecaySchedule } from "@centra/chain";
import type { OptimizerRow } from "../row_types.ts";
import { gc64, gcApplies, lrAt } from "../reference64.ts";
import { cosineLr, gcOf } from "./_shared.ts";

/** signSgd's test row. */
export const signSgdRow: OptimizerRow = {
  reference: (lr, o) => (shapes) => (w, grads, t) => {
    const rate = lrAt(lr, t);
    const onUpdate = o.gcOn === "update";
    shapes.forEach((shape, k) => {
      const gcHere = gcApplies(gcOf(o), shape);
      const g = gcHere && !onUpdate ? gc64(grads[k]!, shape) : grads[k]!;
      let d: Float64Array = g.map((x) => Math.sign(x));
      if (gcHere && onUpdate) d = gc64(d, shape);
      const wk = w[k]!;
      for (let i = 0; i < wk.length; i++) wk[i] = wk[i]! - rate * d[i]!;
    });
  },
  referenceCases: [
    {
      name:
        "signSgd() with GC matches a float64 signSGD reference (w -= lr sign(Pg)) over 100 steps",
      seed: 151,
      lr: 0.01,
      options: { gc: true },
    },
    {
      name:
        "signSgd() without GC matches a float64 signSGD reference over 100 steps",
      seed: 152,
      lr: 0.01,
      options: {},
    },
    {
      name:
        'signSgd({ gc: true, gcOn: "update" }) centralizes the signs and matches a float64 reference over 100 steps',
      seed: 153,
      lr: 0.01,
      options: { gc: true, gcOn: "update" },
    },
    {
      name:
        "signSgd() with a cosine-decay learning rate schedule and GC matches a float64 reference over 100 steps",
      seed: 154,
      lr: cosineLr(0.02, 20),
      options: { gc: true },
    },
  ],
  // A constant step of lr per coordinate hovers at an lr-sized cycle, so the
  // rows decay the learning rate.
  conformance: [{
    // quad 6e-12 / 5e-9; rosen 3e-2 / 8e-7
    name: "signSgd()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: {
      off: { lr: cosineDecaySchedule(0.05, { decaySteps: 600 }), steps: 600 },
      on: { lr: cosineDecaySchedule(0.05, { decaySteps: 600 }), steps: 600 },
    },
    rosenbrock: {
      // sign descent zigzags down the curved valley: slow
      off: {
        lr: cosineDecaySchedule(0.001, { decaySteps: 12000 }),
        steps: 12000,
      },
      on: { lr: cosineDecaySchedule(0.01, { decaySteps: 300 }), steps: 300 },
    },
  }],
  // tfjs has no signSGD
  tfjs: [],
  fused: [{ label: "signSgd", lr: 0.05, options: {} }],
  agreement: [{ label: "signSgd", lr: 0.01, options: {} }],
  boundaries: [{ label: "signSgd gc", lr: 0.1, options: { gc: true } }],
  json: [{ learningRate: 1e-3, gc: true, gcOn: "update" }],
  resume: [{ learningRate: 0.01, gc: true }],
  errors: [
    { lr: -1, message: /learningRate must be in \[0, Infinity\], got -1/ },
  ],
  hostile: { numbers: {}, booleans: ["gc"] },
};
