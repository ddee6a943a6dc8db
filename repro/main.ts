/**
 * `deno task repro`: Gradient Centralization (Yong et al. 2020,
 * arXiv:2004.01461) reproduced at laptop scale on Fashion-MNIST, protocol
 * v2.
 *
 * - Table 2: optimizers of `@centra/chain`'s table (by default the paper's
 *   SGDM, Adam, Adagrad, SGDW and AdamW), each with and without GC, on an
 *   MLP and a small CNN from `@centra/zoo`. Each cell (architecture,
 *   optimizer, GC) gets its own learning rate: a small grid on seed 1,
 *   chosen by accuracy on a validation split held out of the training
 *   images; then every seed at that rate, reported on the test set, paired
 *   by seed (mean difference, 95% t interval, win count). The rate follows
 *   a cosine from its value to 0 over the run.
 * - Fig. 5 (BN vs BN + GC curves), Fig. 4 (gradient L2 norm and max of the
 *   first conv and the FC layer), Fig. 3 (per-unit weight means), from
 *   SGDM on the convnet at its chosen rates.
 * - 5.5: pretrain on five classes, fine-tune on the other five with
 *   per-layer learning rates from `@centra/match`, with and without GC.
 *
 * Every finished run is appended to `OUT/results.jsonl`; rerunning the same
 * command skips the runs already there. `OUT/report.md` and the SVG charts
 * are rewritten at the end.
 *
 * ```sh
 * deno task repro                    # default preset (docs/results.md gives its wall time)
 * deno task repro --smoke            # seconds; every part, tiny settings
 * deno task repro --full             # hours; the full Fashion-MNIST from Debian's dataset-fashion-mnist
 * deno task repro --help
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import type { ImageSet } from "@centra/zoo";
import { fashionMnist } from "@centra/zoo/fs";
import { fileSystem } from "@centra/tfjs/file-system";
import {
  type ArchName,
  cellKey,
  cells,
  epochsFor,
  finetunePlan,
  fingerprint,
  gridCells,
  gridPlan,
  HELP,
  lrRangePlan,
  parseReproArgs,
  type ReproOptions,
  type RunSpec,
  seedPlan,
  tableId,
} from "./config.ts";
import {
  appendRecord,
  chooseRates,
  readRecords,
  type RunRecord,
} from "./results.ts";
import { type PlannedRun, Progress } from "./progress.ts";
import { buildReport, type Report } from "./report.ts";
import { webGpuAdapter } from "../tools/webgpu_adapter.ts";
import { main } from "../tools/cli.ts";
import {
  classSubset,
  finetuneRun,
  limit,
  lrRangeRun,
  type OnStep,
  pretrainRun,
  type RunResult,
  splitValidation,
  tableRun,
  type TestTensors,
  testTensors,
} from "./train.ts";

/** The adapter's description or vendor, or `null` when there is none. */
async function adapterLine(): Promise<string | null> {
  const info = await webGpuAdapter();
  if (info === null) return null;
  return info.description || info.vendor || "WebGPU adapter";
}

/** A one-line description of this machine. */
export async function describeMachine(): Promise<string> {
  let cpu = "unknown CPU";
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = info.match(/model name\s*:\s*(.+)/)?.[1]?.trim() ?? cpu;
  } catch { /* not Linux */ }
  const gpu = await adapterLine();
  return `${cpu}, ${navigator.hardwareConcurrency} cores, ${Deno.build.os}; Deno ${Deno.version.deno}, tfjs ${tf.version.tfjs}; WebGPU adapter: ${
    gpu ?? "none"
  }`;
}

/** What {@linkcode runRepro} returns. */
export interface ReproResult {
  /** Runs executed by this call (not skipped). */
  ran: string[];
  /** Runs found in the results file and skipped. */
  skipped: string[];
  /** The report (of all records of this configuration). */
  report: Report;
  /** Where the report went. */
  reportPath: string;
}

/** Options of {@linkcode runRepro}. */
export interface RunReproOptions {
  /** Where text goes. Default: standard output. */
  write?: (text: string) => void;
  /** The command shown in the report. */
  command?: string;
}

const encoder = new TextEncoder();

/**
 * Runs the reproduction (the runs not yet in `OUT/results.jsonl`), then
 * writes the report.
 */
