// The test row of `rmsprop`: its float64 reference and the settings each
// suite runs it with (see ../row_types.ts).
import * as tf from "@tensorflow/tfjs";
import { cosineDecaySchedule, exponentialDecaySchedule } from "@centra/chain";
import { rmspropRef } from "../reference64.ts";
import type { OptimizerRow } from "../row_types.ts";
import { gcOf, num, QUAD_STEPS, quadBoth } from "./_shared.ts";

export const rmspropRow: OptimizerRow = {
  // tfjs's RMSProp: the learning rate before momentum; decay 0.9, eps 1e-8
  reference: (lr, o) =>
    rmspropRef({
      lr,
      decay: num(o, "decay") ?? 0.9,
      eps: num(o, "eps") ?? 1e-8,
      centered: o.centered === true,
      ...(o.momentum === undefined ? {} : { momentum: num(o, "momentum")! }),
      gc: gcOf(o),
    }),
  referenceCases: [
    {
      name:
        "rmsprop() with GC matches a float64 tfjs-style RMSProp reference over 100 steps",
      seed: 31,
      lr: 0.005,
      options: { decay: 0.9, eps: 1e-7, gc: true },
    },
    {
      name:
        "rmsprop({ centered }) with GC matches a float64 centred RMSProp reference over 100 steps",
      seed: 32,
      lr: 0.005,
      options: { decay: 0.9, eps: 1e-7, centered: true, gc: true },
    },
    {
      name:
        "rmsprop({ momentum }) with GC applies momentum after the learning rate (tfjs) and matches a float64 reference over 100 steps",
      seed: 33,
      lr: 0.005,
      options: { decay: 0.9, eps: 1e-7, momentum: 0.9, gc: true },
    },
    {
      name:
        "rmsprop({ centered, momentum }) without GC matches a float64 reference over 100 steps",
      seed: 34,
      lr: 0.005,
      options: { decay: 0.8, eps: 1e-7, centered: true, momentum: 0.5 },
    },
  ],
  // Constant-lr RMSProp hovers at an lr-sized limit cycle, so its plain rows
  // use a decaying schedule.
  conformance: [
    {
      // quad 0 / 3e-9; rosen 1e-2 / 7e-3
      name: "rmsprop()",
      options: {},
      quadraticMeans: "drifts",
      rosenbrockMeans: "frozen",
      quadratic: {
        off: {
          lr: cosineDecaySchedule(0.1, { decaySteps: QUAD_STEPS }),
          steps: QUAD_STEPS,
        },
        on: {
          lr: cosineDecaySchedule(0.1, { decaySteps: QUAD_STEPS }),
          steps: QUAD_STEPS,
        },
      },
      rosenbrock: {
        off: {
          lr: exponentialDecaySchedule(0.02, {
            transitionSteps: 4000,
            decayRate: 0.05,
          }),
          steps: 4000,
        },
        on: { lr: 0.01, steps: 300 },
      },
    },
    {
      // quad 1e-5 / 9e-6; rosen 2e-4 / 2e-4
      name: "rmsprop({ momentum: 0.9 })",
      options: { momentum: 0.9 },
      quadraticMeans: "drifts",
      rosenbrockMeans: "frozen",
      quadratic: quadBoth(0.01),
      rosenbrock: {
        off: { lr: 0.001, steps: 1500 },
        on: { lr: 0.001, steps: 300 },
      },
    },
  ],
  tfjs: [
    {
      name: "rmsprop({ eps: 1e-7 }) matches tf.train.rmsprop",
      lr: 0.01,
      options: { eps: 1e-7 },
      theirs: (lr) => tf.train.rmsprop(lr, 0.9, 0, 1e-7),
    },
    {
      // tfjs 4.22's centred RMSProp takes sqrt(v - m² - eps) (a sign slip that
      // gives NaN once the variance falls below eps); centra follows PyTorch
      // and optax, sqrt(v - m² + eps). With eps = 0 the two agree.
      name:
        "rmsprop({ momentum, centered }) matches tf.train.rmsprop centered with momentum (eps 0)",
      lr: 0.01,
      options: { eps: 0, momentum: 0.5, centered: true },
      theirs: (lr) => tf.train.rmsprop(lr, 0.9, 0.5, 0, true),
    },
  ],
  fused: [
    { label: "rmsprop", lr: 0.01, options: {} },
    {
      label: "rmsprop centered + momentum",
      lr: 0.01,
      options: { centered: true, momentum: 0.9 },
    },
  ],
  agreement: [
    { label: "rmsprop", lr: 0.01, options: {} },
    {
      label: "rmsprop centered momentum",
      lr: 0.01,
      options: { centered: true, momentum: 0.9 },
    },
  ],
  boundaries: [{
    label: "rmsprop centered",
    lr: 0.1,
    options: { centered: true },
  }],
  json: [{ learningRate: 0.01, decay: 0.95, centered: true, momentum: 0.5 }],
  resume: [{ learningRate: 0.01, centered: true, momentum: 0.5 }],
  errors: [{
    lr: 0.1,
    options: { decay: 2 },
    message: /decay must be in \[0, 1\], got 2/,
  }],
  hostile: {
    numbers: {
      decay: { ok: 0.9, min: 0, max: 1 },
      momentum: { ok: 0.9, min: 0, max: 1 },
      eps: { ok: 1e-7, min: 0, max: Infinity },
    },
    booleans: ["centered", "gc"],
  },
};
