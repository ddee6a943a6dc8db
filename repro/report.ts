/**
 * Turns the results file into the report: markdown tables of mean ± std
 * test accuracy in the layout of the paper's Table 2, and SVG charts
 * (training curves, Fig. 3, Fig. 4, Fig. 5, fine-tuning).
 *
 * @module
 */
import {
  type ArchName,
  ARCHS,
  type OptimizerName,
  OPTIMIZERS,
  type ReproOptions,
  TABLE2,
} from "./config.ts";
import { meanStd, type RunRecord } from "./results.ts";
import { type Panel, renderChart, type Series } from "../web/chart_svg.ts";

/** What {@linkcode buildReport} returns. */
export interface Report {
  /** The markdown, with chart links relative to the output directory. */
  markdown: string;
  /** SVG files by name. */
  charts: Record<string, string>;
  /** Final test accuracy (%) by `arch/optimizer[+gc]`, mean and std over seeds. */
  cells: Record<string, { mean: number; std: number; n: number }>;
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

/** Mean ± std of the paired differences, GC minus no GC, and how many favour GC. */
function pairedDelta(records: readonly RunRecord[]): string {
  const diffs = pairedDiffs(records);
  if (diffs.length === 0) return "–";
  const s = meanStd(diffs);
  return `${s.mean >= 0 ? "+" : ""}${(s.mean * 100).toFixed(2)} ± ${
    (s.std * 100).toFixed(2)
  } (${diffs.filter((d) => d > 0).length}/${diffs.length})`;
}

/** Describes where and how the numbers were made. */
export interface ReportContext {
  command: string;
  machine: string;
  dataset: string;
  wallSeconds: number;
}

const ARCH_LABEL: Record<ArchName, string> = {
  mlp: "MLP",
  cnn: "smallCnn (BN)",
  "cnn-nobn": "smallCnn (no BN)",
};

function pct(m: { mean: number; std: number }): string {
  return `${(m.mean * 100).toFixed(2)} ± ${(m.std * 100).toFixed(2)}`;
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

/** The report being written: markdown lines, charts and table cells. */
interface Draft {
  md: string[];
  charts: Report["charts"];
  cells: Report["cells"];
}

type TableRecord = RunRecord & { kind: "table" };

/**
 * Builds the report from the records of one configuration: the settings,
 * Table 2, the curves, Fig. 5, Fig. 4, Fig. 3 and the fine-tuning, each by
 * a function of its own.
 *
 * @param records The runs, any order.
 * @param o The settings they ran with.
 * @param ctx Command, machine, dataset, wall time.
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
  };
  const table = records.filter((r): r is TableRecord => r.kind === "table");
  if (table.length > 0) {
    const archs = ARCHS.filter((a) => table.some((r) => r.arch === a));
    const opts = OPTIMIZERS.filter((p) => table.some((r) => r.optimizer === p));
    accuracyTable(table, { archs, opts }, out);
    lossTable(table, { archs, opts }, out);
    curvesFigures(table, { archs, opts }, out);
  }
  fig5(table, out);
  // Figs. 4 and 3 read the SGDM runs of the first seed that was tapped.
  const tapped = table.filter((r) =>
    r.gradStats !== undefined && r.optimizer === "sgdm"
  ).sort((a, b) => a.seed - b.seed);
  const firstSeed = tapped[0]?.seed;
  const plain = tapped.find((r) => !r.gc && r.seed === firstSeed);
  const withGc = tapped.find((r) => r.gc && r.seed === firstSeed);
  if (plain !== undefined && withGc !== undefined) {
    fig4(plain, withGc, out);
    fig3(plain, withGc, out);
  }
  fineTuning(records, o, out);
  return { markdown: out.md.join("\n"), charts: out.charts, cells: out.cells };
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
    } class-balanced training images, ${
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
    }; ${o.epochs} epochs per run, learning rate x0.1 at 30%, 60% and 90% of the steps (the paper's 60/120/180 of 200 epochs)`,
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
    const key = r.kind === "table" ? r.arch : r.kind;
    const s = byArchBackend.get(key) ?? new Set<string>();
    s.add(r.backend);
    byArchBackend.set(key, s);
  }
  return [...byArchBackend].map(([k, s]) => `${k}: ${[...s].join(", ")}`)
    .join("; ") || backends.join(", ");
}

/** The architectures and optimizers the table runs cover, in table order. */
interface Axes {
  archs: ArchName[];
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
  );
}

/** Paper Table 2: final test accuracy without and with GC, and the paired difference. */
function accuracyTable(
  table: readonly TableRecord[],
  { archs, opts }: Axes,
  out: Draft,
): void {
  out.md.push(
    "### Test accuracy (%) after the last epoch, mean ± std over seeds (paper Table 2)",
    "",
    `| model | | ${opts.map((p) => TABLE2[p].label).join(" | ")} |`,
    `| --- | --- |${opts.map(() => " ---: |").join("")}`,
  );
  const seedsSeen: number[] = [];
  for (const arch of archs) {
    const row = (gc: boolean) =>
      opts.map((p) => {
        const rs = cellRuns(table, arch, p, gc);
        seedsSeen.push(rs.length);
        const s = meanStd(rs.map((r) => r.testAccuracy.at(-1)!));
        out.cells[`${arch}/${p}${gc ? "+gc" : ""}`] = { ...s, n: rs.length };
        return rs.length === 0 ? "–" : pct(s);
      });
    const without = row(false), withGc = row(true);
    const delta = opts.map((p) =>
      pairedDelta(table.filter((r) => r.arch === arch && r.optimizer === p))
    );
    out.md.push(
      `| ${ARCH_LABEL[arch]} | w/o GC | ${without.join(" | ")} |`,
      `| | w/ GC | ${withGc.join(" | ")} |`,
      `| | GC − no GC, paired by seed | ${delta.join(" | ")} |`,
    );
  }
  out.md.push(
    "",
    `Seeds per cell: ${Math.min(...seedsSeen)}${
      Math.max(...seedsSeen) !== Math.min(...seedsSeen)
        ? `–${Math.max(...seedsSeen)}`
        : ""
    }. The last row of each model is the mean ± std of the per-seed differences (same seed: same initial weights and data order), and in brackets the number of seeds where GC was better. Settings of the paper's Table 2: learning rate 0.1 (SGDM, SGDW), 0.01 (Adagrad), 0.001 (Adam, AdamW); L2 weight decay 5e-4 (SGDM, Adam, Adagrad), decoupled 1e-3 (SGDW, AdamW); momentum 0.9; GC on conv and FC kernels, each over its exact axes (\`gcAxes(model)\`).`,
    "",
  );
}

/** Final training loss of each cell. */
function lossTable(
  table: readonly TableRecord[],
  { archs, opts }: Axes,
  out: Draft,
): void {
  out.md.push(
    "### Training loss in the last epoch, mean ± std",
    "",
    `| model | | ${opts.map((p) => TABLE2[p].label).join(" | ")} |`,
    `| --- | --- |${opts.map(() => " ---: |").join("")}`,
  );
  for (const arch of archs) {
    for (const gc of [false, true]) {
      const row = opts.map((p) => {
        const rs = cellRuns(table, arch, p, gc);
        if (rs.length === 0) return "–";
        const s = meanStd(rs.map((r) => r.loss.at(-1)!));
        return `${s.mean.toFixed(4)} ± ${s.std.toFixed(4)}`;
      });
      out.md.push(
        `| ${gc ? "" : ARCH_LABEL[arch]} | ${gc ? "w/ GC" : "w/o GC"} | ${
          row.join(" | ")
        } |`,
      );
    }
  }
  out.md.push("");
}

/** Training loss and test accuracy curves, one chart per architecture. */
function curvesFigures(
  table: readonly TableRecord[],
  { archs, opts }: Axes,
  out: Draft,
): void {
  for (const arch of archs) {
    const panels: Panel[] = [];
    for (const what of ["loss", "acc"] as const) {
      for (const p of opts) {
        panels.push({
          title: `${TABLE2[p].label}: ${
            what === "loss" ? "training loss" : "test accuracy"
          }`,
          xLabel: "epoch",
          ...(what === "acc" ? { unit: "%" } : {}),
          series: pair([
            [TABLE2[p].label, cellRuns(table, arch, p, false)],
            [`${TABLE2[p].label}+GC`, cellRuns(table, arch, p, true)],
          ], what),
        });
      }
    }
    const name = `curves_${arch}.svg`;
    out.charts[name] = renderChart(panels, {
      title: `${
        ARCH_LABEL[arch]
      } on Fashion-MNIST: without GC (red) and with GC (blue), mean ± std over seeds`,
      columns: opts.length,
      panelWidth: 300,
      panelHeight: 260,
    });
    out.md.push(`![${ARCH_LABEL[arch]} curves](${name})`, "");
  }
}

/** Paper Fig. 5: BN vs BN + GC (SGDM, the BN convnet). */
function fig5(table: readonly TableRecord[], out: Draft): void {
  const bn = table.filter((r) => r.arch === "cnn" && r.optimizer === "sgdm");
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
      "Fig. 5 at laptop scale: smallCnn (BN) with SGDM, without and with GC",
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
function fig4(plain: RunRecord, withGc: RunRecord, out: Draft): void {
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
function fig3(plain: RunRecord, withGc: RunRecord, out: Draft): void {
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
    "| | SGDM | SGDM+GC | GC − no GC, paired by seed |",
    "| --- | ---: | ---: | ---: |",
    `| test accuracy (%), classes 5–9 | ${pct(a)} | ${pct(b)} | ${
      pairedDelta(ft)
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
