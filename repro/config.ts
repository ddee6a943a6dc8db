/**
 * The reproduction's settings (protocol v2): flags, the smoke, default and
 * full presets, each optimizer's settings and learning-rate grid, and the
 * list of runs.
 *
 * @module
 */
import { OPTIMIZERS as TABLE } from "@centra/chain/optimizers";
import { int, list, oneOf, readFlags, real } from "../tools/cli.ts";

/** Every optimizer of `@centra/chain`'s `OPTIMIZERS` table, in its order. */
export const OPTIMIZERS: readonly string[] = Object.keys(TABLE);
/** A name of {@linkcode OPTIMIZERS}. */
export type OptimizerName = string;

/** The five optimizers of the paper's Table 2, by their table names. */
export const PAPER_OPTIMIZERS = [
  "sgd",
  "adam",
  "adagrad",
  "sgdw",
  "adamw",
] as const;

/** How the reproduction runs one optimizer of the table. */
export interface OptimizerSettings {
  /** Its name in the report. */
  label: string;
  /** The centre of its learning-rate grid. */
  lr: number;
  /**
   * L2 weight decay added to the gradient before GC (paper 3.4), or
   * decoupled decay passed as the optimizer's `weightDecay`; 0: none.
   */
  weightDecay: number;
  /** Whether `weightDecay` is decoupled (SGDW, AdamW). */
  decoupled: boolean;
  /** Other options given to the optimizer (momentum for SGDM). */
  options: Record<string, number | boolean>;
  /**
   * Whether the rate follows the cosine schedule; false for an optimizer
   * whose rate is not a step size that a schedule may scale (Rprop's is
   * its initial step size), which then keeps its rate.
   */
  schedule?: boolean;
  /**
   * The paper's Table 2 result: `"helped"` when GC raised the mean test
   * accuracy there; `undefined` for an optimizer that is not in the table.
   */
  paper?: "helped";
}

/**
 * The paper's Table 2 settings (Yong et al. 2020, 5.2) for its five
 * optimizers: learning rate (the grid's centre), weight decay and
 * momentum. GC raised the mean accuracy of all five there.
 */
export const TABLE2: Readonly<Record<string, OptimizerSettings>> = {
  sgd: {
    label: "SGDM",
    lr: 0.1,
    weightDecay: 5e-4,
    decoupled: false,
    options: { momentum: 0.9 },
    paper: "helped",
  },
  adam: {
    label: "Adam",
    lr: 1e-3,
    weightDecay: 5e-4,
    decoupled: false,
    options: {},
    paper: "helped",
  },
  adagrad: {
    label: "Adagrad",
    lr: 0.01,
    weightDecay: 5e-4,
    decoupled: false,
    // PyTorch's defaults (the paper's "default settings on Pytorch")
    options: { initialAccumulatorValue: 0, eps: 1e-10 },
    paper: "helped",
  },
  sgdw: {
    label: "SGDW",
    lr: 0.1,
    weightDecay: 1e-3,
    decoupled: true,
    options: { momentum: 0.9 },
    paper: "helped",
  },
  adamw: {
    label: "AdamW",
    lr: 1e-3,
    weightDecay: 1e-3,
    decoupled: true,
    options: {},
    paper: "helped",
  },
};

/**
 * Grid centres of optimizers outside Table 2: the rate their papers or
 * optax's docs start from (Lion's is 3-10x below AdamW's, Chen et al.
 * 2023, 5).
 */
const CENTRES: Readonly<Record<string, number>> = {
  lion: 1e-4,
};

/** Rows whose rate cannot follow a schedule (Rprop: the initial step size). */
const UNSCHEDULED: ReadonlySet<string> = new Set(["rprop"]);

/**
 * How the reproduction runs `name`: Table 2's settings for the paper's
 * five, else the optimizer's own defaults (no weight decay) with a grid
 * centred on {@linkcode CENTRES} or 1e-3.
 */
export function settingsOf(name: OptimizerName): OptimizerSettings {
  const t = TABLE2[name];
  if (t !== undefined) return t;
  return {
    label: name,
    lr: CENTRES[name] ?? 1e-3,
    weightDecay: 0,
    decoupled: false,
    options: {},
    schedule: !UNSCHEDULED.has(name),
  };
}

/** The architectures from `@centra/zoo` the reproduction can train. */
export const ARCHS = ["mlp", "cnn", "cnn-nobn"] as const;
/** One of {@linkcode ARCHS}. */
export type ArchName = typeof ARCHS[number];

