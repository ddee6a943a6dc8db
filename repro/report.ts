/**
 * Turns the results file into the report: the learning-rate selection,
 * test accuracy without and with GC in the layout of the paper's Table 2
 * with paired differences, 95% t intervals and win counts, a sentence per
 * optimizer, and SVG charts (training curves, Fig. 3, Fig. 4, Fig. 5,
 * fine-tuning).
 *
 * @module
 */
import jstat from "jstat";
import {
  type ArchName,
  ARCHS,
  cellKey,
  type OptimizerName,
  optimizersFor,
  type ReproOptions,
  settingsOf,
} from "./config.ts";
import { type Choice, meanStd, type RunRecord } from "./results.ts";
import { type Panel, renderChart, type Series } from "../web/chart_svg.ts";
import { lrRangePanel } from "../web/lr_range_chart.ts";

/** What {@linkcode buildReport} returns. */
export interface Report {
  /** The markdown, with chart links relative to the output directory. */
  markdown: string;
  /** SVG files by name. */
  charts: Record<string, string>;
  /**
   * Final test accuracy (fraction) by `arch/optimizer[+gc]` over the seeds at
   * the cell's chosen rate, mean and std; `finetune/sgdm[+gc]` too.
   */
  cells: Record<string, { mean: number; std: number; n: number }>;
  /** The paired comparison of each `arch/optimizer`. */
  comparisons: Record<string, Comparison>;
}

/** Describes where and how the numbers were made. */
export interface ReportContext {
  command: string;
  machine: string;
  dataset: string;
  wallSeconds: number;
  /** Each cell's chosen rate (`chooseRates`). */
  chosen: ReadonlyMap<string, Choice>;
}

/** Seconds from the start of the first run to the end of the last. */
function span(records: readonly RunRecord[]): number {
  if (records.length === 0) return 0;
  const end = Math.max(...records.map((r) => Date.parse(r.finishedAt)));
  const start = Math.min(
    ...records.map((r) => Date.parse(r.finishedAt) - r.seconds * 1000),
  );
  return (end - start) / 1000;
}

// jstat ships no types: the one function used here, typed.
const { studentt } = jstat as unknown as {
  studentt: { inv(p: number, dof: number): number };
};

/** GC minus no GC over seeds: the paired statistics of one optimizer. */
export interface Comparison {
  /** Per-seed differences (GC − no GC), in seed order. */
  diffs: number[];
  /** Their mean. */
  mean: number;
  /** The 95% t interval of the mean (NaN with fewer than 2 seeds). */
  ci: [number, number];
  /** Seeds where GC was better. */
  wins: number;
  /** `helped` / `hurt` when the interval excludes 0, else `no measurable difference`. */
  verdict: "helped" | "hurt" | "no measurable difference" | "too few seeds";
}

/**
 * The mean of `xs` and its two-sided 95% confidence interval from
 * Student's t with n − 1 degrees of freedom: mean ± t(0.975, n−1)·s/√n.
 *
 * @param xs At least two values for an interval.
 * @returns The mean and the interval (NaN bounds for fewer than 2 values).
 */
export function tInterval(
  xs: readonly number[],
): { mean: number; ci: [number, number] } {
  const { mean, std } = meanStd(xs);
  if (xs.length < 2) return { mean, ci: [NaN, NaN] };
  const half = studentt.inv(0.975, xs.length - 1) * std /
    Math.sqrt(xs.length);
  return { mean, ci: [mean - half, mean + half] };
}

/** The paired comparison of per-seed differences (GC − no GC). */
export function compare(diffs: readonly number[]): Comparison {
  const { mean, ci } = tInterval(diffs);
  const verdict = diffs.length < 2
    ? "too few seeds"
    : ci[0] > 0
    ? "helped"
    : ci[1] < 0
    ? "hurt"
    : "no measurable difference";
  return {
    diffs: [...diffs],
    mean,
    ci,
    wins: diffs.filter((d) => d > 0).length,
    verdict,
  };
}

