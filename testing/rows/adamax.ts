// adamax's row: Kingma and Ba 2015 (arXiv:1412.6980, Algorithm 2) in optax's
// form, written here from optax's documented rule: m = b1 m + (1 - b1) g,
// u = max(b2 u, |g| + eps), w = w - lr m / (1 - b1^t) / u.
import * as tf from "@tensorflow/tfjs";
import type { OptimizerRow } from "../row_types.ts";
import {
  type ElementRule,
  elementwiseRef,
  numOr,
  type Options,
} from "./_elementwise_ref.ts";
import { cosineLr } from "./_shared.ts";

/** Adamax's rule for one element, with `o`'s b1, b2 and eps (optax's defaults). */
export function adamaxRule(o: Options): ElementRule {
  const b1 = numOr(o, "b1", 0.9), b2 = numOr(o, "b2", 0.999);
  const eps = numOr(o, "eps", 1e-8);
  return (g, [m, u], i, t) => {
    m![i] = b1 * m![i]! + (1 - b1) * g;
    u![i] = Math.max(b2 * u![i]!, Math.abs(g) + eps);
    return m![i]! / (1 - Math.pow(b1, t)) / u![i]!;
  };
}

export const adamaxRow: OptimizerRow = {
  reference: (lr, o) =>
    elementwiseRef({ lr, options: o, slots: [0, 0], rule: adamaxRule(o) }),
  referenceCases: [
    {
      name:
        "adamax() with GC matches a float64 Adamax reference (Kingma and Ba 2015, Algorithm 2, optax's eps) on Pg over 100 steps",
      seed: 101,
      lr: 0.01,
      options: { gc: true },
    },
    {
      // eps 1e-3 inside the maximum: an eps added outside would move weights
      name:
        "adamax({ b1, b2, eps: 1e-3 }) without GC matches a float64 reference (eps inside the maximum) over 100 steps",
      seed: 102,
      lr: 0.01,
      options: { b1: 0.8, b2: 0.95, eps: 1e-3 },
    },
    {
      name:
        'adamax({ gc: true, gcOn: "update" }) with a cosine-decay learning rate centralizes the scaled update and matches a float64 reference over 100 steps',
      seed: 103,
      lr: cosineLr(0.02, 20),
      options: { gc: true, gcOn: "update" },
    },
  ],
  conformance: [{
    // rosen 9e-3 / 9e-7 (plain Adamax crawls along the valley at lr 0.1)
    name: "adamax()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: { off: { lr: 0.1, steps: 300 }, on: { lr: 0.1, steps: 300 } },
    rosenbrock: {
      off: { lr: 0.3, steps: 3000 },
      on: { lr: 0.03, steps: 300 },
    },
  }],
  tfjs: [{
    // tfjs adds eps to the norm outside the maximum, optax inside it: with
    // tfjs's 1e-7 on both sides the two differ by a relative eps / u < 1e-6
    name:
      "adamax({ eps: 1e-7 }) matches tf.train.adamax with tfjs's defaults (lr 0.002, b1 0.9, b2 0.999, eps 1e-7)",
    lr: 0.002,
    options: { eps: 1e-7 },
    theirs: (lr) => tf.train.adamax(lr, 0.9, 0.999, 1e-7),
  }],
  fused: [{ label: "adamax", lr: 0.05, options: {} }],
  agreement: [{ label: "adamax", lr: 0.01, options: {} }],
  boundaries: [{ label: "adamax gc", lr: 0.1, options: { gc: true } }],
  json: [{
    learningRate: 2e-3,
    b1: 0.8,
    b2: 0.99,
    eps: 1e-7,
    gc: true,
    gcOn: "update",
  }],
  resume: [{ learningRate: 0.01, b2: 0.99, gc: true }],
  errors: [
    { lr: 0.1, options: { b2: 1 }, message: /b2 must be in \[0, 1\), got 1/ },
    {
      lr: 0.1,
      options: { eps: -1 },
      message: /eps must be in \[0, Infinity\], got -1/,
    },
  ],
  hostile: {
    numbers: {
      b1: { ok: 0.9, min: 0, max: 1 },
      b2: { ok: 0.999, min: 0, max: 1 },
      eps: { ok: 1e-8, min: 0, max: Infinity },
    },
    booleans: ["gc"],
  },
};
