/**
 * `deno task repro`: Gradient Centralization (Yong et al. 2020,
 * arXiv:2004.01461) reproduced at laptop scale on Fashion-MNIST.
 *
 * - Table 2: SGDM, Adam, Adagrad, SGDW and AdamW, each with and without
 *   GC, on an MLP and a small CNN from `@centra/zoo`, 5 seeds each, with
 *   the paper's step schedule scaled to the run.
 * - Fig. 5 (BN vs BN + GC curves), Fig. 4 (gradient L2 norm and max of the
 *   first conv and the FC layer), Fig. 3 (per-unit weight means).
 * - 5.5: pretrain on five classes, fine-tune on the other five with
 *   per-layer learning rates from `@centra/match`, with and without GC.
 *
 * Every finished run is appended to `OUT/results.jsonl`; rerunning the same
 * command skips the runs already there. `OUT/report.md` and the SVG charts
 * are rewritten at the end.
 *
 * ```sh
 * deno task repro                    # default preset: 24 min on an idle 2-core machine (docs/results.md)
 * deno task repro --smoke            # seconds; every part, tiny settings
 * deno task repro --data /usr/share/datasets/fashion-mnist --train-limit 0
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
  fingerprint,
  HELP,
  parseReproArgs,
  plan,
  type ReproOptions,
  type RunSpec,
} from "./config.ts";
import { appendRecord, readRecords, type RunRecord } from "./results.ts";
import { type PlannedRun, Progress } from "./progress.ts";
import { buildReport, type Report } from "./report.ts";
import { webGpuAdapter } from "../tools/webgpu_adapter.ts";
import { main } from "../tools/cli.ts";
import {
  classSubset,
  finetuneRun,
  limit,
  type OnStep,
  pretrainRun,
  type RunResult,
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
  const train = limit(data.train, o.trainLimit);
  const test = limit(data.test, o.testLimit);
  const first5 = [0, 1, 2, 3, 4], last5 = [5, 6, 7, 8, 9];
  const sets: Record<string, { train: ImageSet; test: ImageSet }> = {
    table: { train, test },
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
      t = testTensors(sets[kind === "table" ? "table" : kind]!.test);
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

  const runs = plan(o);
  const stepsOf = (r: RunSpec): number => {
    const kind = r.kind === "table" ? "table" : r.kind;
    const epochs = r.kind === "table"
      ? o.epochs
      : r.kind === "pretrain"
      ? o.pretrainEpochs
      : o.finetuneEpochs;
    return epochs * Math.ceil(sets[kind]!.train.count / o.batchSize);
  };
  const planned: PlannedRun[] = runs.map((r) => ({
    id: r.id,
    cost: r.kind === "table" ? r.arch : "cnn",
    steps: stepsOf(r),
  }));
  const done = new Set(runs.filter((r) => records.has(r.id)).map((r) => r.id));
  const progress = new Progress(planned, done, {
    write,
    live: o.live ?? Deno.stdout.isTerminal(),
  });
  write(
    `${runs.length} runs (${done.size} already done), configuration ${fp}, results in ${resultsPath}\n`,
  );
  const onStep: OnStep = (s) => {
    progress.update(
      `epoch ${s.epoch + 1}/${s.epochs} step ${s.step}/${s.steps}${
        s.loss === undefined ? "" : `  loss ${s.loss.toFixed(4)}`
      }`,
    );
  };
  const ran: string[] = [];
  const pretrainedDir = (seed: number) =>
    `${o.out}/pretrained/${fp}-seed${seed}`;

  for (const spec of runs) {
    if (done.has(spec.id)) continue;
    progress.start(spec.id);
    let result: RunResult;
    if (spec.kind === "table") {
      await use(backendFor(spec.arch));
      result = await tableRun(
        { o, train, test: testFor("table"), onStep },
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
    progress.finish(
      spec.id,
      result.seconds,
      `loss ${result.loss.at(-1)!.toFixed(4)}  test acc ${
        (result.testAccuracy.at(-1)! * 100).toFixed(2)
      }%  (${result.backend})`,
    );
  }
  for (const t of tensors.values()) tf.dispose([t.xs, t.labels]);

  const report = buildReport(
    runs.map((r) => records.get(r.id)!).filter((r) => r !== undefined),
    o,
    {
      command: options.command ?? "deno task repro",
      machine: await describeMachine(),
      dataset,
      wallSeconds: (performance.now() - wallStart) / 1000,
    },
  );
  const reportPath = `${o.out}/report.md`;
  await Deno.writeTextFile(
    reportPath,
    `# Gradient Centralization at laptop scale\n\n${report.markdown}\n`,
  );
  for (const [name, svg] of Object.entries(report.charts)) {
    await Deno.writeTextFile(`${o.out}/${name}`, svg);
  }
  write(`\n${report.markdown}\nreport: ${reportPath}\n`);
  return {
    ran,
    skipped: runs.filter((r) => !ran.includes(r.id)).map((r) => r.id),
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