function signed(x: number, digits = 2): string {
  return `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(digits)}`;
}

const ARCH_LABEL: Record<ArchName, string> = {
  mlp: "MLP",
  cnn: "smallCnn (BN)",
  "cnn-nobn": "smallCnn (no BN)",
};

function pct(m: { mean: number; std: number }): string {
  return `${(m.mean * 100).toFixed(2)} ± ${(m.std * 100).toFixed(2)}`;
}

function label(p: OptimizerName): string {
  return settingsOf(p).label;
}

function curves(
  records: readonly RunRecord[],
  pick: (r: RunRecord) => number[],
  scale = 1,
): { x: number[]; y: number[]; band: number[] } {
  const len = Math.min(...records.map((r) => pick(r).length));
  const x: number[] = [], y: number[] = [], band: number[] = [];
  for (let e = 0; e < len; e++) {
    const s = meanStd(records.map((r) => pick(r)[e]!));
    x.push(e + 1);
    y.push(s.mean * scale);
    band.push(s.std * scale);
  }
  return { x, y, band };
}

function pair(
  groups: readonly [string, readonly RunRecord[]][],
  what: "loss" | "acc",
): Series[] {
  return groups.filter(([, rs]) => rs.length > 0).map(([label, rs]) => ({
    label: `${label} (mean ± std, n=${rs.length})`,
    ...(what === "loss"
      ? curves(rs, (r) => r.loss)
      : curves(rs, (r) => r.testAccuracy, 100)),
  }));
}

/**
 * Per-seed differences of final test accuracy, GC minus no GC, for the
 * seeds that have both runs.
 */
export function pairedDiffs(records: readonly RunRecord[]): number[] {
  const by = new Map<number, { gc?: number; plain?: number }>();
  for (const r of records) {
    if (r.kind !== "table" && r.kind !== "finetune") continue;
    const e = by.get(r.seed) ?? {};
    e[r.gc ? "gc" : "plain"] = r.testAccuracy.at(-1)!;
    by.set(r.seed, e);
  }
  return [...by.keys()].sort((a, b) => a - b).flatMap((seed) => {
    const e = by.get(seed)!;
    return e.gc === undefined || e.plain === undefined ? [] : [e.gc - e.plain];
  });
}

/** Mean, 95% interval and wins of paired differences, in points. */
function pairedText(diffs: readonly number[]): string {
  if (diffs.length === 0) return "–";
  const c = compare(diffs);
  return `${signed(c.mean * 100)} [${
    Number.isNaN(c.ci[0])
      ? "–"
      : `${signed(c.ci[0] * 100)}, ${signed(c.ci[1] * 100)}`
  }] (${c.wins}/${diffs.length})`;
}

/** The report being written: markdown lines, charts and table cells. */
interface Draft {
  md: string[];
  charts: Report["charts"];
  cells: Report["cells"];
  comparisons: Report["comparisons"];
}

type TableRecord = RunRecord & { kind: "table" };

/**
 * Builds the report from the records of one configuration: the settings,
 * the rate selection, Table 2 with paired statistics and a sentence per
 * optimizer, the losses, the curves, Fig. 5, Fig. 4, Fig. 3 and the
 * fine-tuning, each by a function of its own.
 *
 * @param records The runs, any order.
 * @param o The settings they ran with.
 * @param ctx Command, machine, dataset, wall time, chosen rates.
 */
