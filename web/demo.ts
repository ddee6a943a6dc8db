/**
 * The demo page's script (bundled to `demo.js` by `web/serve.ts`): trains
 * two small CNNs side by side, one step of each in turn, and draws their
 * training loss and test accuracy as they go.
 *
 * URL parameters preset the form (`a`, `b`, `epochs`, `train`, `batch`),
 * pick a backend (`backend=webgpu|cpu`, default: WebGPU when the browser
 * has an adapter), shrink the test set (`test`, default 500) and
 * `autostart=1` starts training at once. `globalThis.centraDemo` tells a
 * driver how far it got.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { balancedSubset } from "@centra/zoo/balanced-subset";
import { batches } from "@centra/zoo/batches";
import type { ImageSet } from "../packages/zoo/image_set.ts";
import { chart, COLORS, type Panel } from "./chart.ts";
import { loadFashionMnist } from "./data.ts";
import { MENU, TrainingRun } from "./train.ts";
import { reportGpuErrors } from "./gpu_errors.ts";
import { webGpuAdapter } from "../tools/webgpu_adapter.ts";

/** What a driver (the browser test) reads. */
export interface DemoState {
  /** `"loading"`, `"ready"`, `"running"`, `"done"` or `"error"`. */
  phase: string;
  /** The backend in use. */
  backend: string;
  /** Per run: label, losses, accuracies (with their steps) and step times. */
  runs: {
    label: string;
    loss: number[];
    accuracy: [number, number][];
    ms: number[];
  }[];
  /** The error message in phase `"error"`. */
  error?: string;
}

const state: DemoState = { phase: "loading", backend: "", runs: [] };
(globalThis as { centraDemo?: DemoState }).centraDemo = state;

const $ = <T extends HTMLElement>(id: string) =>
  document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

function fail(e: unknown): void {
  state.phase = "error";
  state.error = e instanceof Error ? e.message : String(e);
  $("error").textContent = `Error: ${state.error}`;
  console.error(e);
}

async function pickBackend(): Promise<string> {
  const wanted = params.get("backend");
  const hasGpu = (await webGpuAdapter()) !== null;
  const backend = wanted ?? (hasGpu ? "webgpu" : "cpu");
  if (!(await tf.setBackend(backend))) {
    throw new Error(`could not start tfjs's ${backend} backend`);
  }
  await tf.ready();
  if (tf.getBackend() === "webgpu") reportGpuErrors();
  return tf.getBackend();
}

function limit(set: ImageSet, n: number): ImageSet {
  if (n >= set.count) return set;
  return balancedSubset(set, { perClass: Math.max(1, Math.floor(n / 10)) });
}

function fill(select: HTMLSelectElement, value: string): void {
  if (!Object.hasOwn(MENU, value)) {
    throw new RangeError(
      `unknown optimizer "${value}" (known: ${Object.keys(MENU).join(", ")})`,
    );
  }
  for (const [key, entry] of Object.entries(MENU)) {
    select.add(new Option(entry.label, key, false, key === value));
  }
}

/** A whole number >= `min` from a form field or URL parameter, by name. */
function wholeNumber(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got "${text}"`);
  }
  return n;
}

function formatLr(lr: number): string {
  if (lr === 0) return "0";
  return lr < 1e-2 ? lr.toExponential(2) : lr.toPrecision(3);
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function draw(title: string): void {
  const series = (pick: (r: DemoState["runs"][number]) => [number, number][]) =>
    state.runs.map((r) => {
      const pts = pick(r);
      return {
        label: r.label,
        x: pts.map((p) => p[0]),
        y: pts.map((p) => p[1]),
      };
    });
  const panels: Panel[] = [
    {
      title: "training loss (per batch)",
      xLabel: "step",
      series: series((r) => r.loss.map((l, i) => [i + 1, l])),
    },
    {
      title: "test accuracy",
      xLabel: "step",
      unit: "%",
      series: series((r) => r.accuracy.map(([s, a]) => [s, a * 100])),
    },
  ];
  $("chart").replaceChildren(
    chart(panels, { title, panelWidth: 460, panelHeight: 300 }, document),
  );
}

async function table(runs: readonly TrainingRun[]): Promise<void> {
  const lrs = await Promise.all(runs.map((r) => r.learningRate()));
  const rows = [
    "<tr><th>optimizer</th><th>learning rate</th><th>loss</th><th>test accuracy</th><th>time per step</th></tr>",
  ];
  runs.forEach((_, k) => {
    const r = state.runs[k]!;
    const acc = r.accuracy.at(-1)?.[1];
    const ms = median(r.ms.slice(-20));
    rows.push(
      `<tr><td><span class="swatch" style="background:${
        COLORS[k % COLORS.length]
      }"></span>${r.label}</td><td>${formatLr(lrs[k]!)}</td>` +
        `<td>${r.loss.at(-1)?.toFixed(4) ?? "–"}</td>` +
        `<td>${acc === undefined ? "–" : `${(acc * 100).toFixed(1)} %`}</td>` +
        `<td>${Number.isNaN(ms) ? "–" : `${ms.toFixed(0)} ms`}</td></tr>`,
    );
  });
  $("runs").innerHTML = rows.join("");
}

