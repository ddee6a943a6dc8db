/**
 * Hand-written SVG charts for the reproduction (no dependency): a grid of
 * panels, each with lines (optionally a shaded mean ± std band) or points,
 * on a linear or log10 y axis.
 *
 * @module
 */

/** One series of a panel. */
export interface Series {
  /** Legend text. */
  label: string;
  /** x values (same length as `y`). */
  x: readonly number[];
  /** y values. */
  y: readonly number[];
  /** Half-width of a shaded band around `y` (e.g. one std). */
  band?: readonly number[];
  /** Points only, no line. Default false. */
  points?: boolean;
  /** Dashed line. Default false. */
  dashed?: boolean;
  /** With `points`: larger unfilled circles, visible under other points. */
  hollow?: boolean;
}

/** One panel of a chart. */
export interface Panel {
  /** Title above the panel. */
  title: string;
  /** x-axis label. */
  xLabel: string;
  /** Log10 y axis. Default false. */
  logY?: boolean;
  /** Appended to y tick labels (e.g. `"%"`). */
  unit?: string;
  /** The series; the nth series of every panel shares a colour and legend entry. */
  series: readonly Series[];
}

/** Colours of the series, in order. */
export const COLORS: readonly string[] = [
  "#d62728",
  "#1f77b4",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** About five round ticks spanning `[lo, hi]`. */
export function niceTicks(lo: number, hi: number): number[] {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.1 || 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (
    let t = Math.floor(lo / step) * step;
    t <= hi + step * 0.999;
    t += step
  ) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

function label(v: number, log: boolean): string {
  if (log) return `1e${v}`;
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return String(Number(v.toPrecision(6)));
}

function renderPanel(
  p: Panel,
  colors: readonly string[],
  x0: number,
  y0: number,
  w: number,
  h: number,
): string {
  const left = 62, right = 12, top = 26, bottom = 36;
  const pw = w - left - right, ph = h - top - bottom;
  const log = p.logY ?? false;
  const tr = (v: number) => (log ? Math.log10(v) : v);
  const ok = (v: number) => Number.isFinite(tr(v));
  const ys: number[] = [];
  const xs: number[] = [];
  for (const s of p.series) {
    s.y.forEach((v, i) => {
      const b = s.band?.[i] ?? 0;
      for (const u of [v - b, v + b, v]) {
        if (ok(u)) ys.push(tr(u));
      }
      xs.push(s.x[i]!);
    });
  }
  let yt = niceTicks(Math.min(...ys), Math.max(...ys));
  if (log) {
    const lo = Math.floor(Math.min(...ys)), hi = Math.ceil(Math.max(...ys));
    yt = [];
    const stride = Math.max(1, Math.ceil((hi - lo) / 6));
    for (let t = lo; t <= hi; t += stride) yt.push(t);
    if (yt.length < 2) yt.push(lo + stride);
  }
  let xt = niceTicks(Math.min(...xs), Math.max(...xs));
  if (xs.every(Number.isInteger)) {
    // Epochs and iterations: integer ticks only.
    xt = xt.filter(Number.isInteger);
    if (xt.length < 2) xt = [...new Set(xs)].sort((a, b) => a - b);
  }
  const [ylo, yhi] = [yt[0]!, yt.at(-1)!];
  const [xlo, xhi] = [Math.min(...xs), Math.max(...xs)];
  const sx = (v: number) =>
    x0 + left + (xhi === xlo ? pw / 2 : ((v - xlo) / (xhi - xlo)) * pw);
  const sy = (v: number) =>
    y0 + top + ph - ((tr(v) - ylo) / (yhi - ylo || 1)) * ph;
  const out: string[] = [
    `<text x="${x0 + left + pw / 2}" y="${
      y0 + 17
    }" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`,
  ];
  for (const t of yt) {
    const y = (y0 + top + ph - ((t - ylo) / (yhi - ylo || 1)) * ph).toFixed(1);
    out.push(
      `<line x1="${x0 + left}" x2="${
        x0 + left + pw
      }" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${
        x0 + left - 5
      }" y="${y}" text-anchor="end" dominant-baseline="middle">${
        esc(label(t, log) + (p.unit ?? ""))
      }</text>`,
    );
  }
  for (const t of xt) {
    if (t < xlo - 1e-9 || t > xhi + 1e-9) continue;
    out.push(
      `<text x="${sx(t).toFixed(1)}" y="${
        y0 + top + ph + 15
      }" text-anchor="middle">${esc(label(t, false))}</text>`,
    );
  }
  out.push(
    `<text x="${x0 + left + pw / 2}" y="${y0 + h - 4}" text-anchor="middle">${
      esc(p.xLabel)
    }</text>`,
    `<rect x="${x0 + left}" y="${
      y0 + top
    }" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  );
  p.series.forEach((s, k) => {
    const color = colors[k % colors.length]!;
    const idx = s.y.map((_, i) => i).filter((i) => ok(s.y[i]!));
    if (s.band !== undefined && idx.length > 1) {
      const upper = idx.map((i) =>
        `${sx(s.x[i]!).toFixed(1)},${sy(s.y[i]! + s.band![i]!).toFixed(1)}`
      );
      const lower = idx.map((i) => {
        const v = s.y[i]! - s.band![i]!;
        const yv = ok(v) ? sy(v) : y0 + top + ph;
        return `${sx(s.x[i]!).toFixed(1)},${yv.toFixed(1)}`;
      }).reverse();
      out.push(
        `<polygon points="${
          [...upper, ...lower].join(" ")
        }" fill="${color}" fill-opacity="0.15" stroke="none"/>`,
      );
    }
    const pts = idx.map((i) =>
      [sx(s.x[i]!).toFixed(1), sy(s.y[i]!).toFixed(1)] as const
    );
    if (s.points) {
      for (const [cx, cy] of pts) {
        out.push(
          s.hollow
            ? `<circle cx="${cx}" cy="${cy}" r="5" fill="none" stroke="${color}" stroke-width="1.5"/>`
            : `<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}" fill-opacity="0.7"/>`,
        );
      }
    } else if (pts.length > 0) {
      out.push(
        `<polyline points="${
          pts.map(([a, b]) => `${a},${b}`).join(" ")
        }" fill="none" stroke="${color}" stroke-width="2"${
          s.dashed ? ' stroke-dasharray="6 4"' : ""
        }/>`,
      );
      if (pts.length <= 30) {
        for (const [cx, cy] of pts) {
          out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`);
        }
      }
    }
  });
  return out.join("\n");
}

/** Options of {@linkcode renderChart}. */
export interface ChartOptions {
  /** Title at the top. */
  title: string;
  /** Panels per row. Default: all in one row. */
  columns?: number;
  /** Width of one panel in px. Default 440. */
  panelWidth?: number;
  /** Height of one panel in px. Default 300. */
  panelHeight?: number;
  /** Series colours. Default {@linkcode COLORS}. */
  colors?: readonly string[];
}

/**
 * Renders panels into one SVG document, with a legend taken from the first
 * panel's series labels.
 */
export function renderChart(
  panels: readonly Panel[],
  options: ChartOptions,
): string {
  const columns = options.columns ?? panels.length;
  const pw = options.panelWidth ?? 440, ph = options.panelHeight ?? 300;
  const colors = options.colors ?? COLORS;
  const rows = Math.ceil(panels.length / columns);
  const w = pw * columns, h = 34 + rows * ph + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${
      w / 2
    }" y="20" text-anchor="middle" font-size="14" font-weight="bold">${
      esc(options.title)
    }</text>`,
  ];
  panels.forEach((p, i) => {
    parts.push(
      renderPanel(
        p,
        colors,
        (i % columns) * pw,
        30 + Math.floor(i / columns) * ph,
        pw,
        ph,
      ),
    );
  });
  const legend = panels[0]?.series ?? [];
  legend.forEach((s, k) => {
    const x = 70 + k * 190;
    const color = colors[k % colors.length]!;
    parts.push(
      `<line x1="${x}" x2="${x + 24}" y1="${h - 14}" y2="${
        h - 14
      }" stroke="${color}" stroke-width="3"${
        s.dashed ? ' stroke-dasharray="6 4"' : ""
      }/>`,
      `<text x="${x + 30}" y="${h - 14}" dominant-baseline="middle">${
        esc(s.label)
      }</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