export function buildReport(
  records: readonly RunRecord[],
  o: ReproOptions,
  ctx: ReportContext,
): Report {
  const out: Draft = {
    md: settingsLines(records, o, ctx),
    charts: {},
    cells: {},
    comparisons: {},
  };
  const table = records.filter((r): r is TableRecord => r.kind === "table");
  // The seed runs: every cell's runs at its chosen rate.
  const atChosen = table.filter((r) => ctx.chosen.get(cellKey(r))?.lr === r.lr);
  const archs = ARCHS.filter((a) => table.some((r) => r.arch === a));
  for (const arch of archs) {
    const opts = optimizersFor(o, arch).filter((p) =>
      table.some((r) => r.arch === arch && r.optimizer === p)
    );
    const axes = { arch, opts };
    rangeSection(records, ctx.chosen, axes, out);
    selectionTable(ctx.chosen, o, axes, out);
    accuracyTable(atChosen, ctx.chosen, axes, out);
    lossTable(atChosen, axes, out);
    curvesFigure(atChosen, axes, out);
  }
  fig5(atChosen, out);
  // Figs. 4 and 3 read the SGDM runs of seed 1 at the chosen rates.
  const tapped = atChosen.filter((r) =>
    r.gradStats !== undefined && r.optimizer === "sgd" && r.seed === 1
  );
  const plain = tapped.find((r) => !r.gc);
  const withGc = tapped.find((r) => r.gc && r.arch === plain?.arch);
  if (plain !== undefined && withGc !== undefined) {
    fig4(plain, withGc, out);
    fig3(plain, withGc, out);
  }
  fineTuning(records, o, out);
  return {
    markdown: out.md.join("\n"),
    charts: out.charts,
    cells: out.cells,
    comparisons: out.comparisons,
  };
}

/** The list of settings at the top: command, machine, data, models, runs. */
function settingsLines(
  records: readonly RunRecord[],
  o: ReproOptions,
  ctx: ReportContext,
): string[] {
  const compute = records.reduce((s, r) => s + r.seconds, 0);
  return [
    `- command: \`${ctx.command}\``,
    `- machine: ${ctx.machine}`,
    ...(records.length > 0
      ? [
        `- finished: ${
          new Date(Math.max(...records.map((r) => Date.parse(r.finishedAt))))
            .toISOString().slice(0, 16).replace("T", " ")
        } UTC`,
      ]
      : []),
    `- backend: ${backendsLine(records)}`,
    `- data: ${ctx.dataset}; ${
      o.trainLimit || "all"
    } class-balanced training images of which ${o.valPerClass} per class are held out for validation (never trained on), ${
      o.testLimit || "all"
    } test images; batch ${o.batchSize}`,
    `- models: ${
      [
        ...(o.archs.includes("mlp")
          ? [`MLP (hidden ${o.hidden.join(", ")})`]
          : []),
        ...(o.archs.some((a) => a !== "mlp") || o.finetune
          ? [`smallCnn at width ${o.width}`]
          : []),
      ].join(", ")
    }; ${o.epochs} epochs per MLP run, ${o.convEpochs} per smallCnn run; learning rate from its value to 0 along a cosine over the run's steps (no warmup, no restarts)`,
    `- learning rates: each cell (model, optimizer, with or without GC) ran a grid of ${o.lrFactors.length} rates (${
      o.lrFactors.map((f) => `${Number(f.toPrecision(3))}×`).join(", ")
    } the optimizer's centre) on seed 1; the rate with the best validation accuracy after the last epoch was then run on seeds 2–${o.seeds} (seed 1's run is the grid run); test accuracy played no part in the choice`,
    `- ${records.length} runs, ${
      (compute / 60).toFixed(1)
    } min of training and evaluation (the sum of the runs' own times); ${
      (span(records) / 60).toFixed(1)
    } min from the start of the first run to the end of the last${
      ctx.wallSeconds < span(records) - 60
        ? " (over more than one session: the results file was resumed)"
        : ""
    }`,
    "",
  ];
}

/** The backends each architecture (or run kind) ran on. */
function backendsLine(records: readonly RunRecord[]): string {
  const backends = [...new Set(records.map((r) => `${r.backend}`))];
  const byArchBackend = new Map<string, Set<string>>();
  for (const r of records) {
    const key = r.kind === "table" || r.kind === "lrrange" ? r.arch : r.kind;
    const s = byArchBackend.get(key) ?? new Set<string>();
    s.add(r.backend);
    byArchBackend.set(key, s);
  }
  return [...byArchBackend].map(([k, s]) => `${k}: ${[...s].join(", ")}`)
    .join("; ") || backends.join(", ");
}