let stop = false;

async function train(data: { train: ImageSet; test: ImageSet }): Promise<void> {
  const keys = [
    $<HTMLSelectElement>("a").value,
    $<HTMLSelectElement>("b").value,
  ];
  const epochs = wholeNumber("epochs", $<HTMLInputElement>("epochs").value, 1);
  const batchSize = wholeNumber("batch", $<HTMLInputElement>("batch").value, 1);
  const trainSet = limit(
    data.train,
    wholeNumber("train", $<HTMLInputElement>("train").value, 10),
  );
  const testSet = limit(
    data.test,
    wholeNumber("test", params.get("test") ?? "500", 10),
  );
  // whole batches only: WebGPU compiles kernels per shape
  const loader = batches(trainSet, { batchSize, seed: 1, dropRemainder: true });
  if (loader.length === 0) {
    throw new RangeError(
      `batch size ${batchSize} is larger than the ${trainSet.count} train images`,
    );
  }
  const steps = loader.length * epochs;
  const test = [
    ...batches(testSet, { batchSize: testSet.count, shuffle: false }),
  ][0]!;
  const testLabels = tf.tidy(() =>
    tf.argMax(test.ys, -1).toInt()
  ) as tf.Tensor1D;
  test.ys.dispose();
  const runs = keys.map((optimizer) =>
    TrainingRun.create({ optimizer, steps })
  );
  state.runs = runs.map((r) => ({
    label: r.label,
    loss: [],
    accuracy: [],
    ms: [],
  }));
  state.phase = "running";
  $("heading").textContent = `centra: ${
    runs.map((r) => r.label).join(" vs ")
  }, in your browser`;
  const title = `${
    runs.map((r) => r.label).join(" vs ")
  }: small CNN, ${trainSet.count} Fashion-MNIST images, ${state.backend}`;
  const progress = $<HTMLProgressElement>("progress");
  progress.max = steps;
  const evalEvery = Math.max(1, Math.floor(loader.length / 2));
  const evaluate = async (step: number) => {
    for (const [k, run] of runs.entries()) {
      const acc = await run.accuracy(test.xs, testLabels, batchSize);
      state.runs[k]!.accuracy.push([step, acc]);
    }
  };
  try {
    let step = 0;
    for (let e = 0; e < epochs && !stop; e++) {
      for (const batch of loader.epoch(e)) {
        if (stop) {
          tf.dispose([batch.xs, batch.ys]);
          break;
        }
        for (const [k, run] of runs.entries()) {
          const { loss, ms } = await run.step(batch);
          state.runs[k]!.loss.push(loss);
          state.runs[k]!.ms.push(ms);
        }
        tf.dispose([batch.xs, batch.ys]);
        step++;
        if (step % evalEvery === 0 || step === steps) await evaluate(step);
        progress.value = step;
        $("status").textContent = `backend ${state.backend} · epoch ${
          e + 1
        }/${epochs} · step ${step}/${steps}`;
        await table(runs);
        draw(title);
        // let the page paint between steps
        await new Promise((r) => setTimeout(r, 0));
      }
    }
    $("status").textContent = `backend ${state.backend} · ${
      stop ? "stopped" : "done"
    } after ${step} steps of ${batchSize} images`;
  } finally {
    tf.dispose([test.xs, testLabels]);
    for (const run of runs) run.dispose();
  }
}

async function main(): Promise<void> {
  fill($("a"), params.get("a") ?? "sgdm");
  fill($("b"), params.get("b") ?? "sgdm-gc");
  for (const id of ["epochs", "train", "batch"]) {
    const v = params.get(id);
    if (v !== null) $<HTMLInputElement>(id).value = v;
  }
  state.backend = await pickBackend();
  $("status").textContent = `backend ${state.backend} · loading Fashion-MNIST…`;
  const data = await loadFashionMnist(new URL("./data/", location.href));
  state.phase = "ready";
  $("status").textContent =
    `backend ${state.backend} · ${data.train.count} train and ${data.test.count} test images loaded`;
  const button = $<HTMLButtonElement>("start");
  button.disabled = false;
  const run = async () => {
    stop = false;
    button.textContent = "Stop";
    try {
      await train(data);
      state.phase = "done";
    } catch (e) {
      fail(e);
    } finally {
      button.textContent = "Train";
    }
  };
  $("controls").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (state.phase === "running") stop = true;
    else void run();
  });
  if (params.get("autostart") === "1") await run();
}

main().catch(fail);
