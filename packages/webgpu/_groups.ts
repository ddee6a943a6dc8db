// Private: index arithmetic for reductions over some axes of a tensor, as
// WGSL expressions (the per-unit means of `_mean.ts` and `_wgsl.ts`).

/** Axes of a shape merged into alternating kept/reduced groups. */
export interface Groups {
  sizes: number[];
  kept: boolean[];
  strides: number[];
  /** Stride of each group within the kept-only (or reduced-only) index. */
  subStrides: number[];
  keptSize: number;
  reducedSize: number;
}

/** `shape` as groups of neighbouring axes that `axes` all reduce or all keep. */
export function groupsOf(
  shape: readonly number[],
  axes: readonly number[],
): Groups {
  const sizes: number[] = [], kept: boolean[] = [];
  shape.forEach((d, a) => {
    if (d === 1) return;
    const k = !axes.includes(a);
    if (kept.length > 0 && kept[kept.length - 1] === k) {
      sizes[sizes.length - 1]! *= d;
    } else {
      sizes.push(d);
      kept.push(k);
    }
  });
  const strides = sizes.map(() => 1);
  for (let g = sizes.length - 2; g >= 0; g--) {
    strides[g] = strides[g + 1]! * sizes[g + 1]!;
  }
  const subStrides = sizes.map(() => 1);
  let ks = 1, rs = 1;
  for (let g = sizes.length - 1; g >= 0; g--) {
    if (kept[g]) {
      subStrides[g] = ks;
      ks *= sizes[g]!;
    } else {
      subStrides[g] = rs;
      rs *= sizes[g]!;
    }
  }
  return { sizes, kept, strides, subStrides, keptSize: ks, reducedSize: rs };
}

/**
 * Whether `g` is `rows` x `units` in memory, reduced over the rows: the
 * layout of every tfjs kernel centralized over all axes but its last.
 */
export function columnsOf(
  g: Groups,
): { rows: number; units: number } | null {
  return g.sizes.length === 2 && !g.kept[0] && g.kept[1]
    ? { rows: g.sizes[0]!, units: g.sizes[1]! }
    : null;
}

/** `Σ ((x / sub_g) % size_g) * stride_g` over the groups `which` selects. */
export function gather(
  g: Groups,
  x: string,
  which: boolean,
  from: "flat" | "sub",
): string {
  const terms: string[] = [];
  g.sizes.forEach((size, k) => {
    if (g.kept[k] !== which) return;
    const [div, mul] = from === "flat"
      ? [g.strides[k]!, g.subStrides[k]!]
      : [g.subStrides[k]!, g.strides[k]!];
    const total = from === "flat"
      ? g.sizes.reduce((a, b) => a * b, 1)
      : which
      ? g.keptSize
      : g.reducedSize;
    let t = div === 1 ? x : `(${x} / ${div})`;
    if (div * size < total) t = `(${t} % ${size})`;
    terms.push(mul === 1 ? t : `${t} * ${mul}`);
  });
  return terms.length === 0 ? "0" : terms.join(" + ");
}