/** One architecture and the optimizers its table covers, in table order. */
interface Axes {
  arch: ArchName;
  opts: OptimizerName[];
}

function cellRuns(
  table: readonly TableRecord[],
  arch: ArchName,
  p: OptimizerName,
  gc: boolean,
): TableRecord[] {
  return table.filter((r) =>
    r.arch === arch && r.optimizer === p && r.gc === gc
  ).sort((a, b) => a.seed - b.seed);
}

/** The grid: validation accuracy at each rate, the chosen one in bold. */
function selectionTable(
  chosen: ReadonlyMap<string, Choice>,
  o: ReproOptions,
  { arch, opts }: Axes,
  out: Draft,
): void {
  const n = o.lrFactors.length;
  out.md.push(
    `### ${
      ARCH_LABEL[arch]
    }: learning-rate grid, validation accuracy (%) after the last epoch (seed 1)`,
    "",
    `| optimizer | GC | ${
      o.lrFactors.map((_, i) => `rate ${i + 1}`).join(" | ")
    } | chosen |`,
    `| --- | --- |${" ---: |".repeat(n)} ---: |`,
  );
  const edges: string[] = [];
  for (const p of opts) {
    for (const gc of [false, true]) {
      const c = chosen.get(cellKey({ arch, optimizer: p, gc }));
      if (c === undefined) continue;
      const cellsText = c.grid.map((g) => {
        const t = `${g.lr}: ${(g.valAccuracy * 100).toFixed(2)}`;
        return g.lr === c.lr ? `**${t}**` : t;
      });
      if (c.atEdge) edges.push(`${label(p)}${gc ? "+GC" : ""}`);
      out.md.push(
        `| ${gc ? "" : label(p)} | ${gc ? "w/ GC" : "w/o GC"} | ${
          cellsText.join(" | ")
        } | ${c.lr}${c.atEdge ? " (edge)" : ""} |`,
      );
    }
  }
  out.md.push(
    "",
    edges.length === 0
      ? "Every chosen rate is inside its grid."
      : `At the edge of its grid (a wider grid might find a better rate): ${
        edges.join(", ")
      }.`,
    "",
  );
}

type RangeRecord = RunRecord & { kind: "lrrange" };

/**
 * The learning-rate range tests (Smith 2017) of one architecture: each
 * cell's suggested rate beside the rate its grid chose, and the curves.
 */
