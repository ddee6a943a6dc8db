import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  adagrad,
  addDecayedWeights,
  chain,
  constantSchedule,
  disposeState,
  initState,
  runUpdate,
  sgd,
} from "@centra/chain";
import { OPTIMIZERS as TABLE } from "@centra/chain/optimizers";
import { mlp } from "@centra/zoo";
import {
  epochsFor,
  fingerprint,
  gridCells,
  gridPlan,
  HELP,
  lrGrid,
  lrRangePlan,
  OPTIMIZERS,
  PAPER_OPTIMIZERS,
  parseReproArgs,
  type ReproOptions,
  runCount,
  seedPlan,
  settingsOf,
  stepBoundaries,
} from "./config.ts";
import { runRepro } from "./main.ts";
import { chooseRates, meanStd, readRecords } from "./results.ts";
import { renderChart } from "../web/chart_svg.ts";
import {
  compare,
  flatness,
  pairedDiffs,
  sentence,
  tInterval,
} from "./report.ts";
import type { RunRecord } from "./results.ts";
import { formatDuration } from "./progress.ts";
import { classSubset, reproOptimizer, splitValidation } from "./train.ts";

// main.ts registers the webgpu backend; these tests run on cpu.
await tf.setBackend("cpu");

function options(args: string[]): ReproOptions {
  const o = parseReproArgs(args);
  assert.ok(o !== "help");
  return o;
}

Deno.test("repro flags: presets, --help, and errors that name the flag", () => {
  const d = options([]);
  assert.equal(d.seeds, 5);
  assert.deepEqual(d.archs, ["mlp", "cnn"]);
  assert.deepEqual(d.optimizers, ["sgd", "adam", "adagrad", "sgdw", "adamw"]);
  assert.deepEqual(d.convOptimizers, ["sgd"]);
  assert.equal(d.trainLimit, 0, "all 6,000 embedded training images");
  assert.equal(d.backend, "cpu");
  assert.deepEqual([epochsFor(d, "mlp"), epochsFor(d, "cnn")], [8, 8]);
  assert.notEqual(
    fingerprint(d),
    fingerprint(options(["--conv-epochs", "6"])),
  );
  assert.equal(d.out, "out/repro");
  // 5 MLP optimizers and SGDM on the CNN, 2 GC settings, 3 grid rates on
  // seed 1 then 4 more seeds at the chosen rate.
  assert.equal(runCount(d), 6 * 2 * (3 + 4) + 6 * 2);
  assert.equal(gridPlan(d).length, 6 * 2 * 3);
  assert.deepEqual(lrGrid(d, "adam"), [0.000333, 0.001, 0.003]);
  assert.deepEqual(lrGrid(d, "sgd"), [0.0333, 0.1, 0.3]);
  const s = options(["--smoke"]);
  assert.equal(s.out, "out/repro-smoke");
  assert.ok(s.trainLimit > 0 && s.seeds >= 2);
  assert.notEqual(fingerprint(s), fingerprint(d));
  assert.equal(fingerprint(d), fingerprint(options(["--fresh"])));
  // Rates, optimizers and seeds are in each run's id, not the fingerprint:
  // a wider grid or more optimizers reuse the runs already done.
  assert.equal(
    fingerprint(d),
    fingerprint(options(["--optimizers", "adam", "--lr-factors", "1,10"])),
  );
  const f = options(["--full"]);
  assert.deepEqual(f.optimizers, [...OPTIMIZERS]);
  assert.equal(f.data, "/usr/share/datasets/fashion-mnist");
  assert.equal(f.seeds, 10);
  assert.equal(f.backend, "auto");
  assert.equal(f.out, "out/repro-full");
  assert.deepEqual(OPTIMIZERS, Object.keys(TABLE));
  for (const p of PAPER_OPTIMIZERS) assert.ok(OPTIMIZERS.includes(p), p);
  assert.equal(parseReproArgs(["-h"]), "help");
  for (
    const flag of [
      "--smoke",
      "--full",
      "--data",
      "--seeds",
      "--out",
      "--fresh",
      "--lr-factors",
      "--val-per-class",
      "--conv-optimizers",
    ]
  ) {
    assert.ok(HELP.includes(flag), flag);
  }
  assert.throws(
    () => options(["--seeds", "0"]),
    /--seeds must be an integer >= 1, got "0"/,
  );
  assert.throws(
    () => options(["--archs", "mlp,vit"]),
    /--archs: unknown "vit"/,
  );
  assert.throws(
    () => options(["--optimizers", "sgd,adamm"]),
    /--optimizers: unknown "adamm"/,
  );
  assert.throws(
    () => options(["--lr-factors", "1,-3"]),
    /--lr-factors must be a number > 0, got "-3"/,
  );
  assert.throws(() => options(["--smoke", "--full"]), /choose one preset/);
  assert.throws(
    () => options(["--backend", "tpu"]),
    /--backend must be one of/,
  );
  assert.throws(() => options(["--bogus"]), TypeError);
});

