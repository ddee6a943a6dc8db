/**
 * `deno task demo`: SGDM against SGDM + Gradient Centralization on a small
 * CNN and Fashion-MNIST, same seed, same data order, same schedule; the
 * only difference is GC. Prints each epoch as it ends, then a side-by-side
 * table of training loss and test accuracy, and writes an SVG chart of both
 * curves. Runs on WebGPU when an adapter exists (Mesa's llvmpipe counts),
 * else on the cpu backend, and takes a few minutes on two cores by default.
 *
 * ```sh
 * tools/deno task demo                       # embedded subset, 3 epochs
 * tools/deno task demo --epochs 10 --data /usr/share/datasets/fashion-mnist --train-limit 0
 * tools/deno task demo --optimizer adam,adam-gc --backend cpu --out out/adam.svg
 * tools/deno task demo --help
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import {
  balancedSubset,
  batches,
  countParams,
  type ImageSet,
  smallCnn,
} from "@centra/zoo";
import { fashionMnist } from "@centra/zoo/fs";
import { ChainOptimizer, type JsonObject } from "@centra/tfjs";
import { progressLogger } from "@centra/tfjs/terminal";
import { renderSvg, renderTable, type Run } from "./_demo_report.ts";
import { webGpuAdapter } from "../tools/webgpu_adapter.ts";
import { int, list, main, oneOf, readFlags, real } from "../tools/cli.ts";

/** The demo's settings, as the flags give them. */
export interface DemoOptions {
  optimizers: string[];
  epochs: number;
  batchSize: number;
  lr: number | undefined;
  schedule: "cosine" | "step" | "constant";
  weightDecay: number;
  width: number;
  seed: number;
  trainLimit: number;
  testLimit: number;
  backend: "auto" | "webgpu" | "cpu";
  data: string | undefined;
  out: string;
  live: boolean | undefined;
}

const OPTIMIZERS: Readonly<
  Record<
    string,
    { label: string; name: string; lr: number; options: JsonObject }
  >
> = {
  "sgd": { label: "SGD", name: "sgd", lr: 0.05, options: {} },
  "sgd-gc": { label: "SGD+GC", name: "sgd", lr: 0.05, options: { gc: true } },
  "sgdm": { label: "SGDM", name: "sgd", lr: 0.05, options: { momentum: 0.9 } },
  "sgdm-gc": {
    label: "SGDM+GC",
    name: "sgd",
    lr: 0.05,
    options: { momentum: 0.9, gc: true },
  },
  "adam": { label: "Adam", name: "adam", lr: 1e-3, options: {} },
  "adam-gc": {
    label: "Adam+GC",
    name: "adam",
    lr: 1e-3,
    options: { gc: true },
  },
  "adamw": { label: "AdamW", name: "adamw", lr: 1e-3, options: {} },
  "adamw-gc": {
    label: "AdamW+GC",
    name: "adamw",
    lr: 1e-3,
    options: { gc: true },
  },
};

/** The text `--help` prints. */
export const HELP = `deno task demo [flags]

Trains a small CNN on Fashion-MNIST with each optimizer (same seed, data
order and schedule), prints a per-epoch table of training loss and test
accuracy, and writes an SVG chart of both.

  --optimizer LIST    comma-separated, from ${
  Object.keys(OPTIMIZERS).join(", ")
}
                      (default sgdm,sgdm-gc)
  --epochs N          epochs per optimizer (default 3)
  --batch-size N      (default 32)
  --lr X              peak learning rate (default 0.05 for SGD, 1e-3 for Adam)
  --schedule S        cosine | step | constant (default cosine: decays to 0
                      over the run; step: x0.1 at 50% and 75%)
  --weight-decay X    L2 decay for sgd/adam, decoupled for adamw (default 5e-4;
                      0 turns it off)
  --width X           channel multiplier of the CNN (default 0.5)
  --seed N            seed of the weights and the data order (default 1)
  --train-limit N     train on a class-balanced N images (default 1280; 0: all)
  --test-limit N      test on a class-balanced N images (default 500; 0: all)
  --data DIR          read the full Fashion-MNIST IDX files from DIR (default:
                      the 6,000/1,000-image subset embedded in @centra/zoo)
  --backend B         auto | webgpu | cpu (default auto: webgpu if an adapter
                      exists)
  --out PATH          where the SVG chart goes (default out/demo.svg)
  --no-progress       no live progress bar (it is drawn only on a terminal)
  -h, --help          this text
`;

