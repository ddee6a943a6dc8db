// centra in a real browser: bundles web/demo.ts and web/checks.ts
// (`deno bundle --platform browser`), serves them on 127.0.0.1, starts the
// system's headless Chromium (Debian's `chromium`; WebGPU on SwiftShader)
// through puppeteer-core and checks, in the page: the WebGPU backend is
// active; fused and op-by-op steps of every optimizer agree to float32
// rounding over 20 steps; `model.fit` with a fused `ChainOptimizer` lowers
// the loss; the demo page trains and draws both curves; no page logs an
// error. Then it times the demo's training step in Deno on the same machine
// and prints both figures (docs/browser.md quotes them).
//
// Skipped, with a message, when /usr/bin/chromium is missing (.ci/run
// installs it). CENTRA_SCREENSHOT=path.png saves the demo page.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { batches } from "@centra/zoo/batches";
import { balancedSubset } from "@centra/zoo/balanced-subset";
import {
  CHROMIUM,
  type Chromium,
  hasChromium,
  launchChromium,
} from "./_browser.ts";
import { bundle, serve, type Server } from "./serve.ts";
import { adapterName, webGpuAdapter } from "../tools/webgpu_adapter.ts";
import { loadFashionMnist } from "./data.ts";
import { TrainingRun } from "./train.ts";
import type { Agreement } from "./checks.ts";
import { OPTIMIZER_TABLE } from "@centra/testing/optimizer_table.ts";
import type { DemoState } from "./demo.ts";

const HAS_CHROMIUM = hasChromium();
if (!HAS_CHROMIUM) {
  console.log(
    `web/browser_test.ts: skipped, no Chromium at ${CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)`,
  );
}

// The demo run the page does and Deno repeats: SGDM and SGDM+GC in turn,
// width 0.5, batch 32, 320 training images (10 steps each).
const DEMO = { a: "sgdm", b: "sgdm-gc", train: 320, batch: 32, test: 200 };
// The browser part's time limit (it takes about 1 minute on a 2-core
// machine); CENTRA_BROWSER_LIMIT_S changes it.
const LIMIT_MS = Number(Deno.env.get("CENTRA_BROWSER_LIMIT_S") ?? 240) * 1000;
// Step times skip the first steps, which compile kernels.
const WARMUP = 2;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The demo's step in Deno: same runs, same batches, same code. */
async function denoStepTimes(steps: number): Promise<
  { backend: string; adapter: string; ms: number[] }
> {
  const found = await webGpuAdapter();
  const backend = found !== null ? "webgpu" : "cpu";
  const adapter = found === null ? "" : adapterName(found);
  await tf.setBackend(backend);
  await tf.ready();
  const data = await loadFashionMnist(
    new URL("../packages/zoo/data/", import.meta.url),
  );
  const set = balancedSubset(data.train, { perClass: DEMO.train / 10 });
  const loader = batches(set, {
    batchSize: DEMO.batch,
    seed: 1,
    dropRemainder: true,
  });
  const runs = [DEMO.a, DEMO.b].map((optimizer) =>
    TrainingRun.create({ optimizer, steps: loader.length })
  );
  const ms: number[][] = runs.map(() => []);
  let n = 0;
  for (const batch of loader.epoch(0)) {
    for (const [k, run] of runs.entries()) {
      ms[k]!.push((await run.step(batch)).ms);
    }
    tf.dispose([batch.xs, batch.ys]);
    if (++n === steps) break;
  }
  for (const run of runs) run.dispose();
  return { backend, adapter, ms: ms.map((m) => median(m.slice(WARMUP))) };
}