Deno.test("stepBoundaries() scales the paper's 60/120/180-of-200 schedule", () => {
  assert.deepEqual(stepBoundaries(200), { 60: 0.1, 120: 0.1, 180: 0.1 });
  assert.deepEqual(stepBoundaries(100, [0.5, 0.8]), { 50: 0.1, 80: 0.1 });
});

Deno.test("meanStd() uses the sample standard deviation", () => {
  assert.deepEqual(meanStd([1, 3]), { mean: 2, std: Math.SQRT2 });
  assert.deepEqual(meanStd([5]), { mean: 5, std: 0 });
  assert.ok(Number.isNaN(meanStd([]).mean));
  assert.equal(formatDuration(3725), "1h02m");
  assert.equal(formatDuration(65), "1m05s");
});

Deno.test("pairedDiffs() pairs GC and no-GC runs by seed", () => {
  const rec = (seed: number, gc: boolean, acc: number) =>
    ({
      kind: "table",
      id: `t/${seed}/${gc}`,
      arch: "mlp",
      optimizer: "sgd",
      gc,
      lr: 0.1,
      seed,
      loss: [1],
      testAccuracy: [0.5, acc],
      steps: 1,
      seconds: 1,
      backend: "cpu",
      fingerprint: "x",
      finishedAt: "",
    }) as RunRecord;
  const d = pairedDiffs([
    rec(2, true, 0.7),
    rec(1, false, 0.5),
    rec(1, true, 0.75),
    rec(2, false, 0.8),
    rec(3, true, 0.9), // no partner: left out
  ]);
  assert.equal(d.length, 2);
  assert.ok(Math.abs(d[0]! - 0.25) < 1e-12 && Math.abs(d[1]! + 0.1) < 1e-12);
});

Deno.test("classSubset() keeps the classes asked for and relabels them", () => {
  const set = {
    images: new Uint8Array([0, 1, 2, 3, 4, 5]),
    labels: new Uint8Array([0, 5, 7, 5, 1, 9]),
    count: 6,
    height: 1,
    width: 1,
    channels: 1,
    numClasses: 10,
    classNames: Array.from({ length: 10 }, (_, i) => `c${i}`),
  };
  const s = classSubset(set, [5, 6, 7, 8, 9]);
  assert.equal(s.count, 4);
  assert.deepEqual([...s.images], [1, 2, 3, 5]);
  assert.deepEqual([...s.labels], [0, 2, 0, 4]);
  assert.equal(s.numClasses, 5);
  assert.deepEqual(s.classNames, ["c5", "c6", "c7", "c8", "c9"]);
});

Deno.test("reproOptimizer('sgd') is sgd() with momentum, L2 decay and GC", () => {
  const model = mlp({
    inputShape: [6],
    hidden: [5],
    numClasses: 3,
    seed: 3,
    name: "repro_t2",
  });
  const params = Object.fromEntries(
    model.trainableWeights.map((w) => [w.name, w.read()]),
  );
  const grads = tf.tidy(() =>
    Object.fromEntries(
      Object.entries(params).map((
        [k, p],
      ) => [k, tf.randomNormal(p.shape, 0, 1, "float32", 5)]),
    )
  );
  const axes = (_: string, shape: readonly number[]) =>
    shape.length >= 2 ? [0] : null;
  const a = reproOptimizer("sgd", axes, constantSchedule(0.1));
  const b = sgd(0.1, { momentum: 0.9, weightDecay: 5e-4, gc: axes });
  let sa = initState(a, params), sb = initState(b, params);
  for (let i = 0; i < 3; i++) {
    const [ua, na] = runUpdate(a, grads, sa, params);
    const [ub, nb] = runUpdate(b, grads, sb, params);
    sa = na;
    sb = nb;
    for (const k of Object.keys(params)) {
      const d = tf.tidy(() =>
        tf.max(tf.abs(tf.sub(ua[k]!, ub[k]!))).dataSync()[0]!
      );
      assert.ok(d < 1e-7, `${k}: ${d}`);
    }
    tf.dispose([ua, ub]);
  }
  tf.dispose(grads);
  model.dispose();
});