function rangeSection(
  records: readonly RunRecord[],
  chosen: ReadonlyMap<string, Choice>,
  { arch, opts }: Axes,
  out: Draft,
): void {
  const ranges = records.filter((r): r is RangeRecord =>
    r.kind === "lrrange" && r.arch === arch && r.lrRange !== undefined
  );
  if (ranges.length === 0) return;
  const find = (p: OptimizerName, gc: boolean) =>
    ranges.find((r) => r.optimizer === p && r.gc === gc);
  const fmt = (x: number | null | undefined) =>
    x === null || x === undefined ? "–" : Number(x.toPrecision(2)).toString();
  out.md.push(
    `### ${ARCH_LABEL[arch]}: learning-rate range test (Smith 2017), seed 1`,
    "",
    "`lrRangeTest` from @centra/tfjs: the rate grows exponentially from 1e-3× to 100× the optimizer's grid centre, one training batch per step; the suggestion is where the smoothed loss falls fastest (fastai's rule). It is shown beside the rate the grid chose on validation; it does not choose.",
    "",
    "| optimizer | GC | range | suggested | lowest smoothed loss at | diverged at | grid's choice |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: |",
  );
  const panels: Panel[] = [];
  for (const gc of [false, true]) {
    for (const p of opts) {
      const r = find(p, gc)?.lrRange;
      if (r === undefined) continue;
      const panel = lrRangePanel(
        r,
        `${label(p)}${gc ? "+GC" : ""}: suggests ${fmt(r.suggestion)}`,
      );
      panels.push({
        ...panel,
        series: panel.series.map((s, i) =>
          i === 2 ? { ...s, label: "suggested rate" } : s
        ),
      });
    }
  }
  for (const p of opts) {
    for (const gc of [false, true]) {
      const r = find(p, gc)?.lrRange;
      if (r === undefined) continue;
      out.md.push(
        `| ${gc ? "" : label(p)} | ${gc ? "w/ GC" : "w/o GC"} | ${
          fmt(r.learningRates[0])
        } – ${fmt(r.learningRates.at(-1))} | ${fmt(r.suggestion)} | ${
          fmt(r.minimum.learningRate)
        } | ${r.diverged ? fmt(r.learningRates.at(-1)) : "–"} | ${
          fmt(chosen.get(cellKey({ arch, optimizer: p, gc }))?.lr)
        } |`,
      );
    }
  }
  const name = `lr_range_${arch}.svg`;
  out.charts[name] = renderChart(panels, {
    title: `${
      ARCH_LABEL[arch]
    }: learning-rate range tests, without GC (top) and with GC (bottom)`,
    columns: Math.max(1, Math.ceil(panels.length / 2)),
    panelWidth: 300,
    panelHeight: 240,
  });
  out.md.push("", `![${ARCH_LABEL[arch]} range tests](${name})`, "");
}

/** The paper's Table 2 direction in words, for an optimizer. */
function paperWords(p: OptimizerName): string {
  return settingsOf(p).paper === "helped"
    ? "helped (Table 2)"
    : "not in Table 2";
}

/**
 * Paper Table 2: final test accuracy without and with GC, each at its own
 * rate, the paired difference with its 95% interval and wins, and a
 * sentence per optimizer.
 */
function accuracyTable(
  table: readonly TableRecord[],
  chosen: ReadonlyMap<string, Choice>,
  { arch, opts }: Axes,
  out: Draft,
): void {
  out.md.push(
    `### ${
      ARCH_LABEL[arch]
    }: test accuracy (%) after the last epoch, each cell at its chosen rate (paper Table 2)`,
    "",
    "| optimizer | w/o GC | w/ GC | GC − no GC, paired by seed: mean [95% CI] (wins) | here | paper |",
    "| --- | ---: | ---: | ---: | --- | --- |",
  );
  const sentences: string[] = [];
  for (const p of opts) {
    const key = (gc: boolean) => cellKey({ arch, optimizer: p, gc });
    const side = (gc: boolean) => {
      const rs = cellRuns(table, arch, p, gc);
      const s = meanStd(rs.map((r) => r.testAccuracy.at(-1)!));
      out.cells[key(gc)] = { ...s, n: rs.length };
      return rs.length === 0
        ? "–"
        : `${pct(s)} (lr ${chosen.get(key(gc))?.lr}, n=${rs.length})`;
    };
    const without = side(false), withGc = side(true);
    const diffs = pairedDiffs([
      ...cellRuns(table, arch, p, false),
      ...cellRuns(table, arch, p, true),
    ]);
    if (diffs.length === 0) continue;
    const c = compare(diffs);
    out.comparisons[`${arch}/${p}`] = c;
    out.md.push(
      `| ${label(p)} | ${without} | ${withGc} | ${
        pairedText(diffs)
      } | ${c.verdict} | ${paperWords(p)} |`,
    );
    sentences.push(sentence(label(p), c, settingsOf(p).paper));
  }
  out.md.push(
    "",
    'The interval is mean ± t(0.975, n−1)·s/√n over the per-seed differences (same seed: same initial weights and data order; each side at its own chosen rate); "helped" or "hurt" when it excludes 0, else "no measurable difference". Wins: seeds where GC was better.',
    "",
    ...sentences.map((s) => `- ${s}`),
    "",
  );
}

