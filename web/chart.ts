/**
 * The project's one chart writer: a grid of panels drawn with Observable
 * Plot (lines, a shaded mean ± std band, points; linear or log10 y axis),
 * a title above them and one legend below. It builds DOM nodes in the
 * `document` it is given, so the demo page draws its live curves with it
 * and `deno task demo` / `deno task repro` write SVG files with it through
 * a DOM implementation (`web/chart_svg.ts`, linkedom).
 *
 * @module
 */
import * as Plot from "@observablehq/plot";

/** One series of a panel. */
export interface Series {
  /** Legend text. */
  label: string;
  /** x values (same length as `y`). */
  x: readonly number[];
  /** y values; non-finite values (and values <= 0 on a log axis) are left out. */
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

/** Options of {@linkcode chart}. */
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

/** Colours of the series, in order (Plot's and d3's category10). */
export const COLORS: readonly string[] = [
  "#d62728",
  "#1f77b4",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
];

const SVG_NS = "http://www.w3.org/2000/svg";
const TITLE_H = 30, LEGEND_H = 30;

interface Point {
  x: number;
  y: number;
  lo?: number;
  hi?: number;
}

function tickLabel(v: number, unit: string): string {
  const a = Math.abs(v);
  const s = a !== 0 && (a < 1e-3 || a >= 1e5)
    ? v.toExponential(1)
    : String(Number(v.toPrecision(6)));
  return s + unit;
}

// A log axis labels powers of ten only, as 1e-4, 1e0, 1e2.
function logTickLabel(v: number): string {
  const e = Math.log10(v);
  return Math.abs(e - Math.round(e)) < 1e-9 ? `1e${Math.round(e)}` : "";
}

// Whole decades around the values, at most about six of them labelled.
function decades(
  ys: readonly number[],
): { domain?: number[]; ticks?: number[] } {
  if (ys.length === 0) return {};
  const lo = Math.floor(Math.log10(Math.min(...ys)));
  let hi = Math.ceil(Math.log10(Math.max(...ys)));
  if (hi === lo) hi++;
  const stride = Math.max(1, Math.ceil((hi - lo) / 6));
  const ticks: number[] = [];
  for (let t = lo; t <= hi; t += stride) ticks.push(10 ** t);
  return { domain: [10 ** lo, 10 ** hi], ticks };
}

/** One panel as a Plot figure (an `<svg>` element). */
function panelPlot(
  p: Panel,
  colors: readonly string[],
  width: number,
  height: number,
  document: Document,
): SVGSVGElement {
  const log = p.logY ?? false;
  const ok = (v: number) => Number.isFinite(v) && (!log || v > 0);
  const allX: number[] = [];
  const allY: number[] = [];
  const data: Point[][] = p.series.map((s) => {
    const pts: Point[] = [];
    s.y.forEach((y, i) => {
      const x = s.x[i]!;
      allX.push(x);
      if (!ok(y)) return;
      allY.push(y);
      const b = s.band?.[i];
      if (b === undefined) {
        pts.push({ x, y });
        return;
      }
      pts.push({ x, y, lo: y - b, hi: y + b });
      for (const v of [y - b, y + b]) if (ok(v)) allY.push(v);
    });
    return pts;
  });
  // a band's lower edge that a log axis cannot show sits at the lowest value
  const floor = allY.length === 0 ? 0 : Math.min(...allY);
  const marks: Plot.Markish[] = [Plot.frame({ stroke: "#999" })];
  p.series.forEach((s, k) => {
    const color = colors[k % colors.length]!;
    const pts = data[k]!;
    if (s.band !== undefined && pts.length > 1) {
      marks.push(Plot.areaY(pts, {
        x: "x",
        y1: (d: Point) => (ok(d.lo!) ? d.lo : floor),
        y2: "hi",
        fill: color,
        fillOpacity: 0.15,
      }));
    }
    if (s.points) {
      marks.push(Plot.dot(pts, {
        x: "x",
        y: "y",
        ...(s.hollow
          ? { r: 5, stroke: color, fill: "none", strokeWidth: 1.5 }
          : { r: 2.5, fill: color, fillOpacity: 0.7, stroke: null }),
      }));
    } else if (pts.length > 0) {
      marks.push(Plot.lineY(pts, {
        x: "x",
        y: "y",
        stroke: color,
        strokeWidth: 2,
        ...(s.dashed ? { strokeDasharray: "6 4" } : {}),
      }));
      if (pts.length <= 30) {
        marks.push(Plot.dot(pts, { x: "x", y: "y", r: 2.5, fill: color }));
      }
    }
  });
  const integerX = allX.length > 0 && allX.every(Number.isInteger);
  const unit = p.unit ?? "";
  return Plot.plot({
    document,
    width,
    height,
    marginLeft: 62,
    marginRight: 14,
    marginTop: 28,
    marginBottom: 40,
    style: { fontSize: "12px", fontFamily: "sans-serif" },
    x: {
      label: p.xLabel,
      labelAnchor: "center",
      labelArrow: "none",
      // epochs and iterations: integer ticks only
      ...(integerX ? { tickFormat: "d", ticks: integerTicks(allX) } : {}),
    },
    y: log
      ? {
        type: "log",
        grid: true,
        label: null,
        ...decades(allY),
        tickFormat: logTickLabel,
      }
      : {
        grid: true,
        label: null,
        nice: true,
        tickFormat: (v: number) => tickLabel(v, unit),
      },
    marks: [
      ...marks,
      Plot.text([p.title], {
        frameAnchor: "top",
        dy: -20,
        fontWeight: "bold",
        fontSize: 12,
      }),
    ],
  }) as SVGSVGElement;
}

function el(
  document: Document,
  name: string,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElement {
  const e = document.createElementNS(SVG_NS, name) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Draws panels in a grid, under a title and above a legend taken from the
 * first panel's series labels.
 *
 * @param panels The panels, left to right, then top to bottom.
 * @param options Title, layout and colours.
 * @param document Where the nodes are created: the page's `document`, or a
 * DOM implementation's (linkedom) outside a browser.
 * @returns An `<svg>` element with one Plot figure per panel.
 * @throws {RangeError} When `columns` is not a positive integer.
 */
export function chart(
  panels: readonly Panel[],
  options: ChartOptions,
  document: Document,
): SVGSVGElement {
  const columns = options.columns ?? Math.max(1, panels.length);
  if (!Number.isInteger(columns) || columns < 1) {
    throw new RangeError(
      `chart: columns must be a positive integer, got ${columns}`,
    );
  }
  const pw = options.panelWidth ?? 440, ph = options.panelHeight ?? 300;
  const colors = options.colors ?? COLORS;
  const rows = Math.ceil(panels.length / columns);
  const w = pw * Math.max(1, Math.min(columns, panels.length));
  const h = TITLE_H + rows * ph + LEGEND_H;
  const svg = el(document, "svg", {
    width: w,
    height: h,
    viewBox: `0 0 ${w} ${h}`,
    "font-family": "sans-serif",
    "font-size": 12,
  }) as SVGSVGElement;
  svg.appendChild(el(document, "rect", { width: w, height: h, fill: "white" }));
  svg.appendChild(el(document, "text", {
    x: w / 2,
    y: 20,
    "text-anchor": "middle",
    "font-size": 14,
    "font-weight": "bold",
  }, options.title));
  panels.forEach((p, i) => {
    const figure = panelPlot(p, colors, pw, ph, document);
    figure.setAttribute("x", String((i % columns) * pw));
    figure.setAttribute("y", String(TITLE_H + Math.floor(i / columns) * ph));
    svg.appendChild(figure);
  });
  const legend = el(document, "g", { "aria-label": "legend" });
  (panels[0]?.series ?? []).forEach((s, k) => {
    const x = 70 + k * 190, y = h - 14;
    legend.appendChild(el(document, "line", {
      x1: x,
      x2: x + 24,
      y1: y,
      y2: y,
      stroke: colors[k % colors.length]!,
      "stroke-width": 3,
      ...(s.dashed ? { "stroke-dasharray": "6 4" } : {}),
    }));
    legend.appendChild(
      el(document, "text", {
        x: x + 30,
        y,
        "dominant-baseline": "middle",
      }, s.label),
    );
  });
  svg.appendChild(legend);
  return svg;
}

/**
 * At most about six whole-number ticks over `xs` (epochs, iterations), a step
 * of 1, 2 or 5 times a power of ten: Plot's own tick count may pick halves,
 * which a whole-number format would print twice.
 */
function integerTicks(xs: readonly number[]): number[] {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const rough = Math.max(1, (hi - lo) / 5);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) ticks.push(t);
  return ticks;
}
