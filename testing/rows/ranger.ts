// The test row of ranger (RAdam + Lookahead + GC) and its float64 reference,
// written from optax's documented scale_by_radam (Liu et al. 2019) and the
// Lookahead paper, not from centra's code:
//   m = b1 m + (1 - b1) ĝ, v = b2 v + (1 - b2) ĝ², ĝ = P g (GC, on by
//   default), m̂ = m / (1 - b1^t), v̂ = v / (1 - b2^t),
//   ρ∞ = 2 / (1 - b2) - 1, ρ = ρ∞ - 2 t b2^t / (1 - b2^t);
//   d = r m̂ / (sqrt(v̂ + epsRoot) + eps) with
//   r = sqrt((ρ - 4)(ρ - 2) ρ∞ / ((ρ∞ - 4)(ρ∞ - 2) ρ)) where ρ >= threshold,
//   else d = m̂; w ← w - lr (d + λ w); then Lookahead (k, α) around it.
// Cases use b2 <= 0.99: with b2 = 0.999, ρ near the threshold is a
// difference of two numbers near 2000, and float32 (optax's too) gets its
// third digit wrong there, beyond a float64 comparison's tolerance.
import { piecewiseConstantSchedule } from "@centra/chain";
import {
  gc64,
  gcApplies,
  type Lr64,
  type RefFactory,
  type Shape,
  zerosFor,
} from "../reference64.ts";
import type { OptimizerRow, Options } from "../row_types.ts";
import { lookaheadRef } from "./lookahead.ts";
import { num } from "./_shared.ts";

/** Float64 RAdam (optax's rule) with GC and decoupled decay. */
function radamRef(lr: Lr64, o: Options): RefFactory {
  const b1 = num(o, "b1") ?? 0.95, b2 = num(o, "b2") ?? 0.999;
  const eps = num(o, "eps") ?? 1e-5, epsRoot = num(o, "epsRoot") ?? 0;
  const threshold = num(o, "threshold") ?? 5;
  const wd = num(o, "weightDecay") ?? 0;
  const gc = (o.gc ?? true) as boolean | "conv";
  const onUpdate = o.gcOn === "update";
  const roInf = 2 / (1 - b2) - 1;
  return (shapes: readonly Shape[]) => {
    const m = zerosFor(shapes), v = zerosFor(shapes);
    return (w, grads, t) => {
      const rate = typeof lr === "number" ? lr : lr(t - 1);
      const b2t = Math.pow(b2, t);
      const ro = roInf - 2 * t * b2t / (1 - b2t);
      const r = Math.sqrt(
        (ro - 4) * (ro - 2) * roInf / ((roInf - 4) * (roInf - 2) * ro),
      );
      shapes.forEach((shape: Shape, k) => {
        const gcHere = gcApplies(gc, shape);
        const g = gcHere && !onUpdate ? gc64(grads[k]!, shape) : grads[k]!;
        const mk = m[k]!, vk = v[k]!, wk = w[k]!;
        let d: Float64Array = new Float64Array(g.length);
        for (let i = 0; i < g.length; i++) {
          mk[i] = b1 * mk[i]! + (1 - b1) * g[i]!;
          vk[i] = b2 * vk[i]! + (1 - b2) * g[i]! * g[i]!;
          const mHat = mk[i]! / (1 - Math.pow(b1, t));
          const vHat = vk[i]! / (1 - b2t);
          d[i] = ro >= threshold
            ? r * mHat / (Math.sqrt(vHat + epsRoot) + eps)
            : mHat;
        }
        if (gcHere && onUpdate) d = gc64(d, shape);
        for (let i = 0; i < g.length; i++) {
          wk[i] = wk[i]! - rate * (d[i]! + wd * wk[i]!);
        }
      });
    };
  };
}

/** Ranger in float64: Lookahead around RAdam, with the table's options. */
export function rangerRef(lr: Lr64, o: Options): RefFactory {
  return lookaheadRef(
    radamRef(lr, o),
    num(o, "syncPeriod") ?? 6,
    num(o, "alpha") ?? 0.5,
  );
}

