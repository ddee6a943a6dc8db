// The test row of `sgd`: its float64 reference and the settings each
// suite runs it with (see ../row_types.ts).
import * as tf from "@tensorflow/tfjs";
import { cosineDecaySchedule } from "@centra/chain";
import { sgdRef } from "../reference64.ts";
import type { OptimizerRow } from "../row_types.ts";
import { gcOf, num, quadBoth } from "./_shared.ts";

export const sgdRow: OptimizerRow = {
  // PyTorch SGD; weightDecay is L2, added to the gradient before GC
  reference: (lr, o) =>
    sgdRef({
      lr,
      ...(o.momentum === undefined ? {} : { momentum: num(o, "momentum")! }),
      nesterov: o.nesterov === true,
      ...(o.weightDecay === undefined ? {} : { l2: num(o, "weightDecay")! }),
      gc: gcOf(o),
    }),
  referenceCases: [
    {
      name: "sgd() with GC matches a float64 SGD + GC reference over 100 steps",
      seed: 13,
      lr: 0.05,
      options: { gc: true },
    },
    {
      name: "sgd() without GC matches a float64 SGD reference over 100 steps",
      seed: 14,
      lr: 0.05,
      options: {},
    },
    {
      name:
        "sgd({ momentum }) with GC matches a float64 SGDM + GC reference (m = βm + Pg) over 100 steps",
      seed: 15,
      lr: 0.02,
      options: { momentum: 0.9, gc: true },
    },
    {
      name:
        "sgd({ momentum, weightDecay }) with GC centralizes g + λw (paper 3.4) and matches a float64 reference over 100 steps",
      seed: 16,
      lr: 0.02,
      options: { momentum: 0.9, weightDecay: 0.05, gc: true },
    },
    {
      name:
        "sgd({ momentum, nesterov, weightDecay }) with GC matches a float64 Nesterov reference over 100 steps",
      seed: 17,
      lr: 0.02,
      options: { momentum: 0.8, nesterov: true, weightDecay: 0.05, gc: true },
    },
    {
      name:
        'sgd({ momentum, gc: "conv" }) centralizes only rank >= 3 kernels and matches a float64 reference over 100 steps',
      seed: 18,
      lr: 0.02,
      options: { momentum: 0.9, gc: "conv" },
    },
    {
      name:
        "sgd() with a cosine-decay learning rate schedule and GC matches a float64 reference over 100 steps",
      seed: 19,
      lr: {
        schedule: () =>
          cosineDecaySchedule(0.1, { decaySteps: 20, alpha: 0.1 }),
        at: (c) =>
          0.1 *
          (0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(c, 20) / 20)) + 0.1),
      },
      options: { momentum: 0.5, gc: true },
    },
  ],
  // Achieved values (cpu): quadratic final/initial loss (off) and excess over
  // the subspace minimum (on); Rosenbrock worst distance to (1, 1) (off / on).
  conformance: [
    {
      // quad 3e-14 / 2e-14; rosen 2e-2 / 6e-7
      name: "sgd()",
      frozenBecause: "Theorem 4.1",
      options: {},
      quadraticMeans: "frozen",
      rosenbrockMeans: "frozen",
      quadratic: quadBoth(0.3),
      rosenbrock: {
        off: { lr: 0.0019, steps: 5000 },
        on: { lr: 0.001, steps: 300 },
      },
    },
    {
      // quad 2e-14 / 2e-14; rosen 3e-3 / 2e-6
      name: "sgd({ momentum: 0.9 })",
      frozenBecause: "Theorem 4.1",
      options: { momentum: 0.9 },
      quadraticMeans: "frozen",
      rosenbrockMeans: "frozen",
      quadratic: quadBoth(0.1),
      rosenbrock: {
        off: { lr: 0.001, steps: 1500 },
        on: { lr: 0.001, steps: 300 },
      },
    },
    {
      // quad 0 / 0; rosen 2e-3 / 1e-7
      name: "sgd({ momentum: 0.9, nesterov: true })",
      frozenBecause: "Theorem 4.1",
      options: { momentum: 0.9, nesterov: true },
      quadraticMeans: "frozen",
      rosenbrockMeans: "frozen",
      quadratic: quadBoth(0.1),
      rosenbrock: {
        off: { lr: 0.001, steps: 1500 },
        on: { lr: 0.001, steps: 300 },
      },
    },
  ],
  tfjs: [
    {
      name: "sgd() matches tf.train.sgd",
      lr: 0.01,
      options: {},
      theirs: (lr) => tf.train.sgd(lr),
    },
    {
      name: "sgd({ momentum }) matches tf.train.momentum",
      lr: 0.01,
      options: { momentum: 0.9 },
      theirs: (lr) => tf.train.momentum(lr, 0.9),
    },
    {
      name:
        "sgd({ momentum, nesterov }) matches tf.train.momentum with useNesterov",
      lr: 0.01,
      options: { momentum: 0.9, nesterov: true },
      theirs: (lr) => tf.train.momentum(lr, 0.9, true),
    },
  ],
  fused: [
    { label: "sgd", lr: 0.05, options: {} },
    {
      label: "sgd nesterov + L2",
      lr: 0.05,
      options: { momentum: 0.9, nesterov: true, weightDecay: 1e-2 },
    },
  ],
  agreement: [
    { label: "sgd", lr: 0.05, options: {} },
    {
      label: "sgd momentum nesterov + L2",
      lr: 0.05,
      options: { momentum: 0.9, nesterov: true, weightDecay: 1e-2 },
    },
  ],
  boundaries: [
    { label: "sgd", lr: 0.1, options: {} },
    { label: "sgd momentum gc", lr: 0.1, options: { momentum: 0.9, gc: true } },
  ],
  json: [{
    learningRate: 0.1,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 1e-4,
    gc: true,
  }],
  resume: [{ learningRate: 0.1, momentum: 0.9, nesterov: true, gc: true }],
  errors: [
    { lr: -0.1, message: /learningRate must be in \[0, Infinity\], got -0.1/ },
    { lr: NaN, message: /learningRate must be finite, got NaN/ },
    {
      lr: 0.1,
      options: { momentum: 1.5 },
      message: /momentum must be in \[0, 1\], got 1.5/,
    },
    {
      lr: 0.1,
      options: { nesterov: true },
      message: /nesterov needs momentum > 0/,
    },
  ],
  hostile: {
    numbers: {
      momentum: { ok: 0.9, min: 0, max: 1 },
      weightDecay: { ok: 1e-4, min: 0, max: Infinity },
    },
    booleans: ["nesterov", "gc"],
  },
};