const VALUE_FLAGS = [
  "optimizer",
  "epochs",
  "batch-size",
  "lr",
  "schedule",
  "weight-decay",
  "width",
  "seed",
  "train-limit",
  "test-limit",
  "data",
  "backend",
  "out",
] as const;

/**
 * Reads the demo's flags.
 *
 * @param args The command-line arguments.
 * @returns The settings, or `"help"` when `--help` was asked for.
 */
export function parseDemoArgs(args: readonly string[]): DemoOptions | "help" {
  const values = readFlags(args, {
    values: VALUE_FLAGS,
    booleans: ["no-progress"],
  });
  if (values.help) return "help";
  return {
    optimizers: list("optimizer", values.optimizer, {
      of: Object.keys(OPTIMIZERS),
      fallback: ["sgdm", "sgdm-gc"],
    }),
    epochs: int("epochs", values.epochs, 3),
    batchSize: int("batch-size", values["batch-size"], 32),
    lr: real("lr", values.lr, { fallback: undefined, min: 0, open: true }),
    schedule: oneOf("schedule", values.schedule, {
      of: ["cosine", "step", "constant"] as const,
      fallback: "cosine",
    }),
    weightDecay: real("weight-decay", values["weight-decay"], {
      fallback: 5e-4,
      min: 0,
    }),
    width: real("width", values.width, { fallback: 0.5, min: 0, open: true }),
    seed: int("seed", values.seed, 1, 0),
    trainLimit: int("train-limit", values["train-limit"], 1280, 0),
    testLimit: int("test-limit", values["test-limit"], 500, 0),
    backend: oneOf("backend", values.backend, {
      of: ["auto", "webgpu", "cpu"] as const,
      fallback: "auto",
    }),
    data: values.data,
    out: values.out ?? "out/demo.svg",
    live: values["no-progress"] ? false : undefined,
  };
}

/** Picks and starts the backend; returns its name. */
async function useBackend(wanted: DemoOptions["backend"]): Promise<string> {
  const backend = wanted === "auto"
    ? ((await webGpuAdapter()) !== null ? "webgpu" : "cpu")
    : wanted;
  if (backend === "webgpu" && (await webGpuAdapter()) === null) {
    throw new Error("--backend webgpu: no WebGPU adapter found");
  }
  if (!(await tf.setBackend(backend))) {
    throw new Error(`could not start the ${backend} backend`);
  }
  await tf.ready();
  return backend;
}

function limit(set: ImageSet, n: number): ImageSet {
  if (n === 0 || n >= set.count) return set;
  return balancedSubset(set, {
    perClass: Math.max(1, Math.floor(n / set.numClasses)),
  });
}

function learningRate(
  o: DemoOptions,
  peak: number,
  steps: number,
): JsonObject | number {
  if (o.schedule === "constant") return peak;
  if (o.schedule === "cosine") {
    return { schedule: "cosineDecay", initValue: peak, decaySteps: steps };
  }
  return {
    schedule: "piecewiseConstant",
    initValue: peak,
    boundariesAndScales: {
      [String(Math.floor(steps * 0.5))]: 0.1,
      [String(Math.floor(steps * 0.75))]: 0.1,
    },
  };
}

/** Test accuracy after each epoch, added to the epoch logs as `test_acc`. */
class TestAccuracy extends tf.Callback {
  readonly values: number[] = [];
  readonly stepsPerSecond: number[] = [];
  #start = 0;
  #steps = 0;

  constructor(
    readonly xs: tf.Tensor4D,
    readonly labels: tf.Tensor1D,
    readonly chunk: number,
  ) {
    super();
  }

  override onEpochBegin(): Promise<void> {
    this.#start = performance.now();
    this.#steps = 0;
    return Promise.resolve();
  }

  override onBatchEnd(): Promise<void> {
    this.#steps++;
    return Promise.resolve();
  }