export const rangerRow: OptimizerRow = {
  reference: rangerRef,
  referenceCases: [
    {
      name:
        "ranger() (GC on by default) matches a float64 RAdam + Lookahead + GC reference over 100 steps, across the threshold",
      seed: 101,
      lr: 0.01,
      options: { b2: 0.99 },
    },
    {
      name:
        "ranger({ gc: false, weightDecay, syncPeriod: 4, alpha: 0.8 }) matches a float64 reference over 100 steps",
      seed: 102,
      lr: 0.01,
      options: {
        gc: false,
        b2: 0.9,
        weightDecay: 0.01,
        syncPeriod: 4,
        alpha: 0.8,
      },
    },
    {
      name:
        'ranger({ gcOn: "update", threshold: 4.5, epsRoot }) centralizes the rectified update and matches a float64 reference over 100 steps',
      seed: 103,
      lr: 0.01,
      options: { gcOn: "update", b2: 0.95, threshold: 4.5, epsRoot: 1e-4 },
    },
  ],
  conformance: [{
    name: "ranger()",
    options: { b2: 0.99 },
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: {
      off: { lr: 0.1, steps: 300 },
      on: { lr: 0.1, steps: 300 },
    },
    // RAdam's first steps (ρ below the threshold: six steps at b2 0.99)
    // are momentum SGD, and Rosenbrock's gradients at the start are in the
    // hundreds: the learning rate is held at 1e-4 for those steps
    rosenbrock: {
      off: {
        lr: piecewiseConstantSchedule(1e-4, { 6: 1000 }),
        steps: 1500,
      },
      on: { lr: piecewiseConstantSchedule(1e-4, { 6: 300 }), steps: 300 },
    },
  }],
  // tfjs has no Ranger
  tfjs: [],
  fused: [{ label: "ranger", lr: 0.05, options: { syncPeriod: 3 } }],
  agreement: [{ label: "ranger", lr: 0.01, options: { syncPeriod: 3 } }],
  boundaries: [{ label: "ranger", lr: 0.1, options: { syncPeriod: 2 } }],
  json: [{
    learningRate: 1e-3,
    b1: 0.9,
    b2: 0.99,
    eps: 1e-6,
    threshold: 4,
    weightDecay: 1e-4,
    syncPeriod: 5,
    alpha: 0.6,
    gc: "conv",
  }],
  // the suite's 6 steps cross RAdam's threshold (b2 0.9: ρ reaches 5 at the
  // 6th step) and a Lookahead synchronization (period 4)
  resume: [{ learningRate: 0.05, b2: 0.9, syncPeriod: 4 }],
  errors: [
    { lr: -1, message: /learningRate must be in \[0, Infinity\], got -1/ },
    { lr: 0.1, options: { b1: 1 }, message: /b1 must be in \[0, 1\), got 1/ },
    {
      lr: 0.1,
      options: { syncPeriod: 0 },
      message: /syncPeriod must be an integer >= 1, got 0/,
    },
    {
      lr: 0.1,
      options: { threshold: 3 },
      message: /threshold must be in \[4, Infinity\], got 3/,
    },
    {
      lr: 0.1,
      options: { weightDecay: -1 },
      message: /weightDecay must be in \[0, Infinity\], got -1/,
    },
  ],
  hostile: {
    numbers: {
      b1: { ok: 0.95, min: 0, max: 1 },
      b2: { ok: 0.999, min: 0, max: 1 },
      eps: { ok: 1e-5, min: 0, max: Infinity },
      weightDecay: { ok: 0, min: 0, max: Infinity },
      syncPeriod: { ok: 6, min: 1, max: Infinity },
      alpha: { ok: 0.5, min: 0, max: 1 },
      threshold: { ok: 5, min: 4, max: Infinity },
    },
    booleans: ["gc"],
  },
};