/** One sentence: what GC did to this optimizer here, beside the paper. */
export function sentence(
  name: string,
  c: Comparison,
  paper: "helped" | undefined,
): string {
  const pts = (x: number) => `${signed(x * 100)} points`;
  const range = Number.isNaN(c.ci[0])
    ? ""
    : ` (95% CI ${pts(c.ci[0])} to ${pts(c.ci[1])})`;
  const here = c.verdict === "helped"
    ? `GC helped: ${
      pts(c.mean)
    }${range}, better on ${c.wins} of ${c.diffs.length} seeds`
    : c.verdict === "hurt"
    ? `GC hurt: ${
      pts(c.mean)
    }${range}, better on ${c.wins} of ${c.diffs.length} seeds`
    : c.verdict === "too few seeds"
    ? `too few seeds to say (${pts(c.mean)})`
    : `no measurable difference: ${
      pts(c.mean)
    }${range}, better on ${c.wins} of ${c.diffs.length} seeds`;
  const vs = paper === undefined
    ? "the paper's Table 2 does not test it"
    : c.verdict === "helped"
    ? "as in the paper's Table 2, where GC helped"
    : c.verdict === "hurt"
    ? "the opposite of the paper's Table 2, where GC helped"
    : "the paper's Table 2 found that GC helped";
  return `**${name}**: ${here}; ${vs}.`;
}

/** Final training loss of each cell, and how flat it was at the end. */
function lossTable(
  table: readonly TableRecord[],
  { arch, opts }: Axes,
  out: Draft,
): void {
  out.md.push(
    `### ${
      ARCH_LABEL[arch]
    }: training loss in the last epoch, mean ± std, and its flatness`,
    "",
    "| optimizer | GC | last-epoch loss | last epoch's drop, % of the run's drop |",
    "| --- | --- | ---: | ---: |",
  );
  for (const p of opts) {
    for (const gc of [false, true]) {
      const rs = cellRuns(table, arch, p, gc);
      if (rs.length === 0) continue;
      const s = meanStd(rs.map((r) => r.loss.at(-1)!));
      out.md.push(
        `| ${gc ? "" : label(p)} | ${gc ? "w/ GC" : "w/o GC"} | ${
          s.mean.toFixed(4)
        } ± ${s.std.toFixed(4)} | ${flatness(rs).toFixed(1)} |`,
      );
    }
  }
  out.md.push(
    "",
    "Flatness: (loss of the second-to-last epoch − loss of the last) / (loss of the first − loss of the last), mean over seeds, in %: a few % means the loss has levelled off.",
    "",
  );
}

/** The last epoch's share of the run's loss drop, mean over runs, in %. */
export function flatness(rs: readonly RunRecord[]): number {
  const shares = rs.filter((r) => r.loss.length >= 2).map((r) => {
    const l = r.loss;
    const total = l[0]! - l.at(-1)!;
    return total > 0 ? (l.at(-2)! - l.at(-1)!) / total * 100 : NaN;
  });
  return shares.length === 0 ? NaN : meanStd(shares).mean;
}

/** Training loss and test accuracy curves, one chart per architecture. */
function curvesFigure(
  table: readonly TableRecord[],
  { arch, opts }: Axes,
  out: Draft,
): void {
  const panels: Panel[] = [];
  for (const what of ["loss", "acc"] as const) {
    for (const p of opts) {
      panels.push({
        title: `${label(p)}: ${
          what === "loss" ? "training loss" : "test accuracy"
        }`,
        xLabel: "epoch",
        ...(what === "acc" ? { unit: "%" } : {}),
        series: pair([
          [label(p), cellRuns(table, arch, p, false)],
          [`${label(p)}+GC`, cellRuns(table, arch, p, true)],
        ], what),
      });
    }
  }
  const name = `curves_${arch}.svg`;
  out.charts[name] = renderChart(panels, {
    title: `${
      ARCH_LABEL[arch]
    } on Fashion-MNIST, each at its chosen rate: without GC (red) and with GC (blue), mean ± std over seeds`,
    columns: opts.length,
    panelWidth: 300,
    panelHeight: 260,
  });
  out.md.push(`![${ARCH_LABEL[arch]} curves](${name})`, "");
}

