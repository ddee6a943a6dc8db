// radam's row: Liu et al. 2019 (arXiv:1908.03265, Algorithm 2) with optax's
// threshold 5, written here from the paper and optax's documented rule:
// Adam's m, v; m̂ = m / (1 - b1^t) (Nesterov: b1 m / (1 - b1^(t+1)) + (1 -
// b1) g / (1 - b1^t)); ρ∞ = 2 / (1 - b2) - 1, ρ_t = ρ∞ - 2 t b2^t / (1 -
// b2^t); the update is m̂ while ρ_t < threshold, else r_t m̂ / (sqrt(v /
// (1 - b2^t) + epsRoot) + eps) with r_t = sqrt((ρ_t - 4)(ρ_t - 2) ρ∞ /
// ((ρ∞ - 4)(ρ∞ - 2) ρ_t)). ρ_t in float64 here.
import { piecewiseConstantSchedule } from "@centra/chain";
import type { OptimizerRow } from "../row_types.ts";
import { elementwiseRef, numOr } from "./_elementwise_ref.ts";
import { cosineLr } from "./_shared.ts";

export const radamRow: OptimizerRow = {
  reference: (lr, o) => {
    const b1 = numOr(o, "b1", 0.9), b2 = numOr(o, "b2", 0.999);
    const eps = numOr(o, "eps", 1e-8), epsRoot = numOr(o, "epsRoot", 0);
    const threshold = numOr(o, "threshold", 5);
    const nesterov = o.nesterov === true;
    const rhoInf = 2 / (1 - b2) - 1;
    return elementwiseRef({
      lr,
      options: o,
      slots: [0, 0],
      rule: (g, [m, v], i, t) => {
        m![i] = b1 * m![i]! + (1 - b1) * g;
        v![i] = b2 * v![i]! + (1 - b2) * g * g;
        const mHat = nesterov
          ? b1 * m![i]! / (1 - Math.pow(b1, t + 1)) +
            (1 - b1) * g / (1 - Math.pow(b1, t))
          : m![i]! / (1 - Math.pow(b1, t));
        const b2t = Math.pow(b2, t);
        const rho = rhoInf - 2 * t * b2t / (1 - b2t);
        if (rho < threshold) return mHat;
        const r = Math.sqrt(
          (rho - 4) * (rho - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rho),
        );
        const vHat = v![i]! / (1 - b2t);
        return r * mHat / (Math.sqrt(vHat + epsRoot) + eps);
      },
    });
  },
  // 30 steps: ρ_t passes 5 at step 6 (b2 0.999 and 0.99), so both phases
  // and the switch are covered
  referenceCases: [
    {
      name:
        "radam() with GC matches a float64 RAdam reference (Liu et al. 2019, optax's threshold 5) on Pg over 100 steps",
      seed: 161,
      lr: 0.01,
      options: { gc: true },
    },
    {
      name:
        "radam({ b2: 0.99, nesterov, eps: 1e-3 }) without GC matches a float64 reference over 100 steps",
      seed: 162,
      lr: 0.01,
      options: { b1: 0.8, b2: 0.99, eps: 1e-3, nesterov: true },
    },
    {
      name:
        'radam({ gc: true, gcOn: "update", threshold: 8, epsRoot }) with a cosine-decay learning rate matches a float64 reference over 100 steps',
      seed: 163,
      lr: cosineLr(0.02, 20),
      options: { gc: true, gcOn: "update", threshold: 8, epsRoot: 1e-4 },
    },
  ],
  conformance: [{
    // rosen 1e-4 / 3e-6 (float64 reference). RAdam's first five steps are
    // momentum SGD, which Rosenbrock's gradients (~1e3) blow up at lr 0.1,
    // so its rate is 1e-3 until the rectified steps start at step 6
    name: "radam()",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: { off: { lr: 0.1, steps: 300 }, on: { lr: 0.1, steps: 300 } },
    rosenbrock: {
      off: { lr: piecewiseConstantSchedule(1e-3, { 5: 300 }), steps: 2000 },
      on: { lr: piecewiseConstantSchedule(1e-3, { 5: 100 }), steps: 300 },
    },
  }],
  // tfjs has no RAdam
  tfjs: [],
  // one fused variant: op by op, RAdam is the slowest row on webgpu (its
  // per-step scalars are ~100 small ops), 6 s per 100 steps on llvmpipe
  fused: [{
    label: "radam nesterov",
    lr: 0.05,
    options: { nesterov: true, b2: 0.99 },
  }],
  agreement: [{ label: "radam", lr: 0.01, options: {} }],
  boundaries: [{ label: "radam gc", lr: 0.1, options: { gc: true } }],
  json: [{
    learningRate: 1e-3,
    b1: 0.8,
    b2: 0.99,
    eps: 1e-7,
    epsRoot: 1e-8,
    threshold: 4,
    nesterov: true,
    gc: true,
  }],
  // its 6 steps end on the first rectified one (ρ_6 >= 5 > ρ_5)
  resume: [{ learningRate: 0.01, gc: true, gcOn: "update" }],
  errors: [
    {
      lr: 0.1,
      options: { threshold: 3 },
      message: /threshold must be in \[4, Infinity\], got 3/,
    },
    { lr: 0.1, options: { b2: 1 }, message: /b2 must be in \[0, 1\), got 1/ },
  ],
  hostile: {
    numbers: {
      b1: { ok: 0.9, min: 0, max: 1 },
      b2: { ok: 0.999, min: 0, max: 1 },
      eps: { ok: 1e-8, min: 0, max: Infinity },
      epsRoot: { ok: 0, min: 0, max: Infinity },
      threshold: { ok: 5, min: 4, max: Infinity },
    },
    booleans: ["nesterov", "gc"],
  },
};
