/**
 * The reproduction's settings: flags, the default and smoke presets, the
 * paper's Table 2 optimizer settings, and the list of runs.
 *
 * @module
 */
import { int, list, oneOf, readFlags, real } from "../tools/cli.ts";

/** The five optimizers of the paper's Table 2. */
export const OPTIMIZERS = ["sgdm", "adam", "adagrad", "sgdw", "adamw"] as const;
/** One of {@linkcode OPTIMIZERS}. */
export type OptimizerName = typeof OPTIMIZERS[number];

/** Table 2 settings (Yong et al. 2020, 5.2): learning rate and weight decay. */
export const TABLE2: Readonly<
  Record<
    OptimizerName,
    { label: string; lr: number; weightDecay: number; decoupled: boolean }
  >
> = {
  sgdm: { label: "SGDM", lr: 0.1, weightDecay: 5e-4, decoupled: false },
  adam: { label: "Adam", lr: 1e-3, weightDecay: 5e-4, decoupled: false },
  adagrad: { label: "Adagrad", lr: 0.01, weightDecay: 5e-4, decoupled: false },
  sgdw: { label: "SGDW", lr: 0.1, weightDecay: 1e-3, decoupled: true },
  adamw: { label: "AdamW", lr: 1e-3, weightDecay: 1e-3, decoupled: true },
};

/** The architectures from `@centra/zoo` the reproduction can train. */
export const ARCHS = ["mlp", "cnn", "cnn-nobn"] as const;
/** One of {@linkcode ARCHS}. */
export type ArchName = typeof ARCHS[number];

/** Everything a reproduction run depends on. */
export interface ReproOptions {
  /** Architectures of the optimizer table. */
  archs: ArchName[];
  /** Optimizers of the optimizer table. */
  optimizers: OptimizerName[];
  /** Seeds per (architecture, optimizer, GC) cell. */
  seeds: number;
  /** Epochs of every table run. */
  epochs: number;
  /** Batch size. */
  batchSize: number;
  /** Channel multiplier of smallCnn. */
  width: number;
  /** Hidden sizes of the MLP. */
  hidden: number[];
  /** Class-balanced training images (0: all). */
  trainLimit: number;
  /** Class-balanced test images (0: all). */
  testLimit: number;
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
  preset: "default" | "smoke";
}

/** The default preset: 115 runs, 24 min on an idle 2-core machine without GPU (docs/results.md). */
export const DEFAULTS: Omit<ReproOptions, "out" | "fresh" | "live"> = {
  archs: ["mlp", "cnn"],
  optimizers: [...OPTIMIZERS],
  seeds: 5,
  epochs: 5,
  batchSize: 64,
  width: 0.25,
  hidden: [128, 64],
  trainLimit: 1280,
  testLimit: 1000,
  finetune: true,
  pretrainEpochs: 3,
  finetuneEpochs: 4,
  data: undefined,
  backend: "auto",
  preset: "default",
};

/** The smoke preset: every part of the pipeline, in well under a minute. */
export const SMOKE: Omit<ReproOptions, "out" | "fresh" | "live"> = {
  ...DEFAULTS,
  seeds: 2,
  epochs: 2,
  batchSize: 32,
  width: 0.125,
  hidden: [16],
  trainLimit: 64,
  testLimit: 50,
  pretrainEpochs: 1,
  finetuneEpochs: 2,
  preset: "smoke",
};

