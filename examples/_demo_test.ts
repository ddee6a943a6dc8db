// Runs a short version of `deno task demo`, so that CI executes it.
import assert from "node:assert/strict";
import { HELP, parseDemoArgs, runDemo } from "./demo.ts";

Deno.test({
  name: "demo runs end to end: table, per-epoch lines and SVG chart",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const options = parseDemoArgs([
        "--epochs",
        "2",
        "--train-limit",
        "100",
        "--test-limit",
        "50",
        "--batch-size",
        "50",
        "--width",
        "0.125",
        "--out",
        `${dir}/chart.svg`,
        "--no-progress",
      ]);
      assert.ok(options !== "help");
      let text = "";
      const result = await runDemo(options, (t) => void (text += t));
      assert.deepEqual(result.runs.map((r) => r.label), ["SGDM", "SGDM+GC"]);
      for (const r of result.runs) {
        assert.equal(r.loss.length, 2);
        assert.equal(r.testAccuracy.length, 2);
        assert.ok(
          r.loss.every((l) => Number.isFinite(l) && l > 0),
          `${r.label} loss ${r.loss}`,
        );
        assert.ok(r.testAccuracy.every((a) => a >= 0 && a <= 1));
      }
      // Each run's kernels compile in an untimed warm-up of its own.
      assert.equal(
        text.match(/warm-up: compiling its kernels.*\d s, not counted below/g)
          ?.length,
        2,
      );
      assert.match(
        text,
        /SGDM\+GC: ChainOptimizer\.from\("sgd", \{"momentum":0\.9,"gc":true/,
      );
      assert.match(
        text,
        /epoch 2\/2 {2}loss [\d.e+-]+ {2}acc [\d.e+-]+ {2}lr [\d.e-]+ {2}test_acc [\d.e+-]+ {2}[\d.]+ steps\/s/,
      );
      assert.match(
        text,
        /^epoch\s+SGDM loss\s+SGDM test acc\s+SGDM\+GC loss\s+SGDM\+GC test acc$/m,
      );
      assert.match(
        text,
        /^2\s+\d\.\d{4}\s+\d+\.\d{2}%\s+\d\.\d{4}\s+\d+\.\d{2}%$/m,
      );
      const svg = await Deno.readTextFile(`${dir}/chart.svg`);
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      // two panels x two runs, one Observable Plot line mark each
      assert.equal(svg.match(/aria-label="line"><path /g)?.length, 4);
      assert.match(svg, /SGDM\+GC/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("demo flags: defaults, --help, and errors that name the flag", () => {
  const d = parseDemoArgs([]);
  assert.ok(d !== "help");
  assert.deepEqual(d.optimizers, ["sgdm", "sgdm-gc"]);
  assert.equal(d.out, "out/demo.svg");
  assert.equal(d.backend, "auto");
  assert.equal(d.width, 0.5);
  assert.equal(d.batchSize, 32);

  assert.equal(parseDemoArgs(["--help"]), "help");
  assert.equal(parseDemoArgs(["-h"]), "help");
  for (
    const flag of ["--optimizer", "--epochs", "--backend", "--out", "--data"]
  ) assert.ok(HELP.includes(flag), flag);
  assert.throws(
    () => parseDemoArgs(["--epochs", "0"]),
    /--epochs must be an integer >= 1, got "0"/,
  );
  assert.throws(
    () => parseDemoArgs(["--optimizer", "sgdm,lion"]),
    /unknown "lion"/,
  );
  assert.throws(
    () => parseDemoArgs(["--backend", "tpu"]),
    /--backend must be one of auto, webgpu, cpu/,
  );
  assert.throws(
    () => parseDemoArgs(["--lr", "0"]),
    /--lr must be a number > 0, got "0"/,
  );
  assert.throws(() => parseDemoArgs(["--bogus"]), TypeError);
  // The demo's own messages, not node:util's parser's.
  assert.throws(
    () => parseDemoArgs(["--lr", "-1"]),
    (e) =>
      e instanceof RangeError &&
      /--lr must be a number > 0, got "-1"/.test(e.message),
  );
  assert.throws(
    () => parseDemoArgs(["--epochs", "-3", "--lr", "0.1"]),
    /--epochs must be an integer >= 1, got "-3"/,
  );
  assert.throws(() => parseDemoArgs(["--bogus"]), /unknown flag "--bogus"/);
  assert.throws(() => parseDemoArgs(["--epochs"]), /--epochs needs a value/);
  assert.throws(() => parseDemoArgs(["3"]), /unexpected argument '3'/);
});
