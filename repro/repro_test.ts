import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { constantSchedule, initState, runUpdate, sgd } from "@centra/chain";
import { mlp } from "@centra/zoo";
import {
  fingerprint,
  HELP,
  parseReproArgs,
  plan,
  type ReproOptions,
  stepBoundaries,
} from "./config.ts";
import { runRepro } from "./main.ts";
import { meanStd, readRecords } from "./results.ts";
import { renderChart } from "../web/chart_svg.ts";
import { pairedDiffs } from "./report.ts";
import type { RunRecord } from "./results.ts";
import { formatDuration } from "./progress.ts";
import { classSubset, table2Optimizer } from "./train.ts";

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
  assert.deepEqual(d.optimizers, ["sgdm", "adam", "adagrad", "sgdw", "adamw"]);
  assert.equal(d.out, "out/repro");
  assert.equal(plan(d).length, 5 * 2 * 5 * 2 + 5 * 3);
  const s = options(["--smoke"]);
  assert.equal(s.out, "out/repro-smoke");
  assert.ok(s.trainLimit < d.trainLimit);
  assert.notEqual(fingerprint(s), fingerprint(d));
  assert.equal(fingerprint(d), fingerprint(options(["--fresh"])));
  assert.equal(parseReproArgs(["-h"]), "help");
  for (const flag of ["--smoke", "--data", "--seeds", "--out", "--fresh"]) {
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
      optimizer: "sgdm",
      gc,
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

Deno.test("table2Optimizer('sgdm') is sgd() with momentum, L2 decay and GC", () => {
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
  const a = table2Optimizer("sgdm", axes, constantSchedule(0.1));
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
      // A real interruption: a child process killed once 3 runs are recorded.
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
      const deadline = Date.now() + 60_000;
      while ((await lines()) < 3 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      child.kill("SIGKILL");
      await child.status;
      const before = await lines();
      assert.ok(
        before >= 3,
        `only ${before} runs recorded before the deadline`,
      );

      const o = options(args);
      const total = plan(o).length;
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

      // The report: every cell, figures, and Theorem 4.1 in the numbers.
      const md = await Deno.readTextFile(result.reportPath);
      assert.match(md, /\| MLP \| w\/o GC \|( [\d.]+ ± [\d.]+ \|){5}/);
      assert.match(
        md,
        /\| \| GC − no GC, paired by seed \|( [+-][\d.]+ ± [\d.]+ \(\d\/2\) \|){5}/,
      );
      assert.match(md, /Fine-tuning \(paper 5\.5\)/);
      for (const cell of ["mlp/adamw+gc", "cnn/sgdm", "finetune/sgdm+gc"]) {
        const c = result.report.cells[cell];
        assert.ok(c && c.n === o.seeds && c.mean >= 0 && c.mean <= 1, cell);
      }
      for (
        const svg of [
          "curves_mlp.svg",
          "curves_cnn.svg",
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
      const sgdm = [...records.values()].filter((r) =>
        r.kind === "table" && r.arch === "cnn" && r.optimizer === "sgdm"
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