/** Everything a reproduction run depends on. */
export interface ReproOptions {
  /** Architectures of the optimizer table. */
  archs: ArchName[];
  /** Optimizers run on the MLP. */
  optimizers: OptimizerName[];
  /** Optimizers run on the convnets (the figures read SGDM's runs). */
  convOptimizers: OptimizerName[];
  /** Seeds per (architecture, optimizer, GC) cell, at its chosen rate. */
  seeds: number;
  /**
   * The learning-rate grid as factors of each optimizer's centre; the
   * grid runs use seed 1, and the best rate on validation is then run on
   * every seed (its seed-1 run is the grid run).
   */
  lrFactors: number[];
  /** Epochs of every MLP run; the learning rate follows a cosine to 0. */
  epochs: number;
  /** Epochs of every convnet run. */
  convEpochs: number;
  /** Batch size. */
  batchSize: number;
  /** Channel multiplier of smallCnn. */
  width: number;
  /** Hidden sizes of the MLP. */
  hidden: number[];
  /** Class-balanced training images, validation included (0: all). */
  trainLimit: number;
  /** Validation images per class, held out of the training images. */
  valPerClass: number;
  /** Class-balanced test images (0: all). */
  testLimit: number;
  /**
   * Steps of the learning-rate range test run for every cell before its
   * grid (`lrRangeTest` from `@centra/tfjs`); 0: none.
   */
  lrRangeSteps: number;
  /** Run the fine-tuning experiment. */
  finetune: boolean;
  /** Epochs of pretraining on classes 0-4. */
  pretrainEpochs: number;
  /** Epochs of fine-tuning on classes 5-9. */
  finetuneEpochs: number;
  /** Full Fashion-MNIST directory; undefined: the embedded subset. */
  data: string | undefined;
  /** auto: webgpu for convnets when an adapter exists, cpu for the MLP. */
  backend: "auto" | "cpu" | "webgpu";
  /** Output directory (results.jsonl, report.md, SVGs). */
  out: string;
  /** Ignore (and replace) earlier results in `out`. */
  fresh: boolean;
  /** Live progress bar; undefined: when stdout is a terminal. */
  live: boolean | undefined;
  /** The preset the flags started from. */
  preset: "default" | "smoke" | "full";
}

type Preset = Omit<ReproOptions, "out" | "fresh" | "live">;

/**
 * The default preset: the paper's five optimizers on the MLP and SGDM on
 * the BN convnet, all 6,000 embedded training images (1,000 held out for
 * validation), a 3-point grid, 5 seeds. docs/results.md gives its wall time.
 */
export const DEFAULTS: Preset = {
  archs: ["mlp", "cnn"],
  optimizers: [...PAPER_OPTIMIZERS],
  convOptimizers: ["sgd"],
  seeds: 5,
  lrFactors: [1 / 3, 1, 3],
  epochs: 8,
  convEpochs: 8,
  batchSize: 128,
  width: 0.125,
  hidden: [64],
  trainLimit: 0,
  valPerClass: 100,
  testLimit: 0,
  lrRangeSteps: 100,
  finetune: false,
  pretrainEpochs: 3,
  finetuneEpochs: 4,
  data: undefined,
  // At width 0.125 a CNN step costs less CPU on tfjs's cpu backend than on
  // WebGPU through llvmpipe (57 s against 75 s for a 5-epoch run, fused).
  backend: "cpu",
  preset: "default",
};

/** The smoke preset: every part of the pipeline, in well under a minute. */
export const SMOKE: Preset = {
  ...DEFAULTS,
  optimizers: ["sgd", "adam"],
  convOptimizers: ["sgd"],
  seeds: 2,
  lrFactors: [1, 3],
  epochs: 2,
  convEpochs: 2,
  batchSize: 32,
  width: 0.125,
  hidden: [16],
  trainLimit: 80,
  valPerClass: 2,
  testLimit: 50,
  lrRangeSteps: 12,
  finetune: true,
  pretrainEpochs: 1,
  finetuneEpochs: 2,
  preset: "smoke",
};

/**
 * The full preset (hours): every optimizer of the table on the MLP and the
 * BN convnet, the full Fashion-MNIST from Debian's `dataset-fashion-mnist`
 * (5,000 of the 60,000 training images held out), 10 seeds.
 */
