// Helpers the rows of the optimizer test table share.
import { cosineDecaySchedule } from "@centra/chain";
import type { Options, RefLr } from "../row_types.ts";

export const gcOf = (o: Options) => (o.gc ?? false) as boolean | "conv";
export const num = (o: Options, k: string) => o[k] as number | undefined;

export const QUAD_STEPS = 300;
/** The same quadratic setting with and without GC. */
export const quadBoth = (lr: number) => ({
  off: { lr, steps: QUAD_STEPS },
  on: { lr, steps: QUAD_STEPS },
});
export const WD = 1e-4; // decoupled decay of the sgdw and adamw rows (optax default)

/** Adam's reference options from an optimizer's (eps defaults to 1e-8). */
export function adamRefOptions(o: Options) {
  return {
    ...(o.b1 === undefined ? {} : { b1: num(o, "b1")! }),
    ...(o.b2 === undefined ? {} : { b2: num(o, "b2")! }),
    eps: num(o, "eps") ?? 1e-8,
    ...(o.epsRoot === undefined ? {} : { epsRoot: num(o, "epsRoot")! }),
    amsgrad: o.amsgrad === true,
    gc: gcOf(o),
    gcOn: (o.gcOn ?? "gradient") as "gradient" | "update",
  };
}

/**
 * A cosine decay from `init` to 0 over `steps` steps, and its closed form
 * in float64 for the reference (optax's `cosine_decay_schedule`).
 */
export const cosineLr = (init: number, steps: number): RefLr => ({
  schedule: () => cosineDecaySchedule(init, { decaySteps: steps }),
  at: (c) => init * 0.5 * (1 + Math.cos(Math.PI * Math.min(c, steps) / steps)),
});