  override async onEpochEnd(
    _epoch: number,
    logs?: Record<string, number | tf.Scalar>,
  ): Promise<void> {
    // Reading the epoch's mean loss waits for the device to finish the
    // epoch's steps (WebGPU runs behind the host), so the rate is honest.
    const loss = logs?.loss;
    if (loss instanceof tf.Tensor) await loss.data();
    this.stepsPerSecond.push(
      this.#steps / ((performance.now() - this.#start) / 1000),
    );
    const n = this.xs.shape[0];
    let correct = 0;
    // Chunks of the training batch size reuse the kernels compiled for
    // training (WebGPU compiles per shape).
    for (let i = 0; i < n; i += this.chunk) {
      const hits = tf.tidy(() => {
        const size = Math.min(this.chunk, n - i);
        const logits = this.model.predict(this.xs.slice(i, size)) as tf.Tensor;
        return tf.sum(
          tf.equal(tf.argMax(logits, -1), this.labels.slice(i, size)),
        );
      });
      correct += (await hits.data())[0]!;
      hits.dispose();
    }
    const acc = correct / n;
    this.values.push(acc);
    if (logs !== undefined) logs.test_acc = acc;
  }
}

const encoder = new TextEncoder();

// The progress bar redraws one line in place, so text goes out unbuffered.
function stdout(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}

/**
 * One training step per batch size the run will see and one test chunk per
 * chunk size, on a throwaway model and optimizer built like the real ones.
 *
 * @returns Its wall time in seconds.
 */
async function warmUp(
  build: () => { optimizer: ChainOptimizer; model: tf.LayersModel },
  o: {
    batchSize: number;
    trainCount: number;
    testXs: tf.Tensor4D;
    numClasses: number;
  },
): Promise<number> {
  const start = performance.now();
  const { optimizer, model } = build();
  const image = o.testXs.shape.slice(1) as [number, number, number];
  const sizes = new Set([o.batchSize, o.trainCount % o.batchSize]);
  for (const n of sizes) {
    if (n === 0) continue;
    const [xs, ys] = [
      tf.zeros([n, ...image]),
      tf.oneHot(tf.zeros([n], "int32") as tf.Tensor1D, o.numClasses),
    ];
    await model.trainOnBatch(xs, ys);
    tf.dispose([xs, ys]);
  }
  const testSizes = new Set([
    Math.min(o.batchSize, o.testXs.shape[0]),
    o.testXs.shape[0] % o.batchSize,
  ]);
  for (const n of testSizes) {
    if (n === 0) continue;
    const out = tf.tidy(() =>
      tf.argMax(model.predict(o.testXs.slice(0, n)) as tf.Tensor, -1)
    );
    await out.data();
    out.dispose();
  }
  optimizer.dispose();
  model.dispose();
  return (performance.now() - start) / 1000;
}

/** What {@linkcode runDemo} returns. */
export interface DemoResult {
  backend: string;
  runs: Run[];
  table: string;
  svgPath: string;
}

/**
 * Runs the demo.
 *
 * @param o The settings (from {@linkcode parseDemoArgs}).
 * @param write Where text goes, newlines included (default: standard output, unbuffered).
 * @returns The backend, the curves, the table and the chart's path.
 */