export const FULL: Preset = {
  ...DEFAULTS,
  optimizers: [...OPTIMIZERS],
  convOptimizers: [...OPTIMIZERS],
  seeds: 10,
  epochs: 15,
  convEpochs: 15,
  width: 0.25,
  hidden: [128, 64],
  valPerClass: 500,
  finetune: true,
  pretrainEpochs: 5,
  finetuneEpochs: 5,
  data: "/usr/share/datasets/fashion-mnist",
  backend: "auto",
  preset: "full",
};

/** The text `--help` prints. */
export const HELP = `deno task repro [flags]

Reproduces Gradient Centralization (Yong et al. 2020) at laptop scale on
Fashion-MNIST, protocol v2: every optimizer of @centra/chain's table (the
paper's Table 2 five by default), with and without GC, each at its own best
learning rate on a validation split held out of the training images (a
small grid on seed 1), then trained on every seed at that rate and reported
on the test set: paired differences by seed with a 95% t interval and the
win count. The learning rate follows a cosine from its value to 0 over the
run. Also Fig. 3/4/5 from SGDM on the convnet, and fine-tuning (5.5).
Results are appended to OUT/results.jsonl as each run finishes; rerunning
with the same flags resumes where it stopped. Writes OUT/report.md and SVGs.

  --smoke              tiny preset (seconds): every part, meaningless numbers
  --full               hours: every optimizer on the MLP and the convnet,
                       the full Fashion-MNIST (--data), 10 seeds, 15 epochs
  --archs LIST         from ${ARCHS.join(", ")} (default mlp,cnn)
  --optimizers LIST    MLP's, from ${OPTIMIZERS.join(", ")}
                       (default ${PAPER_OPTIMIZERS.join(",")})
  --conv-optimizers LIST  the convnets' (default sgd: SGDM, for the figures)
  --seeds N            seeds per cell (default 5)
  --lr-factors LIST    grid as factors of each optimizer's centre
                       (default 0.3333,1,3; Table 2's rates are the centres)
  --epochs N           epochs of an MLP run (default 8)
  --conv-epochs N      epochs of a convnet run (default 8)
  --batch-size N       (default 128)
  --width X            smallCnn channel multiplier (default 0.125)
  --hidden LIST        MLP hidden sizes (default 64)
  --train-limit N      class-balanced training images, validation included
                       (default 0: all)
  --val-per-class N    validation images per class (default 100)
  --test-limit N       class-balanced test images (default 0: all)
  --lr-range-steps N   steps of the learning-rate range test (Smith 2017)
                       run for every cell on seed 1 (default 100; 0: none)
  --finetune / --no-finetune   the fine-tuning experiment (default off)
  --pretrain-epochs N  (default 3)   --finetune-epochs N  (default 4)
  --data DIR           full Fashion-MNIST IDX files (e.g.
                       /usr/share/datasets/fashion-mnist); default: the
                       6,000/1,000-image subset embedded in @centra/zoo
  --backend B          auto | cpu | webgpu (default cpu; --full: auto, webgpu
                       for the convnets when an adapter exists, cpu for the MLP)
  --out DIR            (default out/repro)
  --fresh              discard earlier results in DIR/results.jsonl
  --no-progress        no live progress bar
  -h, --help           this text
`;

function numbers(name: string, v: string | undefined, fallback: number[]) {
  if (v === undefined) return fallback;
  return v.split(",").map((s) =>
    real(name, s.trim(), { fallback: 0, min: 0, open: true })
  );
}

/**
 * Reads the flags.
 *
 * @param args The command-line arguments.
 * @returns The settings, or `"help"`.
 */
