// The test row of adafactor (optax's alias, Shazeer and Stern 2018) and its
// float64 reference, written from optax's documented rule and the paper's
// Algorithms 4 and 5, not from centra's code:
//   t = max(count - decayOffset + 1, 1) (1-based), β = 1 - t^(-decayRate),
//   g2 = g² + eps;
//   factored (rank >= 2, last two axes >= minDimSizeToFactor):
//     r = β r + (1 - β) mean_j g2 (rows), c = β c + (1 - β) mean_i g2,
//     d = g / sqrt(r c / mean_i r) (per leading index);
//   else v = β v + (1 - β) g2, d = g / sqrt(v);
//   d ← d / max(1, rms(d) / clippingThreshold); d ← lr d;
//   d ← d max(rms(w), 1e-3) (multiplyByParameterScale);
//   m = momentum m + (1 - momentum) d, d ← m (momentum);
//   d ← d + weightDecayRate w; w ← w - d.
// GC: P g before the statistics, or P d right after the scaling (gcOn "update").
import { cosineDecaySchedule } from "@centra/chain";
import {
  gc64,
  gcApplies,
  type Lr64,
  type RefFactory,
  type Shape,
  sizeOf,
  zerosFor,
} from "../reference64.ts";
import type { OptimizerRow, Options } from "../row_types.ts";
import { num } from "./_shared.ts";

function rms64(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / x.length);
}

/** The float64 Adafactor step for these options (optax's defaults filled in). */
export function adafactorRef(lr: Lr64, o: Options): RefFactory {
  const minDim = num(o, "minDimSizeToFactor") ?? 128;
  const decayRate = num(o, "decayRate") ?? 0.8;
  const offset = num(o, "decayOffset") ?? 0;
  const mps = o.multiplyByParameterScale !== false;
  const threshold = num(o, "clippingThreshold") ?? 1;
  const momentum = num(o, "momentum");
  const wd = num(o, "weightDecayRate");
  const eps = num(o, "eps") ?? 1e-30;
  const factoredOn = o.factored !== false;
  const gc = (o.gc ?? false) as boolean | "conv";
  const onUpdate = o.gcOn === "update";
  return (shapes: readonly Shape[]) => {
    const factored = shapes.map((s) =>
      factoredOn && s.length >= 2 && s[s.length - 1]! >= minDim &&
      s[s.length - 2]! >= minDim
    );
    const lead = shapes.map((s) => sizeOf(s.slice(0, -2)));
    const rows = shapes.map((s, k) =>
      new Float64Array(factored[k] ? lead[k]! * s[s.length - 2]! : 0)
    );
    const cols = shapes.map((s, k) =>
      new Float64Array(factored[k] ? lead[k]! * s[s.length - 1]! : 0)
    );
    const v = zerosFor(shapes);
    const m = zerosFor(shapes);
    return (w, grads, t) => {
      const rate = typeof lr === "number" ? lr : lr(t - 1);
      const tt = Math.max(t - offset, 1);
      const beta = 1 - Math.pow(tt, -decayRate);
      shapes.forEach((shape, k) => {
        const gcHere = gcApplies(gc, shape);
        const g = gcHere && !onUpdate ? gc64(grads[k]!, shape) : grads[k]!;
        let d: Float64Array = new Float64Array(g.length);
        if (factored[k]) {
          const R = shape[shape.length - 2]!, C = shape[shape.length - 1]!;
          const r = rows[k]!, c = cols[k]!;
          for (let l = 0; l < lead[k]!; l++) {
            const at = (i: number, j: number) => l * R * C + i * C + j;
            for (let i = 0; i < R; i++) {
              let s = 0;
              for (let j = 0; j < C; j++) s += g[at(i, j)]! ** 2 + eps;
              r[l * R + i] = beta * r[l * R + i]! + (1 - beta) * (s / C);
            }
            for (let j = 0; j < C; j++) {
              let s = 0;
              for (let i = 0; i < R; i++) s += g[at(i, j)]! ** 2 + eps;
              c[l * C + j] = beta * c[l * C + j]! + (1 - beta) * (s / R);
            }
            let meanR = 0;
            for (let i = 0; i < R; i++) meanR += r[l * R + i]! / R;
            for (let i = 0; i < R; i++) {
              for (let j = 0; j < C; j++) {
                const vHat = r[l * R + i]! * c[l * C + j]! / meanR;
                d[at(i, j)] = g[at(i, j)]! / Math.sqrt(vHat);
              }
            }
          }
        } else {
          const vk = v[k]!;
          for (let i = 0; i < g.length; i++) {
            vk[i] = beta * vk[i]! + (1 - beta) * (g[i]! ** 2 + eps);
            d[i] = g[i]! / Math.sqrt(vk[i]!);
          }
        }
        if (gcHere && onUpdate) d = gc64(d, shape);
        const clip = Math.max(1, rms64(d) / threshold);
        const pscale = mps ? Math.max(rms64(w[k]!), 1e-3) : 1;
        const wk = w[k]!, mk = m[k]!;
        const step = new Float64Array(d.length);
        for (let i = 0; i < d.length; i++) {
          let s = rate * (d[i]! / clip) * pscale;
          if (momentum !== undefined) {
            mk[i] = momentum * mk[i]! + (1 - momentum) * s;
            s = mk[i]!;
          }
          if (wd !== undefined) s += wd * wk[i]!;
          step[i] = s;
        }
        for (let i = 0; i < d.length; i++) wk[i] = wk[i]! - step[i]!;
      });
    };
  };
}

