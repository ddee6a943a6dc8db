// The test row of `sgdw`: its float64 reference and the settings each
// suite runs it with (see ../row_types.ts).
import { sgdRef } from "../reference64.ts";
import type { OptimizerRow } from "../row_types.ts";
import { gcOf, num, quadBoth, WD } from "./_shared.ts";

export const sgdwRow: OptimizerRow = {
  // SGD with decoupled decay λ (default 1e-4), GC on the raw gradient
  reference: (lr, o) =>
    sgdRef({
      lr,
      ...(o.momentum === undefined ? {} : { momentum: num(o, "momentum")! }),
      nesterov: o.nesterov === true,
      decoupled: num(o, "weightDecay") ?? 1e-4,
      gc: gcOf(o),
    }),
  referenceCases: [
    {
      name:
        "sgdw({ momentum, weightDecay }) with GC centralizes the raw gradient and matches a float64 SGDW reference over 100 steps",
      seed: 20,
      lr: 0.02,
      options: { momentum: 0.9, weightDecay: 0.5, gc: true },
    },
    {
      name:
        "sgdw({ momentum, nesterov, weightDecay }) without GC matches a float64 SGDW reference over 100 steps",
      seed: 39,
      lr: 0.02,
      options: { momentum: 0.9, nesterov: true, weightDecay: 0.5 },
    },
  ],
  conformance: [
    {
      // quad 2e-10 / 2e-10; rosen 3e-3 / 5e-5
      name: `sgdw({ momentum: 0.9, weightDecay: ${WD} })`,
      options: { momentum: 0.9, weightDecay: WD },
      quadraticMeans: { decay: WD },
      rosenbrockMeans: { decay: WD },
      quadratic: quadBoth(0.1),
      rosenbrock: {
        off: { lr: 0.001, steps: 1500 },
        on: { lr: 0.001, steps: 300 },
      },
    },
  ],
  // tfjs has no SGDW
  tfjs: [],
  fused: [{
    label: "sgdw",
    lr: 0.05,
    options: { momentum: 0.9, weightDecay: 1e-2 },
  }],
  agreement: [{
    label: "sgdw",
    lr: 0.05,
    options: { momentum: 0.9, weightDecay: 1e-2 },
  }],
  boundaries: [{
    label: "sgdw gc",
    lr: 0.1,
    options: { momentum: 0.9, weightDecay: 1e-2, gc: true },
  }],
  json: [{
    learningRate: 0.1,
    momentum: 0.9,
    weightDecay: 1e-4,
    gc: "conv",
  }],
  resume: [{ learningRate: 0.1, momentum: 0.5, weightDecay: 0.01 }],
  errors: [{
    lr: 0.1,
    options: { weightDecay: -1 },
    message: /weightDecay must be in \[0, Infinity\], got -1/,
  }],
  hostile: {
    numbers: {
      momentum: { ok: 0.9, min: 0, max: 1 },
      weightDecay: { ok: 1e-4, min: 0, max: Infinity },
    },
    booleans: ["nesterov", "gc"],
  },
};