export function parseReproArgs(args: readonly string[]): ReproOptions | "help" {
  const v = readFlags(args, {
    values: [
      "archs",
      "optimizers",
      "conv-optimizers",
      "seeds",
      "lr-factors",
      "epochs",
      "conv-epochs",
      "batch-size",
      "width",
      "hidden",
      "train-limit",
      "val-per-class",
      "test-limit",
      "lr-range-steps",
      "pretrain-epochs",
      "finetune-epochs",
      "data",
      "backend",
      "out",
    ],
    booleans: [
      "smoke",
      "full",
      "finetune",
      "no-finetune",
      "fresh",
      "no-progress",
    ],
  });
  if (v.help) return "help";
  if (v.smoke && v.full) {
    throw new TypeError("--smoke and --full: choose one preset");
  }
  const base = v.smoke ? SMOKE : v.full ? FULL : DEFAULTS;
  const width = real("width", v.width, {
    fallback: base.width,
    min: 0,
    open: true,
  });
  const hidden = v.hidden === undefined
    ? base.hidden
    : v.hidden.split(",").map((s) => int("hidden", s.trim(), 0));
  const backend = oneOf("backend", v.backend, {
    of: ["auto", "cpu", "webgpu"] as const,
    fallback: base.backend,
  });
  const lrFactors = numbers("lr-factors", v["lr-factors"], base.lrFactors);
  const data = v.data ?? base.data;
  return {
    archs: list("archs", v.archs, { of: ARCHS, fallback: base.archs }),
    optimizers: list("optimizers", v.optimizers, {
      of: OPTIMIZERS,
      fallback: base.optimizers,
    }),
    convOptimizers: list("conv-optimizers", v["conv-optimizers"], {
      of: OPTIMIZERS,
      fallback: base.convOptimizers,
    }),
    seeds: int("seeds", v.seeds, base.seeds),
    lrFactors: [...new Set(lrFactors)].sort((a, b) => a - b),
    epochs: int("epochs", v.epochs, base.epochs),
    convEpochs: int("conv-epochs", v["conv-epochs"], base.convEpochs),
    batchSize: int("batch-size", v["batch-size"], base.batchSize),
    width,
    hidden,
    trainLimit: int("train-limit", v["train-limit"], base.trainLimit, 0),
    valPerClass: int("val-per-class", v["val-per-class"], base.valPerClass),
    testLimit: int("test-limit", v["test-limit"], base.testLimit, 0),
    lrRangeSteps: int(
      "lr-range-steps",
      v["lr-range-steps"],
      base.lrRangeSteps,
      0,
    ),
    finetune: v["no-finetune"] ? false : v.finetune ? true : base.finetune,
    pretrainEpochs: int(
      "pretrain-epochs",
      v["pretrain-epochs"],
      base.pretrainEpochs,
    ),
    finetuneEpochs: int(
      "finetune-epochs",
      v["finetune-epochs"],
      base.finetuneEpochs,
    ),
    data,
    backend,
    out: v.out ??
      (v.smoke ? "out/repro-smoke" : v.full ? "out/repro-full" : "out/repro"),
    fresh: v.fresh ?? false,
    live: v["no-progress"] ? false : undefined,
    preset: base.preset,
  };
}

/** The optimizers run on `arch`. */
export function optimizersFor(
  o: ReproOptions,
  arch: ArchName,
): OptimizerName[] {
  return arch === "mlp" ? o.optimizers : o.convOptimizers;
}

/** The epochs of a table run on `arch`. */
export function epochsFor(o: ReproOptions, arch: ArchName): number {
  return arch === "mlp" ? o.epochs : o.convEpochs;
}

/** The learning rates of `optimizer`'s grid, rounded to 3 significant digits. */
export function lrGrid(o: ReproOptions, optimizer: OptimizerName): number[] {
  const c = settingsOf(optimizer).lr;
  return o.lrFactors.map((f) => Number((c * f).toPrecision(3)));
}

/** One table run: the cell (architecture, optimizer, GC), the rate and the seed. */
export interface TableSpec {
  kind: "table";
  id: string;
  arch: ArchName;
  optimizer: OptimizerName;
  gc: boolean;
  lr: number;
  seed: number;
}

/** One learning-rate range test: a cell, seed 1. */
export interface LrRangeSpec {
  kind: "lrrange";
  id: string;
  arch: ArchName;
  optimizer: OptimizerName;
  gc: boolean;
}

/** One unit of work; its `id` keys it in the results file. */
export type RunSpec =
  | TableSpec
  | LrRangeSpec
  | { kind: "pretrain"; id: string; seed: number }
  | { kind: "finetune"; id: string; gc: boolean; seed: number };

/** The id of a table run. */
export function tableId(
  s: Omit<TableSpec, "kind" | "id">,
): string {
  return `table/${s.arch}/${s.optimizer}${
    s.gc ? "+gc" : ""
  }/lr${s.lr}/seed${s.seed}`;
}

function tableSpec(s: Omit<TableSpec, "kind" | "id">): TableSpec {
  return { kind: "table", id: tableId(s), ...s };
}

/** Every (architecture, optimizer, GC) cell, in table order. */
export function cells(
  o: ReproOptions,
): { arch: ArchName; optimizer: OptimizerName; gc: boolean }[] {
  return o.archs.flatMap((arch) =>
    optimizersFor(o, arch).flatMap((optimizer) =>
      [false, true].map((gc) => ({ arch, optimizer, gc }))
    )
  );
}