Deno.test("reproOptimizer(): L2 decay before Adagrad, decoupled decay in AdamW (first step by hand)", () => {
  // Step 1 of Adagrad from a zero accumulator is -lr·d/sqrt(d² + eps) with
  // d = g + λw (eps inside the root, as optax's scale_by_rss and tfjs); of
  // AdamW, -lr·(g/(|g| + eps) + λw) (bias-corrected moments are g and g²).
  const w = tf.tensor1d([0.5, -2, 3, 0.25]);
  const g = tf.tensor1d([0.3, -0.001, -0.2, 1e-4]);
  const wv = [0.5, -2, 3, 0.25], gv = [0.3, -0.001, -0.2, 1e-4];
  const cases = [
    {
      name: "adagrad",
      lr: 0.01,
      want: gv.map((x, i) => {
        const d = x + 5e-4 * wv[i]!;
        return -0.01 * d / Math.sqrt(d * d + 1e-10);
      }),
    },
    {
      name: "adamw",
      lr: 1e-3,
      want: gv.map((x, i) =>
        -1e-3 * (x / (Math.abs(x) + 1e-8) + 1e-3 * wv[i]!)
      ),
    },
  ];
  for (const c of cases) {
    const tx = reproOptimizer(c.name, false, constantSchedule(c.lr));
    const state = initState(tx, { w });
    const [u, next] = runUpdate(tx, { w: g }, state, { w });
    const got = Array.from(u.w!.dataSync());
    got.forEach((x, i) =>
      assert.ok(Math.abs(x - c.want[i]!) < 1e-7, `${c.name}[${i}]: ${x}`)
    );
    tf.dispose(u);
    disposeState(next);
  }
  // and Adagrad's L2 term is the decay added before it:
  const a = reproOptimizer("adagrad", false, constantSchedule(0.01));
  const b = chain(
    addDecayedWeights(5e-4),
    adagrad(0.01, { initialAccumulatorValue: 0, eps: 1e-10 }),
  );
  const [ua, sa] = runUpdate(a, { w: g }, initState(a, { w }), { w });
  const [ub, sb] = runUpdate(b, { w: g }, initState(b, { w }), { w });
  assert.deepEqual(ua.w!.dataSync(), ub.w!.dataSync());
  tf.dispose([ua, ub, w, g]);
  disposeState(sa);
  disposeState(sb);
});

Deno.test("reproOptimizer() builds every optimizer of the table, with and without GC", () => {
  const w = tf.tensor2d([[1, 2], [3, 5]]);
  const g = tf.tensor2d([[0.5, -1], [2, 0.25]]);
  const before = tf.memory().numTensors;
  for (const name of OPTIMIZERS) {
    for (const gc of [false, () => [0]] as const) {
      // Rprop's rate is an initial step size, never a schedule
      const lr = settingsOf(name).schedule === false
        ? 1e-3
        : constantSchedule(1e-3);
      const tx = reproOptimizer(name, gc, lr);
      const [u, next] = runUpdate(tx, { w: g }, initState(tx, { w }), { w });
      const v = u.w!.dataSync();
      assert.ok(v.every(Number.isFinite), `${name} gc=${gc !== false}`);
      if (gc !== false && name === "sgd") {
        // step 1 of SGDM is -lr·P(g + λw): GC over axis 0 makes each
        // column sum to 0
        const col = [v[0]! + v[2]!, v[1]! + v[3]!];
        assert.ok(col.every((c) => Math.abs(c) < 1e-8), `${col}`);
      }
      tf.dispose(u);
      disposeState(next);
    }
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([w, g]);
});

Deno.test("tInterval() matches Student's t table (NIST e-Handbook 1.3.6.7.2)", () => {
  // t(0.975, 4) = 2.776 and t(0.975, 9) = 2.262 in the printed table.
  const five = [1, 2, 3, 4, 5]; // mean 3, s = sqrt(2.5)
  const a = tInterval(five);
  const half5 = 2.776 * Math.sqrt(2.5) / Math.sqrt(5);
  assert.equal(a.mean, 3);
  assert.ok(Math.abs(a.ci[1] - (3 + half5)) < 1e-3, `${a.ci}`);
  assert.ok(Math.abs(a.ci[0] - (3 - half5)) < 1e-3, `${a.ci}`);
  const ten = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]; // mean 0.5, s² = 2.5/9
  const b = tInterval(ten);
  const half10 = 2.262 * Math.sqrt(2.5 / 9) / Math.sqrt(10);
  assert.ok(Math.abs(b.ci[1] - b.mean - half10) < 1e-3, `${b.ci}`);
  assert.ok(Number.isNaN(tInterval([1]).ci[0]));
  // the verdict reads the interval, the wins count the positive differences
  assert.equal(compare([0.01, 0.02, 0.015]).verdict, "helped");
  assert.equal(compare([-0.01, -0.02, -0.015]).verdict, "hurt");
  const mixed = compare([0.05, -0.04, 0.01]);
  assert.equal(mixed.verdict, "no measurable difference");
  assert.equal(mixed.wins, 2);
  assert.equal(compare([0.1]).verdict, "too few seeds");
  assert.match(
    sentence("Adam", compare([-0.01, -0.02, -0.015]), "helped"),
    /^\*\*Adam\*\*: GC hurt: −1\.50 points \(95% CI −2\.74 points to −0\.26 points\), better on 0 of 3 seeds; the opposite of the paper's Table 2/,
  );
  assert.match(
    sentence("lion", mixed, undefined),
    /no measurable difference.*does not test it/,
  );
});