/** The text `--help` prints. */
export const HELP = `deno task repro [flags]

Reproduces Gradient Centralization (Yong et al. 2020) at laptop scale on
Fashion-MNIST: the paper's Table 2 (SGDM, Adam, Adagrad, SGDW, AdamW, each
with and without GC) on several architectures and seeds with the paper's step
schedule, BN vs BN+GC curves (Fig. 5), gradient norms (Fig. 4), per-unit
weight means (Fig. 3), and fine-tuning with per-layer learning rates (5.5).
Results are appended to OUT/results.jsonl as each run finishes; rerunning
with the same flags resumes where it stopped. Writes OUT/report.md and SVGs.

  --smoke              tiny preset (seconds): every part, meaningless numbers
  --archs LIST         from ${ARCHS.join(", ")} (default mlp,cnn)
  --optimizers LIST    from ${OPTIMIZERS.join(", ")} (default all)
  --seeds N            seeds per cell (default 5)
  --epochs N           epochs per run (default 5); learning rate x0.1 at 30%,
                       60% and 90% of the steps (the paper's 60/120/180 of 200)
  --batch-size N       (default 64)
  --width X            smallCnn channel multiplier (default 0.25)
  --hidden LIST        MLP hidden sizes (default 128,64)
  --train-limit N      class-balanced training images (default 1280; 0: all)
  --test-limit N       class-balanced test images (default 1000; 0: all)
  --no-finetune        skip the fine-tuning experiment
  --pretrain-epochs N  (default 3)   --finetune-epochs N  (default 4)
  --data DIR           full Fashion-MNIST IDX files (e.g.
                       /usr/share/datasets/fashion-mnist); default: the
                       6,000/1,000-image subset embedded in @centra/zoo
  --backend B          auto | cpu | webgpu (default auto: webgpu for the
                       convnets when an adapter exists, cpu for the MLP)
  --out DIR            (default out/repro)
  --fresh              discard earlier results in DIR/results.jsonl
  --no-progress        no live progress bar
  -h, --help           this text
`;

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
      "seeds",
      "epochs",
      "batch-size",
      "width",
      "hidden",
      "train-limit",
      "test-limit",
      "pretrain-epochs",
      "finetune-epochs",
      "data",
      "backend",
      "out",
    ],
    booleans: ["smoke", "no-finetune", "fresh", "no-progress"],
  });
  if (v.help) return "help";
  const base = v.smoke ? SMOKE : DEFAULTS;
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
  return {
    archs: list("archs", v.archs, { of: ARCHS, fallback: base.archs }),
    optimizers: list("optimizers", v.optimizers, {
      of: OPTIMIZERS,
      fallback: base.optimizers,
    }),
    seeds: int("seeds", v.seeds, base.seeds),
    epochs: int("epochs", v.epochs, base.epochs),
    batchSize: int("batch-size", v["batch-size"], base.batchSize),
    width,
    hidden,
    trainLimit: int("train-limit", v["train-limit"], base.trainLimit, 0),
    testLimit: int("test-limit", v["test-limit"], base.testLimit, 0),
    finetune: v["no-finetune"] ? false : base.finetune,
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
    data: v.data,
    backend,
    out: v.out ?? (v.smoke ? "out/repro-smoke" : "out/repro"),
    fresh: v.fresh ?? false,
    live: v["no-progress"] ? false : undefined,
    preset: base.preset,
  };
}

/** One unit of work; its `id` keys it in the results file. */
export type RunSpec =
  | {
    kind: "table";
    id: string;
    arch: ArchName;
    optimizer: OptimizerName;
    gc: boolean;
    seed: number;
  }
  | { kind: "pretrain"; id: string; seed: number }
  | { kind: "finetune"; id: string; gc: boolean; seed: number };

/**
 * The runs, in order: for each seed, every (architecture, optimizer, GC)
 * cell, so that an interrupted run has whole seeds for every cell; then the
 * fine-tuning (a pretraining and two fine-tunings per seed).
 */
export function plan(o: ReproOptions): RunSpec[] {
  const runs: RunSpec[] = [];
  for (let seed = 1; seed <= o.seeds; seed++) {
    for (const arch of o.archs) {
      for (const optimizer of o.optimizers) {
        for (const gc of [false, true]) {
          runs.push({
            kind: "table",
            id: `table/${arch}/${optimizer}${gc ? "+gc" : ""}/seed${seed}`,
            arch,
            optimizer,
            gc,
            seed,
          });
        }
      }
    }
  }
  if (o.finetune) {
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
  }
  return runs;
}

/** The settings that change results, hashed: a record counts only for the same. */
export function fingerprint(o: ReproOptions): string {
  const keyed = {
    epochs: o.epochs,
    batchSize: o.batchSize,
    width: o.width,
    hidden: o.hidden,
    trainLimit: o.trainLimit,
    testLimit: o.testLimit,
    pretrainEpochs: o.pretrainEpochs,
    finetuneEpochs: o.finetuneEpochs,
    data: o.data ?? "embedded",
    backend: o.backend,
    v: 1,
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
 * (60, 120 and 180 of 200 epochs).
 */
export function stepBoundaries(
  steps: number,
  fractions: readonly number[] = [0.3, 0.6, 0.9],
): Record<number, number> {
  const out: Record<number, number> = {};
  for (const f of fractions) out[Math.max(1, Math.round(steps * f))] = 0.1;
  return out;
}
