// Private to the rows: the frame every per-element float64 reference of the
// Adam family shares, written from the papers' and optax's documented
// composition of an optimizer (not from centra's code): optional L2 decay
// added to the gradient, GC (Yong et al. 2020, Eq. 1) on that gradient or on
// the scaled update, the optimizer's own per-element rule, optional
// decoupled decay, then `w ← w - lr d`. Plain JS numbers (float64).
import {
  gc64,
  gcApplies,
  type Lr64,
  type RefFactory,
  zerosFor,
} from "../reference64.ts";

/** Options as an optimizer takes them. */
export type Options = Record<string, unknown>;

/** Option `k` as a number, or `fallback` when it is not given. */
export function numOr(o: Options, k: string, fallback: number): number {
  const v = o[k];
  return v === undefined ? fallback : v as number;
}

/**
 * One element's rule: from the (possibly centralized) gradient `g`, this
 * element's slots (read and written in place through `s[j][i]`) and the
 * 1-based step `t`, the scaled update `d` (before the learning rate).
 */
export type ElementRule = (
  g: number,
  s: Float64Array[],
  i: number,
  t: number,
) => number;

/** The frame around a rule. */
export interface Frame {
  lr: Lr64;
  options: Options;
  /** The initial value of each slot (one Float64Array per slot and parameter). */
  slots: number[];
  rule: ElementRule;
  /** L2 decay added to the gradient before GC (paper section 3.4). */
  l2?: number;
  /** Decoupled decay: `d + λ w` after the rule (and after GC on the update). */
  decoupled?: number;
}

/** A reference optimizer from a per-element rule and its frame. */
export function elementwiseRef(f: Frame): RefFactory {
  const gc = (f.options.gc ?? false) as boolean | "conv";
  const onUpdate = f.options.gcOn === "update";
  return (shapes) => {
    const slots = f.slots.map((v) => zerosFor(shapes, v));
    return (w, grads, t) => {
      const rate = typeof f.lr === "number" ? f.lr : f.lr(t - 1);
      shapes.forEach((shape, k) => {
        const wk = w[k]!;
        const gcHere = gcApplies(gc, shape);
        let g: Float64Array = grads[k]!.slice();
        if (f.l2 !== undefined) {
          for (let i = 0; i < g.length; i++) g[i] = g[i]! + f.l2 * wk[i]!;
        }
        if (gcHere && !onUpdate) g = gc64(g, shape);
        const s = slots.map((per) => per[k]!);
        let d: Float64Array = new Float64Array(g.length);
        for (let i = 0; i < g.length; i++) d[i] = f.rule(g[i]!, s, i, t);
        if (gcHere && onUpdate) d = gc64(d, shape);
        for (let i = 0; i < g.length; i++) {
          const decay = f.decoupled === undefined ? 0 : f.decoupled * wk[i]!;
          wk[i] = wk[i]! - rate * (d[i]! + decay);
        }
      });
    };
  };
}