Deno.test("chooseRates() picks the best validation accuracy, then the lower loss, and flags the grid's edges", () => {
  const o = options(["--smoke", "--lr-factors", "0.5,1,2"]);
  const rec = (id: string, acc: number, loss: number) =>
    [id, { valAccuracy: [0.1, acc], valLoss: [9, loss] } as RunRecord] as const;
  const grid = gridCells(o);
  const adam = grid.find((c) => c.key === "mlp/adam")!;
  const sgdGc = grid.find((c) => c.key === "mlp/sgd+gc")!;
  const records = new Map<string, RunRecord>([
    rec(adam.ids[0]![1], 0.7, 0.9),
    rec(adam.ids[1]![1], 0.8, 0.6),
    rec(adam.ids[2]![1], 0.8, 0.5), // a tie on accuracy: the lower loss
    rec(sgdGc.ids[0]![1], NaN, NaN), // diverged
    rec(sgdGc.ids[1]![1], 0.75, 0.7),
    rec(sgdGc.ids[2]![1], 0.6, 1.1),
  ]);
  const chosen = chooseRates(records, grid);
  assert.deepEqual(
    [...chosen.keys()].sort(),
    ["mlp/adam", "mlp/sgd+gc"],
    "cells with a missing grid run have no choice",
  );
  assert.equal(chosen.get("mlp/adam")!.lr, adam.ids[2]![0]);
  assert.equal(chosen.get("mlp/adam")!.atEdge, true);
  assert.equal(chosen.get("mlp/sgd+gc")!.lr, sgdGc.ids[1]![0]);
  assert.equal(chosen.get("mlp/sgd+gc")!.atEdge, false);
  const seeds = seedPlan(o, new Map([["mlp/adam", 0.002]]));
  assert.deepEqual(seeds.map((r) => r.id), ["table/mlp/adam/lr0.002/seed2"]);
});

Deno.test("splitValidation() holds out the first images of each class", () => {
  const labels = [0, 1, 0, 1, 1, 0, 2, 2, 2, 0];
  const set = {
    images: new Uint8Array(labels.map((_, i) => i)),
    labels: new Uint8Array(labels),
    count: labels.length,
    height: 1,
    width: 1,
    channels: 1,
    numClasses: 3,
    classNames: ["a", "b", "c"],
  };
  const { train, val } = splitValidation(set, 2);
  assert.deepEqual([...val.images], [0, 1, 2, 3, 6, 7]);
  assert.deepEqual([...val.labels], [0, 1, 0, 1, 2, 2]);
  assert.deepEqual([...train.images], [4, 5, 8, 9]);
  assert.deepEqual([...train.labels], [1, 0, 2, 0]);
  assert.equal(train.count + val.count, set.count);
  assert.throws(() => splitValidation(set, 4), /--val-per-class 4: class 1/);
});