/** The grid runs: every cell at every rate of its grid, seed 1. */
export function gridPlan(o: ReproOptions): TableSpec[] {
  return cells(o).flatMap((c) =>
    lrGrid(o, c.optimizer).map((lr) => tableSpec({ ...c, lr, seed: 1 }))
  );
}

/**
 * The seed runs, once each cell's rate is chosen: for each seed from 2 on,
 * every cell at its rate (so that an interrupted run has whole seeds).
 *
 * @param chosen The chosen rate by cell key (`arch/optimizer[+gc]`).
 */
export function seedPlan(
  o: ReproOptions,
  chosen: ReadonlyMap<string, number>,
): TableSpec[] {
  const runs: TableSpec[] = [];
  for (let seed = 2; seed <= o.seeds; seed++) {
    for (const c of cells(o)) {
      const lr = chosen.get(cellKey(c));
      if (lr !== undefined) runs.push(tableSpec({ ...c, lr, seed }));
    }
  }
  return runs;
}

/** The range tests: one per cell (none when `lrRangeSteps` is 0). */
export function lrRangePlan(o: ReproOptions): LrRangeSpec[] {
  if (o.lrRangeSteps === 0) return [];
  return cells(o).map((c) => ({
    kind: "lrrange",
    id: `lrrange/${cellKey(c)}/steps${o.lrRangeSteps}`,
    ...c,
  }));
}

/** The range test's span around an optimizer's grid centre: 1e-3x to 1e2x. */
export function lrRangeSpan(
  optimizer: OptimizerName,
): { minLr: number; maxLr: number } {
  const c = settingsOf(optimizer).lr;
  return { minLr: c * 1e-3, maxLr: c * 100 };
}

/** The fine-tuning runs: a pretraining and two fine-tunings per seed. */
export function finetunePlan(o: ReproOptions): RunSpec[] {
  const runs: RunSpec[] = [];
  if (!o.finetune) return runs;
  for (let seed = 1; seed <= o.seeds; seed++) {
    runs.push({ kind: "pretrain", id: `pretrain/seed${seed}`, seed });
    for (const gc of [false, true]) {
      runs.push({
        kind: "finetune",
        id: `finetune/sgdm${gc ? "+gc" : ""}/seed${seed}`,
        gc,
        seed,
      });
    }
  }
  return runs;
}

/** How many runs the whole protocol has (the grid, the seeds, fine-tuning). */
export function runCount(o: ReproOptions): number {
  const perCell = (p: OptimizerName) => lrGrid(o, p).length + o.seeds - 1;
  return cells(o).reduce((s, c) => s + perCell(c.optimizer), 0) +
    lrRangePlan(o).length + finetunePlan(o).length;
}

/** A cell's key: `arch/optimizer` or `arch/optimizer+gc`. */
export function cellKey(
  c: { arch: ArchName; optimizer: OptimizerName; gc: boolean },
): string {
  return `${c.arch}/${c.optimizer}${c.gc ? "+gc" : ""}`;
}

/** The settings that change results, hashed: a record counts only for the same. */
export function fingerprint(o: ReproOptions): string {
  const keyed = {
    epochs: o.epochs,
    convEpochs: o.convEpochs,
    batchSize: o.batchSize,
    width: o.width,
    hidden: o.hidden,
    trainLimit: o.trainLimit,
    valPerClass: o.valPerClass,
    testLimit: o.testLimit,
    pretrainEpochs: o.pretrainEpochs,
    finetuneEpochs: o.finetuneEpochs,
    data: o.data ?? "embedded",
    backend: o.backend,
    v: 2,
  };
  const text = JSON.stringify(keyed);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/**
 * The paper's step schedule scaled to `steps`: x0.1 at 30%, 60% and 90%
 * (60, 120 and 180 of 200 epochs). Fine-tuning uses it with the paper's
 * 50 and 80 of 100.
 */
export function stepBoundaries(
  steps: number,
  fractions: readonly number[] = [0.3, 0.6, 0.9],
): Record<number, number> {
  const out: Record<number, number> = {};
  for (const f of fractions) out[Math.max(1, Math.round(steps * f))] = 0.1;
  return out;
}

/** Each cell's key and its grid runs' ids, for `chooseRates`. */
export function gridCells(
  o: ReproOptions,
): { key: string; ids: [number, string][] }[] {
  return cells(o).map((c) => ({
    key: cellKey(c),
    ids: lrGrid(o, c.optimizer).map((lr) =>
      [lr, tableId({ ...c, lr, seed: 1 })] as [number, string]
    ),
  }));
}