export async function runRepro(
  o: ReproOptions,
  options: RunReproOptions = {},
): Promise<ReproResult> {
  const write = options.write ??
    ((t: string) => void Deno.stdout.writeSync(encoder.encode(t)));
  const wallStart = performance.now();
  // A missing data directory is refused before anything is written.
  if (o.data !== undefined) {
    const found = await Deno.stat(o.data).then(
      (s) => s.isDirectory,
      () => false,
    );
    if (!found) {
      throw new Error(
        `--data ${o.data}: no such directory (the full Fashion-MNIST: apt-get install dataset-fashion-mnist puts it in /usr/share/datasets/fashion-mnist)`,
      );
    }
  }
  await Deno.mkdir(o.out, { recursive: true });
  const resultsPath = `${o.out}/results.jsonl`;
  if (o.fresh) await Deno.remove(resultsPath).catch(() => {});
  const fp = fingerprint(o);
  const { records, other } = await readRecords(resultsPath, fp);
  if (records.size > 0 || other > 0) {
    write(
      `resuming: ${records.size} finished runs of this configuration in ${resultsPath}${
        other ? ` (${other} lines of other configurations ignored)` : ""
      }\n`,
    );
  }

  const gpu = o.backend === "cpu" ? null : await webGpuAdapter();
  if (o.backend === "webgpu" && gpu === null) {
    throw new Error("--backend webgpu: no WebGPU adapter found");
  }
  const backendFor = (arch: ArchName): string =>
    o.backend !== "auto"
      ? o.backend
      : arch === "mlp" || gpu === null
      ? "cpu"
      : "webgpu";

  const data = await fashionMnist(
    o.data === undefined ? {} : { dir: o.data, source: "full" },
  );
  const dataset = `Fashion-MNIST, ${
    data.source === "embedded"
      ? "the 6,000/1,000-image subset embedded in @centra/zoo"
      : `full set from ${data.location}`
  }`;
  const { train, val } = splitValidation(
    limit(data.train, o.trainLimit),
    o.valPerClass,
  );
  const test = limit(data.test, o.testLimit);
  const first5 = [0, 1, 2, 3, 4], last5 = [5, 6, 7, 8, 9];
  const sets: Record<string, { train: ImageSet; test: ImageSet }> = {
    table: { train, test },
    val: { train, test: val },
    pretrain: {
      train: classSubset(train, first5),
      test: classSubset(test, first5),
    },
    finetune: {
      train: classSubset(train, last5),
      test: classSubset(test, last5),
    },
  };
  const tensors = new Map<string, TestTensors>();
  const testFor = (kind: string): TestTensors => {
    const key = `${kind}/${tf.getBackend()}`;
    let t = tensors.get(key);
    if (!t) {
      t = testTensors(sets[kind]!.test);
      tensors.set(key, t);
    }
    return t;
  };
  const use = async (backend: string) => {
    if (tf.getBackend() !== backend) {
      if (!(await tf.setBackend(backend))) {
        throw new Error(`could not start the ${backend} backend`);
      }
      await tf.ready();
    }
  };

  const grid = gridPlan(o);
  const rangeRuns = lrRangePlan(o);
  const ftRuns = finetunePlan(o);
  const batchesPerEpoch = (kind: string) =>
    Math.ceil(sets[kind]!.train.count / o.batchSize);
  const stepsOf = (r: RunSpec): number =>
    r.kind === "lrrange"
      ? o.lrRangeSteps
      : r.kind === "table"
      ? epochsFor(o, r.arch) * batchesPerEpoch("table")
      : r.kind === "pretrain"
      ? o.pretrainEpochs * batchesPerEpoch("pretrain")
      : o.finetuneEpochs * batchesPerEpoch("finetune");
  // The seed runs' rates are known only once their grid is done: the
  // progress line counts them by cell and seed.
  const slot = (
    c: { arch: ArchName; optimizer: string; gc: boolean },
    s: number,
  ) => `${cellKey(c)}/seed${s}`;
  const chosenNow = () => chooseRates(records, gridCells(o));
  let chosen = chosenNow();
  const seedSlots = [];
  for (let seed = 2; seed <= o.seeds; seed++) {
    for (const c of cells(o)) {
      const lr = chosen.get(cellKey(c))?.lr;
      const done = lr !== undefined &&
        records.has(tableId({ ...c, lr, seed }));
      seedSlots.push({
        id: slot(c, seed),
        cost: c.arch,
        steps: epochsFor(o, c.arch) * batchesPerEpoch("table"),
        done,
      });
    }
  }
  const planned: PlannedRun[] = [
    // a range test's step has no evaluation: its own cost class
    ...rangeRuns.map((r) => ({
      id: r.id,
      cost: `lrrange/${r.arch}`,
      steps: stepsOf(r),
    })),
    ...grid.map((r) => ({ id: r.id, cost: r.arch, steps: stepsOf(r) })),
    ...seedSlots,
    ...ftRuns.map((r) => ({ id: r.id, cost: "cnn", steps: stepsOf(r) })),
  ];
  const done = new Set([
    ...[...rangeRuns, ...grid, ...ftRuns].filter((r) => records.has(r.id))
      .map((r) => r.id),
    ...seedSlots.filter((s) => s.done).map((s) => s.id),
  ]);
  const progress = new Progress(planned, done, {
    write,
    live: o.live ?? Deno.stdout.isTerminal(),
  });
  write(
    `${planned.length} runs (${done.size} already done), configuration ${fp}, results in ${resultsPath}\n`,
  );
  const onStep: OnStep = (s) => {
    progress.update(
      `epoch ${s.epoch + 1}/${s.epochs} step ${s.step}/${s.steps}${
        s.loss === undefined ? "" : `  loss ${s.loss.toFixed(4)}`
      }`,
    );
  };
  const ran: string[] = [];
  const skipped: string[] = [];
  const pretrainedDir = (seed: number) =>
    `${o.out}/pretrained/${fp}-seed${seed}`;

  const runOne = async (spec: RunSpec, progressId: string) => {
    if (records.has(spec.id)) {
      skipped.push(spec.id);
      return;
    }
    progress.start(progressId);
    let result: RunResult;
    if (spec.kind === "lrrange") {
      await use(backendFor(spec.arch));
      result = await lrRangeRun({ o, train, test: testFor("table") }, spec);
    } else if (spec.kind === "table") {
      await use(backendFor(spec.arch));
      result = await tableRun(
        { o, train, test: testFor("table"), val: testFor("val"), onStep },
        spec,
      );
    } else if (spec.kind === "pretrain") {
      await use(backendFor("cnn"));
      const ctx = {
        o,
        train: sets.pretrain!.train,
        test: testFor("pretrain"),
        onStep,
      };
      const { model, result: r } = await pretrainRun(ctx, spec.seed);
      await model.save(fileSystem(pretrainedDir(spec.seed)));
      model.dispose();
      result = r;
    } else {
      await use(backendFor("cnn"));
      let pretrained: tf.LayersModel;
      try {
        pretrained = await tf.loadLayersModel(
          fileSystem(pretrainedDir(spec.seed)),
        );
      } catch {
        // Saved weights lost (or a run killed between the two writes):
        // pretraining is seeded, so it is simply done again.
        const ctx = {
          o,
          train: sets.pretrain!.train,
          test: testFor("pretrain"),
          onStep,
        };
        pretrained = (await pretrainRun(ctx, spec.seed)).model;
        await pretrained.save(fileSystem(pretrainedDir(spec.seed)));
      }
      try {
        result = await finetuneRun(
          { o, train: sets.finetune!.train, test: testFor("finetune"), onStep },
          pretrained,
          spec,
        );
      } finally {
        pretrained.dispose();
      }
    }
    const record = {
      ...spec,
      ...result,
      fingerprint: fp,
      finishedAt: new Date().toISOString(),
    } as RunRecord;
    await appendRecord(resultsPath, record);
    records.set(spec.id, record);
    ran.push(spec.id);
    const r = result.lrRange;
    progress.finish(
      progressId,
      result.seconds,
      r !== undefined
        ? `suggested rate ${r.suggestion?.toPrecision(3) ?? "none"}${
          r.diverged
            ? " (diverged at " + r.learningRates.at(-1)!.toPrecision(3) + ")"
            : ""
        }  (${result.backend})`
        : `${spec.kind === "table" ? `lr ${spec.lr}  ` : ""}loss ${
          result.loss.at(-1)!.toFixed(4)
        }  ${
          result.valAccuracy
            ? `val acc ${(result.valAccuracy.at(-1)! * 100).toFixed(2)}%  `
            : ""
        }test acc ${
          (result.testAccuracy.at(-1)! * 100).toFixed(2)
        }%  (${result.backend})`,
    );
  };

  for (const spec of rangeRuns) await runOne(spec, spec.id);
  for (const spec of grid) await runOne(spec, spec.id);
  chosen = chosenNow();
  const seedRuns = seedPlan(o, new Map([...chosen].map(([k, c]) => [k, c.lr])));
  for (const spec of seedRuns) await runOne(spec, slot(spec, spec.seed));
  for (const spec of ftRuns) await runOne(spec, spec.id);
  const runs = [...rangeRuns, ...grid, ...seedRuns, ...ftRuns];
  for (const t of tensors.values()) tf.dispose([t.xs, t.labels]);

  const report = buildReport(
    runs.map((r) => records.get(r.id)!).filter((r) => r !== undefined),
    o,
    {
      chosen,
      command: options.command ?? "deno task repro",
      machine: await describeMachine(),
      dataset,
      wallSeconds: (performance.now() - wallStart) / 1000,
    },
  );
  const reportPath = `${o.out}/report.md`;
  await Deno.writeTextFile(
    reportPath,
    `# Gradient Centralization at laptop scale (protocol v2)\n\n${report.markdown}\n`,
  );
  for (const [name, svg] of Object.entries(report.charts)) {
    await Deno.writeTextFile(`${o.out}/${name}`, svg);
  }
  write(`\n${report.markdown}\nreport: ${reportPath}\n`);
  return {
    ran,
    skipped,
    report,
    reportPath,
  };
}

if (import.meta.main) {
  await main({
    name: "repro",
    parse: parseReproArgs,
    help: HELP,
    run: (options) =>
      runRepro(options, {
        command: ["deno task repro", ...Deno.args].join(" "),
      }),
  });
}
