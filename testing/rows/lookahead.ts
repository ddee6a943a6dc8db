// The test row of lookahead (the table's entry: Lookahead around Adam, Zhang
// et al. 2019) and its float64 reference, written from the paper's
// Algorithm 1: the inner optimizer moves the fast weights θ; after every
// k-th inner step the slow weights take φ ← φ + α (θ - φ) and θ ← φ. The
// inner step is the float64 Adam of reference64.ts.
import {
  adamRef,
  type Lr64,
  type RefFactory,
  type RefStep,
  type Shape,
} from "../reference64.ts";
import type { OptimizerRow, Options } from "../row_types.ts";
import { num } from "./_shared.ts";

/** Lookahead in float64 around any reference step. */
export function lookaheadRef(
  inner: RefFactory,
  syncPeriod: number,
  alpha: number,
): RefFactory {
  return (shapes: readonly Shape[]): RefStep => {
    const step = inner(shapes);
    let slow: Float64Array[] | undefined;
    return (w, grads, t) => {
      slow ??= w.map((x) => x.slice());
      step(w, grads, t);
      if (t % syncPeriod !== 0) return;
      w.forEach((wk, k) => {
        const sk = slow![k]!;
        for (let i = 0; i < wk.length; i++) {
          sk[i] = sk[i]! + alpha * (wk[i]! - sk[i]!);
          wk[i] = sk[i]!;
        }
      });
    };
  };
}

/** Lookahead around Adam with the table's options (defaults filled in). */
function lookaheadAdamRef(lr: Lr64, o: Options): RefFactory {
  const adam = adamRef({
    lr,
    ...(o.b1 === undefined ? {} : { b1: num(o, "b1")! }),
    ...(o.b2 === undefined ? {} : { b2: num(o, "b2")! }),
    eps: num(o, "eps") ?? 1e-8,
    ...(o.epsRoot === undefined ? {} : { epsRoot: num(o, "epsRoot")! }),
    amsgrad: o.amsgrad === true,
    ...(o.weightDecay === undefined ? {} : { l2: num(o, "weightDecay")! }),
    gc: (o.gc ?? false) as boolean | "conv",
    gcOn: (o.gcOn ?? "gradient") as "gradient" | "update",
  });
  return lookaheadRef(adam, num(o, "syncPeriod") ?? 6, num(o, "alpha") ?? 0.5);
}

export const lookaheadRow: OptimizerRow = {
  reference: lookaheadAdamRef,
  referenceCases: [
    {
      name:
        "lookahead (around adam) with GC matches a float64 Lookahead-Adam reference (Zhang et al. 2019, Algorithm 1) over 100 steps, 5 synchronizations",
      seed: 81,
      lr: 0.02,
      options: { gc: true, eps: 1e-7 },
    },
    {
      name:
        "lookahead (around adam) with syncPeriod 4 and alpha 0.8, without GC, matches a float64 reference over 100 steps",
      seed: 82,
      lr: 0.02,
      options: { syncPeriod: 4, alpha: 0.8, b1: 0.8 },
    },
    {
      name:
        'lookahead (around adam) with syncPeriod 1, alpha 0.25 and gcOn "update" matches a float64 reference over 100 steps',
      seed: 83,
      lr: 0.02,
      options: { syncPeriod: 1, alpha: 0.25, gc: true, gcOn: "update" },
    },
  ],
  conformance: [{
    name: "lookahead (around adam)",
    options: {},
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    quadratic: {
      off: { lr: 0.1, steps: 300 },
      on: { lr: 0.1, steps: 300 },
    },
    rosenbrock: {
      off: { lr: 0.1, steps: 3000 },
      on: { lr: 0.03, steps: 300 },
    },
  }],
  // tfjs has no Lookahead
  tfjs: [],
  fused: [{ label: "lookahead", lr: 0.05, options: { syncPeriod: 3 } }],
  agreement: [{
    label: "lookahead",
    lr: 0.01,
    options: { syncPeriod: 3 },
  }],
  boundaries: [{
    label: "lookahead gc",
    lr: 0.1,
    options: { syncPeriod: 2, gc: true },
  }],
  json: [{
    learningRate: 1e-3,
    syncPeriod: 5,
    alpha: 0.8,
    b1: 0.9,
    amsgrad: true,
    gc: true,
  }],
  // a period of 4 in the suite's 6 steps: saves and restores at every offset
  // of the period, across a synchronization
  resume: [{ learningRate: 0.05, syncPeriod: 4, alpha: 0.5, gc: true }],
  errors: [
    { lr: -1, message: /learningRate must be in \[0, Infinity\], got -1/ },
    {
      lr: 0.1,
      options: { syncPeriod: 0 },
      message: /syncPeriod must be an integer >= 1, got 0/,
    },
    {
      lr: 0.1,
      options: { alpha: 1.5 },
      message: /alpha must be in \[0, 1\], got 1.5/,
    },
  ],
  hostile: {
    numbers: {
      syncPeriod: { ok: 6, min: 1, max: Infinity },
      alpha: { ok: 0.5, min: 0, max: 1 },
      b1: { ok: 0.9, min: 0, max: 1 },
      eps: { ok: 1e-8, min: 0, max: Infinity },
    },
    booleans: ["amsgrad", "gc"],
  },
};
