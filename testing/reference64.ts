// Float64 reference steps of centra's optimizers, written in plain JS numbers
// from the algorithm boxes of the papers (Yong et al. 2020, Algorithms 1 and 2
// and section 3.4; Kingma and Ba 2015; Loshchilov and Hutter 2019) and the
// documented semantics of PyTorch, tfjs and optax. No tfjs op and no formula
// of the implementation is used here. The table of optimizers
// (optimizer_table.ts) maps each optimizer's options to one of these.

/** A tensor shape. */
export type Shape = readonly number[];

/** The number of elements of a shape. */
export function sizeOf(shape: Shape): number {
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * Paper Eq. 1 for tfjs layouts: the output unit is the last axis, so in
 * row-major storage unit `j` owns the flat indices `j, j + out, j + 2 out,
 * ...`; subtract each unit's mean. Rank < 2 (and a unit of one element) is
 * left alone, as the design says.
 */
export function gc64(g: Float64Array, shape: Shape): Float64Array {
  const out = g.slice();
  if (shape.length < 2) return out;
  const units = shape[shape.length - 1]!;
  const fanIn = g.length / units;
  if (fanIn === 1) return out;
  for (let j = 0; j < units; j++) {
    let sum = 0;
    for (let i = 0; i < fanIn; i++) sum += g[i * units + j]!;
    const mean = sum / fanIn;
    for (let i = 0; i < fanIn; i++) {
      out[i * units + j] = g[i * units + j]! - mean;
    }
  }
  return out;
}

/**
 * One step of a float64 reference: updates the weights in place from the raw
 * gradients at 1-based step `t`.
 */
export type RefStep = (w: Float64Array[], g: Float64Array[], t: number) => void;

/** Builds a reference optimizer for parameters of these shapes. */
export type RefFactory = (shapes: readonly Shape[]) => RefStep;

/** Zero-filled (or `value`-filled) float64 arrays, one per shape. */
export function zerosFor(shapes: readonly Shape[], value = 0): Float64Array[] {
  return shapes.map((s) => new Float64Array(sizeOf(s)).fill(value));
}

/** A learning rate that may depend on the 0-based count of finished steps. */
export type Lr64 = number | ((count: number) => number);

/** The learning rate of step `t` (1-based). */
export function lrAt(lr: Lr64, t: number): number {
  return typeof lr === "number" ? lr : lr(t - 1);
}

/** Which tensors a GC option touches (true: rank >= 2, "conv": rank >= 3). */
export function gcApplies(gc: boolean | "conv", shape: Shape): boolean {
  return gc === true ? shape.length >= 2 : gc === "conv" && shape.length >= 3;
}

/** Settings of {@linkcode sgdRef}. */
export interface SgdRef {
  lr: Lr64;
  momentum?: number;
  nesterov?: boolean;
  /** L2: added to the gradient before GC (paper 3.4: g_hat = P(g + λw)). */
  l2?: number;
  /** Decoupled (SGDW): w ← w - lr (b + λw), GC on the raw gradient. */
  decoupled?: number;
  gc: boolean | "conv";
}

/**
 * PyTorch SGD (docs' algorithm box, dampening 0): b = μ b + g; the step is b,
 * or g + μ b with Nesterov; with GC, g = P(g + λw) first.
 */
export function sgdRef(o: SgdRef): RefFactory {
  return (shapes) => {
    const buf = zerosFor(shapes);
    return (w, grads, t) => {
      const lr = lrAt(o.lr, t);
      shapes.forEach((shape, k) => {
        const wk = w[k]!;
        let g: Float64Array = grads[k]!.slice();
        if (o.l2 !== undefined) {
          for (let i = 0; i < g.length; i++) g[i] = g[i]! + o.l2 * wk[i]!;
        }
        if (gcApplies(o.gc, shape)) g = gc64(g, shape);
        const b = buf[k]!;
        for (let i = 0; i < g.length; i++) {
          let d = g[i]!;
          if (o.momentum !== undefined) {
            b[i] = o.momentum * b[i]! + g[i]!;
            d = o.nesterov ? g[i]! + o.momentum * b[i]! : b[i]!;
          }
          if (o.decoupled !== undefined) d += o.decoupled * wk[i]!;
          wk[i] = wk[i]! - lr * d;
        }
      });
    };
  };
}

/** Settings of {@linkcode adamRef}. */
export interface AdamRef {
  lr: Lr64;
  b1?: number;
  b2?: number;
  eps: number;
  epsRoot?: number;
  amsgrad?: boolean;
  gc: boolean | "conv";
  gcOn?: "gradient" | "update";
  /** L2 decay added to the gradient before GC (paper 3.4). */
  l2?: number;
  /** AdamW's decoupled decay (Loshchilov and Hutter 2019, Algorithm 2). */
  decoupled?: number;
}

/**
 * Paper Algorithm 2 / Kingma and Ba's Algorithm 1 with bias correction:
 * m = b1 m + (1 - b1) g_hat, v = b2 v + (1 - b2) g_hat², m_hat = m / (1 -
 * b1^t), v_hat = v / (1 - b2^t), w = w - lr m_hat / (sqrt(v_hat + epsRoot) +
 * eps). AMSGrad as PyTorch documents it: vmax = max(vmax, v), v_hat = vmax /
 * (1 - b2^t). AdamW: w = w - lr (m_hat / (sqrt(v_hat) + eps) + λ w). GC on
 * the update: P applied to m_hat / (sqrt(v_hat) + eps) instead of to g.
 */
export function adamRef(o: AdamRef): RefFactory {
  const b1 = o.b1 ?? 0.9, b2 = o.b2 ?? 0.999, epsRoot = o.epsRoot ?? 0;
  const onUpdate = o.gcOn === "update";
  return (shapes) => {
    const m = zerosFor(shapes), v = zerosFor(shapes), vmax = zerosFor(shapes);
    return (w, grads, t) => {
      const lr = lrAt(o.lr, t);
      shapes.forEach((shape, k) => {
        const wk = w[k]!, mk = m[k]!, vk = v[k]!, vmk = vmax[k]!;
        const gcHere = gcApplies(o.gc, shape);
        let g: Float64Array = grads[k]!.slice();
        if (o.l2 !== undefined) {
          for (let i = 0; i < g.length; i++) g[i] = g[i]! + o.l2 * wk[i]!;
        }
        if (gcHere && !onUpdate) g = gc64(g, shape);
        let d: Float64Array = new Float64Array(g.length);
        for (let i = 0; i < g.length; i++) {
          mk[i] = b1 * mk[i]! + (1 - b1) * g[i]!;
          vk[i] = b2 * vk[i]! + (1 - b2) * g[i]! * g[i]!;
          let second = vk[i]!;
          if (o.amsgrad) {
            vmk[i] = Math.max(vmk[i]!, vk[i]!);
            second = vmk[i]!;
          }
          const mHat = mk[i]! / (1 - Math.pow(b1, t));
          const vHat = second / (1 - Math.pow(b2, t));
          d[i] = mHat / (Math.sqrt(vHat + epsRoot) + o.eps);
        }
        if (gcHere && onUpdate) d = gc64(d, shape);
        for (let i = 0; i < g.length; i++) {
          const decay = o.decoupled === undefined ? 0 : o.decoupled * wk[i]!;
          wk[i] = wk[i]! - lr * (d[i]! + decay);
        }
      });
    };
  };
}

/**
 * Adagrad as tfjs computes it: s starts at `init` (0.1), s = s + g², w = w -
 * lr g / sqrt(s + eps) (eps inside the square root).
 */
export function adagradRef(
  lr: Lr64,
  init: number,
  eps: number,
  gc: boolean | "conv",
): RefFactory {
  return (shapes) => {
    const s = zerosFor(shapes, init);
    return (w, grads, t) => {
      const rate = lrAt(lr, t);
      shapes.forEach((shape, k) => {
        const g = gcApplies(gc, shape) ? gc64(grads[k]!, shape) : grads[k]!;
        const sk = s[k]!, wk = w[k]!;
        for (let i = 0; i < g.length; i++) {
          sk[i] = sk[i]! + g[i]! * g[i]!;
          wk[i] = wk[i]! - rate * g[i]! / Math.sqrt(sk[i]! + eps);
        }
      });
    };
  };
}

/** Settings of {@linkcode rmspropRef}. */
export interface RmspropRef {
  lr: Lr64;
  decay: number;
  eps: number;
  centered?: boolean;
  momentum?: number;
  gc: boolean | "conv";
}

/**
 * RMSProp as tfjs computes it: ms = ρ ms + (1 - ρ) g²; centred: mg = ρ mg +
 * (1 - ρ) g and the denominator is sqrt(ms - mg² + eps), else sqrt(ms + eps);
 * the learning rate comes before momentum: mom = μ mom + lr g / denom, w = w
 * - mom.
 */
export function rmspropRef(o: RmspropRef): RefFactory {
  return (shapes) => {
    const ms = zerosFor(shapes), mg = zerosFor(shapes), mom = zerosFor(shapes);
    return (w, grads, t) => {
      const lr = lrAt(o.lr, t);
      shapes.forEach((shape, k) => {
        const g = gcApplies(o.gc, shape) ? gc64(grads[k]!, shape) : grads[k]!;
        const msk = ms[k]!, mgk = mg[k]!, momk = mom[k]!, wk = w[k]!;
        const rho = o.decay;
        for (let i = 0; i < g.length; i++) {
          msk[i] = rho * msk[i]! + (1 - rho) * g[i]! * g[i]!;
          let denom = msk[i]!;
          if (o.centered) {
            mgk[i] = rho * mgk[i]! + (1 - rho) * g[i]!;
            denom = msk[i]! - mgk[i]! * mgk[i]!;
          }
          const step = lr * g[i]! / Math.sqrt(denom + o.eps);
          momk[i] = (o.momentum ?? 0) * momk[i]! + step;
          wk[i] = wk[i]! - momk[i]!;
        }
      });
    };
  };
}
