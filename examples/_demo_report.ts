// Private helpers of examples/demo.ts: the side-by-side table and the SVG
// chart (hand-written SVG, no dependency).

/** One optimizer's curves: per-epoch training loss and test accuracy. */
export interface Run {
  /** The label shown in the table and the legend. */
  label: string;
  /** Mean training loss of each epoch. */
  loss: number[];
  /** Test accuracy after each epoch, in [0, 1]. */
  testAccuracy: number[];
  /** Training steps per second of each epoch. */
  stepsPerSecond: number[];
  /** Wall time of the whole run, in seconds. */
  seconds: number;
}

/** A plain-text table, one row per epoch, two columns per run. */
export function renderTable(runs: readonly Run[]): string {
  const epochs = Math.max(...runs.map((r) => r.loss.length));
  const header = ["epoch"];
  for (const r of runs) header.push(`${r.label} loss`, `${r.label} test acc`);
  const rows: string[][] = [header];
  for (let e = 0; e < epochs; e++) {
    const row = [String(e + 1)];
    for (const r of runs) {
      const l = r.loss[e];
      const a = r.testAccuracy[e];
      row.push(
        l === undefined ? "" : l.toFixed(4),
        a === undefined ? "" : `${(a * 100).toFixed(2)}%`,
      );
    }
    rows.push(row);
  }
  const timeRow = ["time"];
  for (const r of runs) {
    const sps = r.stepsPerSecond.length === 0
      ? 0
      : r.stepsPerSecond.reduce((s, x) => s + x, 0) / r.stepsPerSecond.length;
    timeRow.push(`${r.seconds.toFixed(1)}s`, `${sps.toFixed(2)} steps/s`);
  }
  rows.push(timeRow);
  const widths = header.map((_, c) =>
    Math.max(...rows.map((row) => row[c]!.length))
  );
  const line = (row: string[]) =>
    row.map((cell, c) =>
      c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)
    );
  const rule = widths.map((w) => "-".repeat(w));
  return [
    line(rows[0]!),
    rule,
    ...rows.slice(1, -1).map(line),
    rule,
    line(rows.at(-1)!),
  ]
    .map((cells) => cells.join("  "))
    .join("\n");
}

const COLORS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** Round axis bounds and about five ticks spanning `[lo, hi]`, with the decimals they need. */
function niceTicks(
  lo: number,
  hi: number,
): { ticks: number[]; decimals: number } {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.1 || 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const start = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let t = start; t <= hi + step * 0.999; t += step) {
    ticks.push(Number(t.toFixed(10)));
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) +
    (String(step / mag).includes(".") ? 1 : 0);
  return { ticks, decimals };
}

interface Panel {
  title: string;
  series: Array<{ label: string; values: number[]; color: string }>;
  unit: string;
}

function panel(p: Panel, x0: number, y0: number, w: number, h: number): string {
  const left = 56, right = 12, top = 28, bottom = 40;
  const pw = w - left - right, ph = h - top - bottom;
  const all = p.series.flatMap((s) => s.values).filter(Number.isFinite);
  const n = Math.max(1, ...p.series.map((s) => s.values.length));
  const { ticks, decimals } = niceTicks(Math.min(...all), Math.max(...all));
  const lo = ticks[0]!, hi = ticks.at(-1)!;
  const sx = (i: number) => x0 + left + (n === 1 ? pw / 2 : (i / (n - 1)) * pw);
  const sy = (v: number) => y0 + top + ph - ((v - lo) / (hi - lo || 1)) * ph;
  const out: string[] = [];
  out.push(
    `<text x="${x0 + left + pw / 2}" y="${
      y0 + 18
    }" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`,
  );
  for (const t of ticks) {
    const y = sy(t).toFixed(1);
    out.push(
      `<line x1="${x0 + left}" x2="${
        x0 + left + pw
      }" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`,
    );
    out.push(
      `<text x="${
        x0 + left - 6
      }" y="${y}" text-anchor="end" dominant-baseline="middle">${
        t.toFixed(decimals)
      }${esc(p.unit)}</text>`,
    );
  }
  for (let i = 0; i < n; i++) {
    out.push(
      `<text x="${sx(i).toFixed(1)}" y="${
        y0 + top + ph + 16
      }" text-anchor="middle">${i + 1}</text>`,
    );
  }
  out.push(
    `<text x="${x0 + left + pw / 2}" y="${
      y0 + h - 6
    }" text-anchor="middle">epoch</text>`,
    `<rect x="${x0 + left}" y="${
      y0 + top
    }" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  );
  for (const s of p.series) {
    const pts = s.values.map((v, i) =>
      `${sx(i).toFixed(1)},${sy(v).toFixed(1)}`
    );
    if (pts.length > 1) {
      out.push(
        `<polyline points="${
          pts.join(" ")
        }" fill="none" stroke="${s.color}" stroke-width="2"/>`,
      );
    }
    for (const pt of pts) {
      const [cx, cy] = pt.split(",");
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
    }
  }
  return out.join("\n");
}

/** An SVG with two panels (training loss, test accuracy), one line per run. */
export function renderSvg(runs: readonly Run[], title: string): string {
  const w = 900, h = 380, panelH = 320;
  const series = (pick: (r: Run) => number[]) =>
    runs.map((r, i) => ({
      label: r.label,
      values: pick(r),
      color: COLORS[i % COLORS.length]!,
    }));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${
      w / 2
    }" y="20" text-anchor="middle" font-size="14" font-weight="bold">${
      esc(title)
    }</text>`,
    panel(
      { title: "training loss", series: series((r) => r.loss), unit: "" },
      0,
      30,
      w / 2,
      panelH,
    ),
    panel(
      {
        title: "test accuracy",
        series: series((r) => r.testAccuracy.map((a) => a * 100)),
        unit: "%",
      },
      w / 2,
      30,
      w / 2,
      panelH,
    ),
  ];
  runs.forEach((r, i) => {
    const x = 70 + i * 180;
    parts.push(
      `<line x1="${x}" x2="${x + 24}" y1="${h - 16}" y2="${h - 16}" stroke="${
        COLORS[i % COLORS.length]
      }" stroke-width="3"/>`,
      `<text x="${x + 30}" y="${h - 16}" dominant-baseline="middle">${
        esc(r.label)
      }</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