Deno.test("flatness() is the last epoch's share of the loss drop", () => {
  const r = (loss: number[]) => ({ loss }) as RunRecord;
  const near = (a: number, b: number) =>
    assert.ok(Math.abs(a - b) < 1e-9, `${a}`);
  near(flatness([r([2, 1.5, 1.1, 1])]), 10);
  near(flatness([r([2, 1, 0.5]), r([2, 1.5, 1])]), (100 / 3 + 50) / 2);
});

Deno.test("runRepro() refuses a missing --data directory before writing anything", async () => {
  const out = `${await Deno.makeTempDir()}/never`;
  await assert.rejects(
    runRepro(options(["--smoke", "--data", `${out}-data`, "--out", out]), {
      write: () => {},
    }),
    /--data .*never-data: no such directory \(the full Fashion-MNIST: apt-get install dataset-fashion-mnist/,
  );
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
});

Deno.test("renderChart() draws lines, bands, points and a log axis", () => {
  const svg = renderChart([
    {
      title: "loss",
      xLabel: "epoch",
      series: [
        { label: "A", x: [1, 2, 3], y: [3, 2, 1], band: [0.1, 0.1, 0.1] },
        { label: "B", x: [1, 2, 3], y: [3, 1.5, 0.5], dashed: true },
      ],
    },
    {
      title: "norm",
      xLabel: "iteration",
      logY: true,
      series: [
        { label: "A", x: [1, 2], y: [1e-3, 1e-1], points: true },
        { label: "B", x: [1, 2], y: [1e-4, 0], points: true },
      ],
    },
  ], { title: "t & <t>" });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  // Observable Plot's marks: one <g aria-label="line"> with one path per
  // line, one "area" per band, circles for points
  assert.equal(svg.match(/aria-label="line"><path /g)?.length, 2);
  assert.equal(svg.match(/aria-label="area"><path /g)?.length, 1);
  assert.equal(svg.match(/<circle /g)?.length, 3 + 3 + 2 + 1);
  assert.match(svg, /stroke-dasharray="6 4"[^>]*aria-label="line"/);
  assert.match(svg, />1e-4</);
  assert.match(svg, /t &amp; &lt;t&gt;/);
  assert.doesNotMatch(svg, /NaN|Infinity/);
});

Deno.test({
  name:
    "repro --smoke: killed after a few runs, resumes with only the rest, then reports",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const out = await Deno.makeTempDir();
    const args = ["--smoke", "--backend", "cpu", "--no-progress", "--out", out];
    try {
      // A real interruption: a child process killed once the range tests (6
      // runs), the grid (12) and 2 seed runs are recorded, so that the
      // resumed run must rebuild the chosen rates from the file.
      const o = options(args);
      assert.equal(lrRangePlan(o).length, 6);
      const grid = lrRangePlan(o).length + gridPlan(o).length;
      assert.equal(grid, 18);
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "repro/main.ts", ...args],
        cwd: new URL("..", import.meta.url),
        stdout: "null",
        stderr: "null",
      }).spawn();
      const file = `${out}/results.jsonl`;
      const lines = async () =>
        (await Deno.readTextFile(file).catch(() => "")).split("\n")
          .filter((l) => l.endsWith("}")).length;
      const deadline = Date.now() + 120_000;
      while ((await lines()) < grid + 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      child.kill("SIGKILL");
      await child.status;
      const before = await lines();
      assert.ok(
        before >= grid + 2,
        `only ${before} runs recorded before the deadline`,
      );

      const total = runCount(o);
      assert.equal(total, 6 + 6 * (2 + 1) + 6);
      assert.ok(before < total, "the child finished before it was killed");
      let text = "";
      const tensorsBefore = tf.memory().numTensors;
      const result = await runRepro(o, { write: (t) => void (text += t) });
      // Models, optimizer states, taps and test sets are all freed.
      assert.equal(tf.memory().numTensors, tensorsBefore);
      assert.equal(result.skipped.length, before);
      assert.equal(result.ran.length, total - before);
      assert.match(text, new RegExp(`resuming: ${before} finished runs`));
      const { records } = await readRecords(file, fingerprint(o));
      assert.equal(records.size, total);

      // Every seed run is at its cell's chosen rate, the best on validation.
      const table = [...records.values()].filter((r) => r.kind === "table");
      for (const key of ["mlp/sgd", "mlp/adam+gc", "cnn/sgd"]) {
        const runs = table.filter((r) =>
          `${r.arch}/${r.optimizer}${r.gc ? "+gc" : ""}` === key
        );
        const gridRuns = runs.filter((r) => r.seed === 1);
        assert.equal(gridRuns.length, 2, key);
        const bestVal = Math.max(
          ...gridRuns.map((r) => r.valAccuracy!.at(-1)!),
        );
        const seed2 = runs.filter((r) => r.seed === 2);
        assert.equal(seed2.length, 1, key);
        const chosenRun = gridRuns.find((r) => r.lr === seed2[0]!.lr)!;
        assert.equal(chosenRun.valAccuracy!.at(-1), bestVal, key);
        assert.equal(chosenRun.valAccuracy!.length, o.epochs);
      }

      // The report: every cell, the grid, the intervals, a sentence each,
      // figures, and Theorem 4.1 in the numbers.
      const md = await Deno.readTextFile(result.reportPath);
      assert.match(md, /MLP: learning-rate grid, validation accuracy/);
      assert.match(
        md,
        /\| SGDM \| [\d.]+ ± [\d.]+ \(lr [\d.]+, n=2\) \| [\d.]+ ± [\d.]+ \(lr [\d.]+, n=2\) \| [+−][\d.]+ \[[+−][\d.]+, [+−][\d.]+\] \(\d\/2\) \|/,
      );
      assert.match(md, /- \*\*Adam\*\*: (GC helped|GC hurt|no measurable)/);
      assert.match(md, /cosine over the run's steps/);
      assert.match(md, /Fine-tuning \(paper 5\.5\)/);
      // the range tests: one per cell, each from 1e-3x to 100x the centre
      assert.match(md, /MLP: learning-rate range test \(Smith 2017\)/);
      const ranges = [...records.values()].filter((r) => r.kind === "lrrange");
      assert.equal(ranges.length, 6);
      for (const r of ranges) {
        const lr = r.lrRange!;
        const centre = r.kind === "lrrange" && r.optimizer === "adam"
          ? 1e-3
          : 0.1;
        assert.ok(Math.abs(lr.learningRates[0]! / (centre * 1e-3) - 1) < 1e-9);
        assert.ok(lr.learningRates.length <= o.lrRangeSteps);
        assert.ok(lr.diverged || lr.learningRates.length === o.lrRangeSteps);
      }
      for (const cell of ["mlp/adam+gc", "cnn/sgd", "finetune/sgdm+gc"]) {
        const c = result.report.cells[cell];
        assert.ok(c && c.n === o.seeds && c.mean >= 0 && c.mean <= 1, cell);
      }
      const cmp = result.report.comparisons["mlp/sgd"]!;
      assert.equal(cmp.diffs.length, o.seeds);
      assert.ok(cmp.ci[0] <= cmp.mean && cmp.mean <= cmp.ci[1]);
      for (
        const svg of [
          "curves_mlp.svg",
          "curves_cnn.svg",
          "lr_range_mlp.svg",
          "lr_range_cnn.svg",
          "fig3_unit_means.svg",
          "fig4_grad_norms.svg",
          "fig5_bn_gc.svg",
          "finetune.svg",
        ]
      ) {
        const s = await Deno.readTextFile(`${out}/${svg}`);
        assert.match(s, /<svg /, svg);
        assert.doesNotMatch(s, /NaN/, svg);
      }
      const sgdm = table.filter((r) =>
        r.kind === "table" && r.arch === "cnn" && r.optimizer === "sgd"
      );
      for (const r of sgdm) {
        const drift = Math.max(
          ...Object.values(r.unitMeans!).flatMap((m) =>
            m.init.map((v, i) => Math.abs(m.final[i]! - v))
          ),
        );
        if (r.kind === "table" && r.gc) {
          assert.ok(drift < 1e-5, `GC drift ${drift}`);
        } else assert.ok(drift > 1e-4, `SGDM drift ${drift}`);
        const steps = r.steps;
        for (const s of Object.values(r.gradStats!)) {
          assert.equal(s.norm.length, steps);
          assert.ok(s.norm.every((n, i) => n >= s.max[i]! && n > 0));
        }
      }
      // A second call has nothing left to do.
      const again = await runRepro(o, { write: () => {} });
      assert.equal(again.ran.length, 0);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