/** Paper Fig. 5: BN vs BN + GC (SGDM, the BN convnet, each at its chosen rate). */
function fig5(table: readonly TableRecord[], out: Draft): void {
  const bn = table.filter((r) => r.arch === "cnn" && r.optimizer === "sgd");
  if (bn.length === 0) return;
  const sel = (gc: boolean) => bn.filter((r) => r.gc === gc);
  out.charts["fig5_bn_gc.svg"] = renderChart([
    {
      title: "training loss",
      xLabel: "epoch",
      series: pair([["BN", sel(false)], ["BN+GC", sel(true)]], "loss"),
    },
    {
      title: "test accuracy",
      xLabel: "epoch",
      unit: "%",
      series: pair([["BN", sel(false)], ["BN+GC", sel(true)]], "acc"),
    },
  ], {
    title:
      "Fig. 5 at laptop scale: smallCnn (BN) with SGDM, without and with GC, each at its chosen rate",
  });
  out.md.push(
    "### BN vs BN + GC (paper Fig. 5)",
    "",
    "![Fig. 5](fig5_bn_gc.svg)",
    "",
  );
}

/**
 * Paper Fig. 4: gradient norms and max values of the tapped layers, every
 * iteration, SGDM without and with GC from the same seed.
 */
function fig4(plain: TableRecord, withGc: TableRecord, out: Draft): void {
  if (plain.gradStats === undefined || withGc.gradStats === undefined) return;
  const panels: Panel[] = [];
  const summary: string[] = [];
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  for (const layer of Object.keys(plain.gradStats)) {
    for (const stat of ["norm", "max"] as const) {
      const a = plain.gradStats[layer]![stat];
      const b = withGc.gradStats[layer]![stat];
      panels.push({
        title: `${layer}: ${stat === "norm" ? "L2 norm" : "max |value|"}`,
        xLabel: "iteration",
        logY: true,
        series: [
          { label: "SGDM", x: a.map((_, i) => i + 1), y: a, points: true },
          { label: "SGDM+GC", x: b.map((_, i) => i + 1), y: b, points: true },
        ],
      });
      summary.push(
        `| ${layer} | ${stat === "norm" ? "L2 norm" : "max"} | ${
          mean(a).toExponential(3)
        } | ${mean(b).toExponential(3)} | ${(mean(b) / mean(a)).toFixed(3)} |`,
      );
    }
  }
  out.charts["fig4_grad_norms.svg"] = renderChart(panels, {
    title:
      `Fig. 4 at laptop scale: gradient of the first conv and the FC layer (smallCnn, SGDM, seed ${plain.seed})`,
    columns: 4,
    panelWidth: 300,
  });
  out.md.push(
    "### Gradient L2 norm and max value (paper Fig. 4)",
    "",
    "The gradient that enters the momentum: `g + λw` without GC, `P(g + λw)` with GC, every iteration, both runs from the same seed.",
    "",
    "| layer | statistic | SGDM (mean over iterations) | SGDM+GC | ratio |",
    "| --- | --- | ---: | ---: | ---: |",
    ...summary,
    "",
    "![Fig. 4](fig4_grad_norms.svg)",
    "",
  );
}

