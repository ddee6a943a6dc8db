// Private helpers of examples/demo.ts: the side-by-side table and the SVG
// chart (drawn by the project's one chart writer, web/chart.ts).
import { renderChart } from "../web/chart_svg.ts";

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

/** An SVG with two panels (training loss, test accuracy), one line per run. */
export function renderSvg(runs: readonly Run[], title: string): string {
  const series = (pick: (r: Run) => number[]) =>
    runs.map((r) => {
      const y = pick(r);
      return { label: r.label, x: y.map((_, i) => i + 1), y };
    });
  return renderChart([
    { title: "training loss", xLabel: "epoch", series: series((r) => r.loss) },
    {
      title: "test accuracy",
      xLabel: "epoch",
      unit: "%",
      series: series((r) => r.testAccuracy.map((a) => a * 100)),
    },
  ], { title });
}
