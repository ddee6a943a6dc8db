// The test row of `adagrad`: its float64 reference and the settings each
// suite runs it with (see ../row_types.ts).
import * as tf from "@tensorflow/tfjs";
import { adagradRef } from "../reference64.ts";
import type { OptimizerRow } from "../row_types.ts";
import { gcOf, num, quadBoth } from "./_shared.ts";

export const adagradRow: OptimizerRow = {
  // tfjs's Adagrad: accumulator from 0.1, eps 1e-7 inside the square root
  reference: (lr, o) =>
    adagradRef(
      lr,
      num(o, "initialAccumulatorValue") ?? 0.1,
      num(o, "eps") ?? 1e-7,
      gcOf(o),
    ),
  referenceCases: [
    {
      name:
        "adagrad() with GC matches a float64 tfjs-style Adagrad (0.1 start, eps inside sqrt) over 100 steps",
      seed: 29,
      lr: 0.05,
      options: { gc: true },
    },
    {
      name:
        "adagrad() without GC matches a float64 Adagrad reference with a zero start over 100 steps",
      seed: 30,
      lr: 0.05,
      options: { initialAccumulatorValue: 0, eps: 1e-7 },
    },
  ],
  conformance: [{
    // quad 8e-15 / 0; rosen 2e-2 / 6e-7 (the huge first gradients fill the
    // accumulator, so plain Adagrad needs lr 1 and many steps)
    name: "adagrad()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: quadBoth(1),
    rosenbrock: { off: { lr: 1, steps: 6000 }, on: { lr: 0.1, steps: 300 } },
  }],
  tfjs: [{
    name: "adagrad() matches tf.train.adagrad (0.1 start, eps 1e-7)",
    lr: 0.01,
    options: {},
    theirs: (lr) => tf.train.adagrad(lr),
  }],
  fused: [{ label: "adagrad", lr: 0.1, options: {} }],
  agreement: [{ label: "adagrad", lr: 0.1, options: {} }],
  boundaries: [{ label: "adagrad", lr: 0.1, options: {} }],
  json: [{ learningRate: 0.1, initialAccumulatorValue: 0.2, eps: 1e-7 }],
  resume: [{ learningRate: 0.1 }],
  errors: [{
    lr: 0.1,
    options: { initialAccumulatorValue: -1 },
    message: /initialAccumulatorValue must be in/,
  }],
  hostile: {
    numbers: { eps: { ok: 1e-7, min: 0, max: Infinity } },
    booleans: ["gc"],
  },
};
