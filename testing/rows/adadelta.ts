// adadelta's row: Zeiler 2012 (arXiv:1212.5701, Algorithm 1) as optax
// documents it, written here from the paper: E[g²] = ρ E[g²] + (1 - ρ) g²,
// Δ = sqrt(E[Δx²] + eps) / sqrt(E[g²] + eps) g (this step's E[g²], the last
// step's E[Δx²]), E[Δx²] = ρ E[Δx²] + (1 - ρ) Δ², w = w - lr Δ; optax's
// weight decay is L2, added to the gradient before GC. With `tfjsCompat`,
// tf.train.adadelta's rule as tfjs-core's AdadeltaOptimizer documents and
// implements it (src/optimizers/adadelta_optimizer.ts, tfjs 4.22), written
// here from its text: the same averages, but Δ = sqrt(E[Δx²] + eps) /
// sqrt(E[g²]_prev + eps) g with the E[g²] of the step before (0 at first),
// and tfjs's defaults rho 0.95, eps 1e-7 (the float32 backends' epsilon).
import * as tf from "@tensorflow/tfjs";
import { exponentialDecaySchedule } from "@centra/chain";
import type { OptimizerRow } from "../row_types.ts";
import { elementwiseRef, numOr } from "./_elementwise_ref.ts";

export const adadeltaRow: OptimizerRow = {
  reference: (lr, o) => {
    const tfjs = o.tfjsCompat === true;
    const rho = numOr(o, "rho", tfjs ? 0.95 : 0.9);
    const eps = numOr(o, "eps", tfjs ? 1e-7 : 1e-6);
    const l2 = numOr(o, "weightDecay", 0);
    return elementwiseRef({
      lr,
      options: o,
      slots: [0, 0],
      ...(l2 > 0 ? { l2 } : {}),
      rule: tfjs
        ? (g, [eG, eX], i) => {
          // tfjs: the ratio of the two averages as they were before this step
          const d = Math.sqrt(eX![i]! + eps) / Math.sqrt(eG![i]! + eps) * g;
          eG![i] = rho * eG![i]! + (1 - rho) * g * g;
          eX![i] = rho * eX![i]! + (1 - rho) * d * d;
          return d;
        }
        : (g, [eG, eX], i) => {
          eG![i] = rho * eG![i]! + (1 - rho) * g * g;
          const d = Math.sqrt(eX![i]! + eps) / Math.sqrt(eG![i]! + eps) * g;
          eX![i] = rho * eX![i]! + (1 - rho) * d * d;
          return d;
        },
    });
  },
  // Zeiler's learning rate is 1; eps 1e-3 makes the first steps ~0.03, so
  // that the weights move well past the tolerance
  referenceCases: [
    {
      name:
        "adadelta() with GC matches a float64 Adadelta reference (Zeiler 2012, Algorithm 1) on Pg over 100 steps",
      seed: 111,
      lr: 1,
      options: { eps: 1e-3, gc: true },
    },
    {
      name:
        "adadelta({ rho, eps }) without GC matches a float64 Adadelta reference over 100 steps",
      seed: 112,
      lr: 0.5,
      options: { rho: 0.95, eps: 1e-2 },
    },
    {
      name:
        "adadelta({ weightDecay }) with GC centralizes g + λw (L2, optax) and matches a float64 reference over 100 steps",
      seed: 113,
      lr: 1,
      options: { eps: 1e-3, weightDecay: 0.1, gc: true },
    },
    {
      name:
        'adadelta({ gc: true, gcOn: "update" }) centralizes the scaled update and matches a float64 reference over 100 steps',
      seed: 114,
      lr: 1,
      options: { eps: 1e-3, gc: true, gcOn: "update" },
    },
    {
      // tfjs's eps 1e-7: its first step is g, then |Δ| ~ |g| (the ratio of
      // two averages of the same scale), so lr 0.05 moves the weights ~1
      name:
        "adadelta({ tfjsCompat: true }) with GC matches a float64 reference of tf.train.adadelta's rule (the last step's E[g²], rho 0.95, eps 1e-7) on Pg over 100 steps",
      seed: 115,
      lr: 0.05,
      options: { tfjsCompat: true, gc: true },
    },
    {
      name:
        "adadelta({ tfjsCompat: true, rho, eps }) without GC matches a float64 reference of tf.train.adadelta's rule over 100 steps",
      seed: 116,
      lr: 0.05,
      options: { tfjsCompat: true, rho: 0.8, eps: 1e-3 },
    },
    {
      name:
        'adadelta({ tfjsCompat: true, weightDecay, gc: true, gcOn: "update" }) centralizes tfjs\'s scaled update and matches a float64 reference over 100 steps',
      seed: 117,
      lr: 0.05,
      options: { tfjsCompat: true, weightDecay: 0.1, gc: true, gcOn: "update" },
    },
  ],
  conformance: [{
    // quad 2e-4 (off); rosen 2e-2 / 8e-3 (float64 reference). Constant-lr
    // Adadelta circles the minimum, so plain Rosenbrock takes a decaying rate
    name: "adadelta()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: { off: { lr: 1, steps: 1000 }, on: { lr: 1, steps: 1000 } },
    rosenbrock: {
      off: {
        lr: exponentialDecaySchedule(2, {
          transitionSteps: 4000,
          decayRate: 0.05,
        }),
        steps: 4000,
      },
      on: { lr: 1, steps: 300 },
    },
  }],
  // tfjs 4.22's adadelta divides by the previous step's E[g²] (its first
  // step is -lr g), unlike the paper, optax, Keras and PyTorch: centra's
  // default cannot equal it (packages/chain/adadelta_test.ts pins that down),
  // tfjsCompat takes tfjs's rule and defaults
  tfjs: [
    {
      name:
        "adadelta(lr, { tfjsCompat: true }) matches tf.train.adadelta with tfjs's defaults (lr 0.001, rho 0.95, eps 1e-7)",
      lr: 0.001,
      options: { tfjsCompat: true },
      theirs: (lr) => tf.train.adadelta(lr),
    },
    {
      name:
        "adadelta(lr, { tfjsCompat: true, rho, eps }) matches tf.train.adadelta(lr, rho, eps)",
      lr: 0.05,
      options: { tfjsCompat: true, rho: 0.8, eps: 1e-3 },
      theirs: (lr) => tf.train.adadelta(lr, 0.8, 1e-3),
    },
  ],
  fused: [
    { label: "adadelta", lr: 1, options: { eps: 1e-3 } },
    { label: "adadelta tfjsCompat", lr: 0.05, options: { tfjsCompat: true } },
  ],
  agreement: [{
    label: "adadelta + L2",
    lr: 1,
    options: { eps: 1e-3, weightDecay: 1e-2 },
  }],
  boundaries: [{ label: "adadelta gc", lr: 1, options: { gc: true } }],
  json: [{
    learningRate: 1,
    rho: 0.95,
    eps: 1e-7,
    weightDecay: 1e-4,
    gc: true,
    gcOn: "update",
  }, { learningRate: 1e-3, tfjsCompat: true, gc: true }],
  resume: [{ learningRate: 1, eps: 1e-3, weightDecay: 0.01, gc: true }],
  errors: [
    {
      lr: 0.1,
      options: { rho: 1.5 },
      message: /rho must be in \[0, 1\], got 1.5/,
    },
    {
      lr: 0.1,
      options: { weightDecay: -1 },
      message: /weightDecay must be in \[0, Infinity\], got -1/,
    },
  ],
  hostile: {
    numbers: {
      rho: { ok: 0.9, min: 0, max: 1 },
      eps: { ok: 1e-6, min: 0, max: Infinity },
      weightDecay: { ok: 1e-4, min: 0, max: Infinity },
    },
    booleans: ["gc", "tfjsCompat"],
  },
};