/** Paper Fig. 3 (Theorem 4.1): each weight vector's mean at init and after training. */
function fig3(plain: TableRecord, withGc: TableRecord, out: Draft): void {
  const m0 = plain.unitMeans, m1 = withGc.unitMeans;
  if (m0 === undefined || m1 === undefined) return;
  const layers = Object.keys(m0);
  const flat = (m: typeof m0, which: "init" | "final") =>
    layers.flatMap((l) => m[l]![which].map(Math.abs));
  const init = flat(m0, "init");
  const x = init.map((_, i) => i + 1);
  out.charts["fig3_unit_means.svg"] = renderChart([{
    title: `|mean| of each weight vector (${layers.join(", ")}, left to right)`,
    xLabel: "weight vector index",
    logY: true,
    series: [
      {
        label: "at init (Kaiming normal)",
        x,
        y: init,
        points: true,
        hollow: true,
      },
      { label: "after SGDM", x, y: flat(m0, "final"), points: true },
      { label: "after SGDM+GC", x, y: flat(m1, "final"), points: true },
    ],
  }], {
    title:
      `Fig. 3 at laptop scale: per-unit weight means of smallCnn (seed ${plain.seed})`,
    panelWidth: 900,
    colors: ["#7f7f7f", "#d62728", "#1f77b4"],
  });
  const drift = (m: typeof m0) =>
    Math.max(
      ...layers.flatMap((l) =>
        m[l]!.init.map((v, i) => Math.abs(m[l]!.final[i]! - v))
      ),
    );
  out.md.push(
    "### Per-unit weight means (paper Fig. 3, Theorem 4.1)",
    "",
    `Largest change of a weight vector's mean over training: SGDM ${
      drift(m0).toExponential(2)
    }, SGDM+GC ${
      drift(m1).toExponential(2)
    } (GC keeps every mean at its initial value, up to float32 rounding).`,
    "",
    "![Fig. 3](fig3_unit_means.svg)",
    "",
  );
}

/** Paper 5.5: fine-tuning a pretrained smallCnn on five new classes. */
function fineTuning(
  records: readonly RunRecord[],
  o: ReproOptions,
  out: Draft,
): void {
  const pre = records.filter((r) => r.kind === "pretrain");
  const ft = records.filter((r) => r.kind === "finetune");
  if (ft.length === 0) return;
  const sel = (gc: boolean) => ft.filter((r) => r.gc === gc);
  const fin = (rs: RunRecord[]) =>
    meanStd(rs.map((r) => r.testAccuracy.at(-1)!));
  const a = fin(sel(false)), b = fin(sel(true));
  out.cells["finetune/sgdm"] = { ...a, n: sel(false).length };
  out.cells["finetune/sgdm+gc"] = { ...b, n: sel(true).length };
  out.md.push(
    "### Fine-tuning (paper 5.5)",
    "",
    `smallCnn pretrained on classes 0–4 (SGDM, ${o.pretrainEpochs} epochs, test accuracy on classes 0–4: ${
      pre.length ? pct(meanStd(pre.map((r) => r.testAccuracy.at(-1)!))) : "–"
    } %), then a new 5-class head fine-tuned with the backbone on classes 5–9 for ${o.finetuneEpochs} epochs with \`fineTuning(model, { head })\` from @centra/match: SGDM, momentum 0.9, learning rate 0.1 for the head and 0.01 for the backbone, x0.1 at 50% and 80% of the steps.`,
    "",
    "| | SGDM | SGDM+GC | GC − no GC, paired by seed: mean [95% CI] (wins) |",
    "| --- | ---: | ---: | ---: |",
    `| test accuracy (%), classes 5–9 | ${pct(a)} | ${pct(b)} | ${
      pairedText(pairedDiffs(ft))
    } |`,
    "",
    "![fine-tuning](finetune.svg)",
    "",
  );
  out.charts["finetune.svg"] = renderChart([
    {
      title: "training loss",
      xLabel: "epoch",
      series: pair([["SGDM", sel(false)], ["SGDM+GC", sel(true)]], "loss"),
    },
    {
      title: "test accuracy (classes 5–9)",
      xLabel: "epoch",
      unit: "%",
      series: pair([["SGDM", sel(false)], ["SGDM+GC", sel(true)]], "acc"),
    },
  ], { title: "Fine-tuning a pretrained smallCnn on five new classes" });
}