export const adafactorRow: OptimizerRow = {
  reference: adafactorRef,
  referenceCases: [
    {
      name:
        "adafactor({ minDimSizeToFactor: 2 }) with GC matches a float64 Adafactor (factored over the last two axes, clipped, relative steps) on Pg over 100 steps",
      seed: 61,
      lr: 0.01,
      options: { minDimSizeToFactor: 2, gc: true },
    },
    {
      name:
        "adafactor({ momentum, weightDecayRate, clippingThreshold, decayRate }) without GC matches a float64 reference over 100 steps",
      seed: 62,
      lr: 0.02,
      options: {
        minDimSizeToFactor: 2,
        momentum: 0.9,
        weightDecayRate: 1e-3,
        clippingThreshold: 0.5,
        decayRate: 0.5,
      },
    },
    {
      name:
        'adafactor({ factored: false, multiplyByParameterScale: false, gc: true, gcOn: "update" }) centralizes the scaled update and matches a float64 reference over 100 steps',
      seed: 63,
      lr: 0.01,
      options: {
        factored: false,
        multiplyByParameterScale: false,
        gc: true,
        gcOn: "update",
      },
    },
    {
      name:
        "adafactor({ decayOffset, eps }) with the default minDimSizeToFactor (nothing factored here) matches a float64 reference over 100 steps",
      seed: 64,
      lr: 0.01,
      options: { decayOffset: 4, eps: 1e-3, gc: true },
    },
  ],
  conformance: [{
    name: "adafactor({ minDimSizeToFactor: 2 })",
    options: { minDimSizeToFactor: 2 },
    quadraticMeans: "drifts",
    rosenbrockMeans: "frozen",
    // a constant lr hovers at an lr-sized limit cycle (sign-like steps), so
    // the quadratic runs use a decaying schedule, as rmsprop's do
    quadratic: {
      off: {
        lr: cosineDecaySchedule(0.1, { decaySteps: 300 }),
        steps: 300,
      },
      on: {
        lr: cosineDecaySchedule(0.1, { decaySteps: 300 }),
        steps: 300,
      },
    },
    rosenbrock: {
      off: { lr: 0.01, steps: 3000 },
      on: { lr: 0.01, steps: 300 },
    },
  }],
  // tfjs has no Adafactor
  tfjs: [],
  fused: [{ label: "adafactor", lr: 0.01, options: { minDimSizeToFactor: 2 } }],
  agreement: [{
    label: "adafactor",
    lr: 0.01,
    options: { minDimSizeToFactor: 2 },
  }],
  boundaries: [{
    label: "adafactor gc",
    lr: 0.01,
    options: { minDimSizeToFactor: 1, gc: true },
  }],
  json: [{
    learningRate: 0.01,
    minDimSizeToFactor: 2,
    decayRate: 0.7,
    decayOffset: 0,
    multiplyByParameterScale: false,
    clippingThreshold: 2,
    momentum: 0.9,
    weightDecayRate: 1e-4,
    eps: 1e-30,
    factored: true,
    gc: true,
    gcOn: "update",
  }],
  resume: [{
    learningRate: 0.01,
    minDimSizeToFactor: 1,
    momentum: 0.5,
    gc: true,
  }],
  errors: [
    { lr: -1, message: /learningRate must be in \[0, Infinity\], got -1/ },
    {
      lr: 0.1,
      options: { clippingThreshold: 0 },
      message: /clippingThreshold must be in \(0, Infinity\], got 0/,
    },
    {
      lr: 0.1,
      options: { minDimSizeToFactor: 0.5 },
      message: /minDimSizeToFactor must be an integer >= 1, got 0.5/,
    },
    {
      lr: 0.1,
      options: { decayOffset: -1 },
      message: /decayOffset must be an integer >= 0, got -1/,
    },
    {
      lr: 0.1,
      options: { momentum: 2 },
      message: /momentum must be in \[0, 1\], got 2/,
    },
  ],
  hostile: {
    numbers: {
      minDimSizeToFactor: { ok: 128, min: 1, max: Infinity },
      decayRate: { ok: 0.8, min: 0, max: Infinity },
      decayOffset: { ok: 0, min: 0, max: Infinity },
      clippingThreshold: { ok: 1, min: 0, max: Infinity },
      momentum: { ok: 0.9, min: 0, max: 1 },
      weightDecayRate: { ok: 1e-4, min: 0, max: Infinity },
      eps: { ok: 1e-30, min: 0, max: Infinity },
    },
    booleans: ["multiplyByParameterScale", "factored", "gc"],
  },
};