export async function runDemo(
  o: DemoOptions,
  write: (text: string) => void = stdout,
): Promise<DemoResult> {
  write(
    o.backend === "cpu"
      ? "Starting the cpu backend and loading Fashion-MNIST...\n"
      : "Starting the backend and loading Fashion-MNIST (the first WebGPU " +
        "start compiles shaders: a silent minute is normal)...\n",
  );
  const backend = await useBackend(o.backend);
  const { width, batchSize } = o;
  const data = await fashionMnist(
    o.data === undefined ? {} : { dir: o.data, source: "full" },
  );
  const train = limit(data.train, o.trainLimit);
  const test = limit(data.test, o.testLimit);
  const testBatch = [
    ...batches(test, { batchSize: test.count, shuffle: false }),
  ][0]!;
  const testLabels = tf.tidy(() =>
    tf.argMax(testBatch.ys, -1).asType("int32")
  ) as tf.Tensor1D;
  testBatch.ys.dispose();
  const loader = batches(train, {
    batchSize,
    seed: o.seed,
    shuffle: true,
  });
  const steps = loader.length * o.epochs;
  const probe = smallCnn({ width, seed: o.seed });
  write(
    `Fashion-MNIST (${data.source}): ${train.count} train / ${test.count} test images; ` +
      `small CNN (width ${width}, ${
        countParams(probe).toLocaleString("en")
      } parameters); ` +
      `backend ${backend}; ${o.epochs} epochs x ${loader.length} steps of ${batchSize}\n`,
  );
  probe.dispose();

  const runs: Run[] = [];
  for (const key of o.optimizers) {
    const spec = OPTIMIZERS[key]!;
    const peak = o.lr ?? spec.lr;
    const options: JsonObject = {
      ...spec.options,
      learningRate: learningRate(o, peak, steps),
    };
    if (o.weightDecay > 0) options.weightDecay = o.weightDecay;
    const build = () => {
      const optimizer = ChainOptimizer.from(spec.name, options);
      const model = smallCnn({ width, seed: o.seed });
      model.compile({
        optimizer,
        loss: (yTrue: tf.Tensor, yPred: tf.Tensor) =>
          tf.losses.softmaxCrossEntropy(yTrue, yPred),
        metrics: ["accuracy"],
      });
      return { optimizer, model };
    };
    write(
      `\n${spec.label}: ChainOptimizer.from("${spec.name}", ${
        JSON.stringify(options)
      })\n`,
    );
    // Kernels compile on first use (on WebGPU a shader per program and
    // shape: a minute or more on a cold cache, seconds when warm), and GC
    // adds kernels of its own. Compiling them on a throwaway copy keeps
    // compilation out of every optimizer's time, so the times compare.
    write(
      `  warm-up: compiling its kernels on a throwaway copy${
        backend === "webgpu"
          ? " (WebGPU shaders; can take a minute or more on a cold cache)"
          : ""
      }... `,
    );
    const warm = await warmUp(build, {
      batchSize,
      trainCount: train.count,
      testXs: testBatch.xs,
      numClasses: train.numClasses,
    });
    write(`${warm.toFixed(1)} s, not counted below\n`);
    const { optimizer, model } = build();
    // One generator over all epochs: epoch k of `loader` has its own seeded
    // shuffle, the same for every optimizer.
    const dataset = tf.data.generator(
      function* () {
        for (let k = 0; k < o.epochs; k++) yield* loader.epoch(k);
      } as unknown as () => Iterator<tf.TensorContainer>,
    );
    const accuracy = new TestAccuracy(testBatch.xs, testLabels, batchSize);
    const start = performance.now();
    const history = await model.fitDataset(dataset, {
      epochs: o.epochs,
      batchesPerEpoch: loader.length,
      verbose: 0,
      callbacks: [
        accuracy,
        progressLogger({
          write,
          ...(o.live === undefined ? {} : { live: o.live }),
        }),
      ],
    });
    runs.push({
      label: spec.label,
      loss: (history.history.loss as number[]).map(Number),
      testAccuracy: accuracy.values,
      stepsPerSecond: accuracy.stepsPerSecond,
      seconds: (performance.now() - start) / 1000,
    });
    optimizer.dispose();
    model.dispose();
  }
  tf.dispose([testBatch.xs, testLabels]);

  const table = renderTable(runs);
  write(`\n${table}\n`);
  write(
    "(time: the seconds of the training and test passes; steps/s: the mean " +
      "of the epochs' training rates, test passes not counted, where the " +
      "epoch lines above time each whole epoch, its test pass included; " +
      "each run's " +
      "kernel compilation happened in its warm-up, shown above)\n",
  );
  const title = `${
    runs.map((r) => r.label).join(" vs ")
  }: small CNN on Fashion-MNIST (${train.count} images, ${backend})`;
  const dir = o.out.includes("/")
    ? o.out.slice(0, o.out.lastIndexOf("/"))
    : ".";
  if (dir !== "") await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(o.out, renderSvg(runs, title));
  write(`\nchart: ${o.out}\n`);
  return { backend, runs, table, svgPath: o.out };
}

if (import.meta.main) {
  await main({ name: "demo", parse: parseDemoArgs, help: HELP, run: runDemo });
}