Deno.test({
  name:
    "browser (headless Chromium, WebGPU): fused = op by op, fit trains, the demo draws both curves",
  ignore: !HAS_CHROMIUM,
  // puppeteer's websocket and child process outlive the test by a tick
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const dir = await Deno.makeTempDir({ prefix: "centra-web-test-" });
    let server: Server | undefined;
    let chromium: Chromium | undefined;
    let browserMs: number[] = [];
    let adapter = "";
    // A bound on the browser part: closing the browser makes every pending
    // puppeteer call reject, so a hung page fails the test instead of
    // stalling CI.
    let timedOut = false;
    const watchdog = setTimeout(() => {
      timedOut = true;
      void chromium?.close();
    }, LIMIT_MS);
    try {
      await bundle(dir);
      const missing: string[] = [];
      server = serve({
        bundleDir: dir,
        port: 0,
        onRequest: (path, status) => {
          if (status !== 200) missing.push(`${status} ${path}`);
        },
      });
      chromium = await launchChromium();
      const checks = await chromium.open(`${server.url}checks.html`);
      await checks.waitForFunction(() => "centraChecks" in globalThis);

      await t.step("the WebGPU backend is active", async () => {
        const b = await checks.evaluate(() =>
          // deno-lint-ignore no-explicit-any
          (globalThis as any).centraChecks.backend()
        ) as { backend: string; adapter: string; webgpu: boolean };
        adapter = b.adapter;
        assert.equal(b.backend, "webgpu", JSON.stringify(b));
        assert.ok(b.webgpu);
      });

      await t.step(
        "fused and op-by-op steps of every optimizer agree over 20 steps",
        async () => {
          const r = await checks.evaluate(() =>
            // deno-lint-ignore no-explicit-any
            (globalThis as any).centraChecks.fusedAgreement(20)
          ) as {
            rows: Agreement[];
            control: Agreement;
            tensorsBefore: number;
            tensorsAfter: number;
          };
          // every fused setting of the table of optimizers (9 for the
          // first six optimizers), without and with GC: the page runs all
          // of them, whatever CENTRA_OPTIMIZERS says here
          const settings = Object.values(OPTIMIZER_TABLE).reduce(
            (n, row) => n + row.fused.length,
            0,
          );
          assert.ok(settings >= 9);
          assert.equal(r.rows.length, 2 * settings);
          for (const row of r.rows) {
            const what = `${row.name}${row.gc ? " + GC" : ""}`;
            assert.ok(row.finite, `${what}: non-finite weights`);
            assert.ok(row.fusedDispatches > 0, `${what}: not fused`);
            assert.ok(
              row.worst <= 1,
              `${what}: fused and op by op differ by ${row.worst}x the tolerance (rtol 1e-4, atol 1e-5)`,
            );
          }
          // the measure sees a 0.1 % change of the learning rate
          assert.ok(r.control.worst > 1, `control: ${r.control.worst}`);
          assert.equal(r.tensorsAfter, r.tensorsBefore, "tensors leaked");
        },
      );

      await t.step(
        "model.fit with a fused ChainOptimizer lowers the loss",
        async () => {
          const r = await checks.evaluate(() =>
            // deno-lint-ignore no-explicit-any
            (globalThis as any).centraChecks.fitWithChainOptimizer()
          ) as {
            losses: number[];
            fusedDispatches: number;
            tensorsBefore: number;
            tensorsAfter: number;
          };
          assert.equal(r.losses.length, 8);
          assert.ok(r.fusedDispatches > 0, "fit did not run the fused kernels");
          assert.ok(
            r.losses.at(-1)! < 0.5 * r.losses[0]!,
            `loss ${r.losses.join(", ")}`,
          );
          assert.equal(r.tensorsAfter, r.tensorsBefore, "tensors leaked");
        },
      );
      await checks.close();

      await t.step(
        "the demo page trains both runs and draws both curves",
        async () => {
          const q = new URLSearchParams({
            autostart: "1",
            epochs: "1",
            a: DEMO.a,
            b: DEMO.b,
            train: String(DEMO.train),
            batch: String(DEMO.batch),
            test: String(DEMO.test),
          });
          const page = await chromium!.open(`${server!.url}?${q}`);
          await page.waitForFunction(
            () => {
              const s = (globalThis as { centraDemo?: DemoState }).centraDemo;
              return s?.phase === "done" || s?.phase === "error";
            },
            { polling: 500 },
          );
          const state = await page.evaluate(() =>
            (globalThis as { centraDemo?: DemoState }).centraDemo!
          );
          assert.equal(state.phase, "done", state.error ?? "");
          assert.equal(state.backend, "webgpu");
          assert.deepEqual(state.runs.map((r) => r.label), ["SGDM", "SGDM+GC"]);
          const steps = DEMO.train / DEMO.batch;
          for (const r of state.runs) {
            assert.equal(r.loss.length, steps, r.label);
            assert.ok(r.loss.every(Number.isFinite), `${r.label}: ${r.loss}`);
            assert.equal(r.accuracy.length, 2, r.label);
            assert.ok(r.accuracy.every(([, a]) => a >= 0 && a <= 1));
          }
          // each of the two panels has one line per run, with a drawn path
          const drawn = await page.evaluate(() =>
            [...document.querySelectorAll("#chart svg svg")].map((panel) =>
              [...panel.querySelectorAll('g[aria-label="line"] path')].map((
                p,
              ) => (p.getAttribute("d") ?? "").length)
            )
          );
          assert.equal(drawn.length, 2, JSON.stringify(drawn));
          for (const lines of drawn) {
            assert.equal(lines.length, 2, JSON.stringify(drawn));
            assert.ok(lines.every((d) => d > 10), JSON.stringify(drawn));
          }
          browserMs = state.runs.map((r) => median(r.ms.slice(WARMUP)));
          const shot = Deno.env.get("CENTRA_SCREENSHOT");
          if (shot) {
            await page.setViewport({ width: 1000, height: 900 });
            await page.screenshot({ path: shot, fullPage: true });
          }
          await page.close();
        },
      );

      await t.step("no page logged an error", () => {
        assert.deepEqual(chromium!.errors, []);
        assert.deepEqual(missing, [], "requests the server could not answer");
      });
    } catch (e) {
      if (!timedOut) throw e;
    } finally {
      clearTimeout(watchdog);
      await chromium?.close();
      await server?.close();
      await Deno.remove(dir, { recursive: true });
    }
    if (timedOut) {
      throw new Error(`the browser part took over ${LIMIT_MS / 1000} s`);
    }

    await t.step("time per step: Chromium and Deno, same machine", async () => {
      const deno = await denoStepTimes(12);
      const cores = navigator.hardwareConcurrency;
      const line = (k: number, label: string) =>
        `  ${label}: Chromium ${browserMs[k]!.toFixed(0)} ms, Deno ${
          deno.ms[k]!.toFixed(0)
        } ms, ratio ${(browserMs[k]! / deno.ms[k]!).toFixed(2)}`;
      console.log(
        [
          `demo step (small CNN width 0.5, batch ${DEMO.batch}, median of steps ${
            WARMUP + 1
          }+; ${cores} cores):`,
          `  Chromium: webgpu on ${adapter}; Deno ${Deno.version.deno}: ${deno.backend}${
            deno.adapter ? ` on ${deno.adapter}` : ""
          }; load average ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`,
          line(0, "SGDM"),
          line(1, "SGDM+GC"),
        ].join("\n"),
      );
      assert.ok(browserMs.every((m) => m > 0) && deno.ms.every((m) => m > 0));
    });
    console.log(
      `browser test: ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  },
});
