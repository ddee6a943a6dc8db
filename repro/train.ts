/**
 * One training run of the reproduction: a custom loop over
 * `@centra/tfjs`'s `trainStep`, with per-epoch training loss and test
 * accuracy, and optional taps for the paper's Fig. 3 and Fig. 4.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { evaluate, type TestTensors } from "./evaluate.ts";
import {
  addDecayedWeights,
  centralize,
  chain,
  cosineDecaySchedule,
  disposeState,
  type GradientTransformation,
  initState,
  injectHyperparams,
  piecewiseConstantSchedule,
  type ScalarOrSchedule,
  scaleByLearningRate,
  stateless,
  trace,
  type Updates,
} from "@centra/chain";
import { OPTIMIZERS } from "@centra/chain/optimizers";
import { byLayer, fineTuning, gcAxes } from "@centra/match";
import {
  balancedSubset,
  batches,
  type ImageSet,
  mlp,
  modelParams,
  smallCnn,
} from "@centra/zoo";
import {
  ChainOptimizer,
  lrRangeTest,
  type LrRangeTestResult,
  trainStep,
} from "@centra/tfjs";
import {
  type ArchName,
  epochsFor,
  lrRangeSpan,
  type LrRangeSpec,
  type OptimizerName,
  type ReproOptions,
  settingsOf,
  stepBoundaries,
  type TableSpec,
} from "./config.ts";

/** What one run measured. */
export interface RunResult {
  /** Mean training loss of each epoch. */
  loss: number[];
  /** Test accuracy after each epoch, in [0, 1]. */
  testAccuracy: number[];
  /** Validation accuracy after each epoch, in [0, 1] (table runs). */
  valAccuracy?: number[];
  /** Mean validation loss after each epoch (table runs). */
  valLoss?: number[];
  /** Training steps taken. */
  steps: number;
  /** Wall time in seconds, evaluation included. */
  seconds: number;
  /** The backend it ran on. */
  backend: string;
  /** Fig. 4: per step, L2 norm and max |value| of tapped gradients, by layer. */
  gradStats?: Record<string, { norm: number[]; max: number[] }>;
  /** Fig. 3: per-unit means of weight vectors at init and at the end, by layer. */
  unitMeans?: Record<string, { init: number[]; final: number[] }>;
  /** A learning-rate range test's curve (kind `lrrange`). */
  lrRange?: LrRangeTestResult;
}

/** Called during a run with the epoch and, when read, the latest loss. */
export type OnStep = (info: {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss?: number;
}) => void;

/** The classes `classes` of `set`, relabelled 0..k-1. */
export function classSubset(
  set: ImageSet,
  classes: readonly number[],
): ImageSet {
  const pix = set.height * set.width * set.channels;
  const picked: number[] = [];
  for (let i = 0; i < set.count; i++) {
    if (classes.includes(set.labels[i]!)) picked.push(i);
  }
  const images = new Uint8Array(picked.length * pix);
  const labels = new Uint8Array(picked.length);
  picked.forEach((src, dst) => {
    images.set(set.images.subarray(src * pix, (src + 1) * pix), dst * pix);
    labels[dst] = classes.indexOf(set.labels[src]!);
  });
  return {
    ...set,
    images,
    labels,
    count: picked.length,
    numClasses: classes.length,
    classNames: classes.map((c) => set.classNames[c] ?? String(c)),
  };
}

/** A class-balanced `n` images of `set` (0 or more than it has: all). */
export function limit(set: ImageSet, n: number): ImageSet {
  if (n === 0 || n >= set.count) return set;
  return balancedSubset(set, {
    perClass: Math.max(1, Math.floor(n / set.numClasses)),
  });
}

/**
 * Splits `set` into a validation set of the first `perClass` images of each
 * class and a training set of the rest (both in their original order).
 */
export function splitValidation(
  set: ImageSet,
  perClass: number,
): { train: ImageSet; val: ImageSet } {
  const taken = new Array<number>(set.numClasses).fill(0);
  const val: number[] = [], train: number[] = [];
  for (let i = 0; i < set.count; i++) {
    const label = set.labels[i]!;
    if (taken[label]! < perClass) {
      taken[label]! += 1;
      val.push(i);
    } else train.push(i);
  }
  const short = taken.findIndex((n) => n < perClass);
  if (short >= 0) {
    throw new RangeError(
      `--val-per-class ${perClass}: class ${short} has only ${
        taken[short]
      } training images`,
    );
  }
  return { train: pick(set, train), val: pick(set, val) };
}

function pick(set: ImageSet, indices: readonly number[]): ImageSet {
  const pix = set.height * set.width * set.channels;
  const images = new Uint8Array(indices.length * pix);
  const labels = new Uint8Array(indices.length);
  indices.forEach((src, dst) => {
    images.set(set.images.subarray(src * pix, (src + 1) * pix), dst * pix);
    labels[dst] = set.labels[src]!;
  });
  return { ...set, images, labels, count: indices.length };
}

let built = 0;

/** Builds an architecture with a process-unique name (tfjs names variables globally). */
export function buildModel(
  arch: ArchName,
  o: ReproOptions,
  seed: number,
  numClasses = 10,
  prefix = "r",
): tf.LayersModel {
  const name = `${prefix}${built++}_${arch.replace("-", "_")}`;
  if (arch === "mlp") {
    return mlp({ hidden: o.hidden, seed, numClasses, name });
  }
  return smallCnn({
    width: o.width,
    seed,
    numClasses,
    name,
    batchNorm: arch === "cnn",
  });
}

/** Layers tapped for Fig. 3/4: the first and the last weight layer. */
export function tappedLayers(model: tf.LayersModel): string[] {
  const withKernel = model.layers.filter((l) =>
    l.trainableWeights.some((w) => w.shape.length >= 2)
  );
  return [withKernel[0]!.name, withKernel.at(-1)!.name];
}

function kernelName(model: tf.LayersModel, layer: string): string {
  const w = model.getLayer(layer).trainableWeights.find((v) =>
    v.shape.length >= 2
  );
  return w!.name;
}

/** Records the L2 norm and max |value| of some updates each step. */
function tap(
  names: readonly string[],
  sink: tf.Tensor[][],
): GradientTransformation {
  return stateless((updates: Updates) => {
    sink.push(
      names.map((n) => {
        const g = updates[n]!;
        return tf.keep(tf.stack([tf.norm(g), tf.max(tf.abs(g))]));
      }),
    );
    return updates;
  });
}

/**
 * An optimizer of `@centra/chain`'s table with the reproduction's settings
 * (`settingsOf`), with or without GC (conv and FC layers, each with its
 * exact axes from `@centra/match`). With L2 decay GC acts on `g + λw`
 * (paper 3.4): the decay is added before the optimizer; decoupled decay
 * (SGDW, AdamW) is the optimizer's own `weightDecay`, and GC centralizes the
 * raw gradient. SGDM is written out as the paper's Algorithm 1, so that a
 * tap can read the gradient that enters the momentum.
 */
export function reproOptimizer(
  name: OptimizerName,
  gc: false | ReturnType<typeof gcAxes>,
  lr: ScalarOrSchedule,
  probe?: GradientTransformation,
): GradientTransformation {
  const s = settingsOf(name);
  const l2 = s.weightDecay > 0 && !s.decoupled
    ? [addDecayedWeights(s.weightDecay)]
    : [];
  if (name === "sgd") {
    return chain(
      ...l2,
      ...(gc === false ? [] : [centralize({ axes: gc })]),
      ...(probe === undefined ? [] : [probe]),
      trace(Number(s.options.momentum ?? 0.9)),
      scaleByLearningRate(lr),
    );
  }
  const entry =
    (OPTIMIZERS as Record<string, { make: typeof OPTIMIZERS.sgd.make }>)[name];
  if (entry === undefined) {
    throw new RangeError(`unknown optimizer "${name}"`);
  }
  const tx = entry.make(lr, {
    ...s.options,
    ...(s.decoupled ? { weightDecay: s.weightDecay } : {}),
    ...(gc === false ? {} : { gc }),
  });
  return l2.length === 0 ? tx : chain(...l2, tx);
}

export type { TestTensors };

/** Builds the test tensors of `set`. */
export function testTensors(set: ImageSet): TestTensors {
  const [b] = [...batches(set, { batchSize: set.count, shuffle: false })];
  const labels = tf.tidy(() =>
    tf.argMax(b!.ys, -1).asType("int32")
  ) as tf.Tensor1D;
  b!.ys.dispose();
  return { xs: b!.xs, labels };
}

/** Options of {@linkcode train}. */
export interface TrainOptions {
  model: tf.LayersModel;
  tx: GradientTransformation;
  train: ImageSet;
  test: TestTensors;
  epochs: number;
  batchSize: number;
  seed: number;
  onStep?: OnStep;
  /** The tap's sink and the layers it reads, for Fig. 4. */
  taps?: { layers: string[]; sink: tf.Tensor[][] };
  /** A validation set, evaluated after each epoch. */
  val?: TestTensors;
  /** Record per-unit weight means of these layers, for Fig. 3. */
  meansOf?: string[];
  /** GC axes, to compute per-unit means over. */
  axes?: ReturnType<typeof gcAxes>;
}

async function unitMeans(
  model: tf.LayersModel,
  layers: readonly string[],
  axes: ReturnType<typeof gcAxes>,
): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const layer of layers) {
    const w = model.getLayer(layer).trainableWeights.find((v) =>
      v.shape.length >= 2
    )!;
    const ax = axes(w.name, w.shape as number[]) ?? [];
    const m = tf.tidy(() => tf.mean(w.read(), ax));
    out[layer] = Array.from(await m.data());
    m.dispose();
  }
  return out;
}

/** A layer's name without the model prefix: `r3_cnn/conv1` -> `conv1`. */
function part(layer: string): string {
  return layer.slice(layer.indexOf("/") + 1);
}

/** Trains `model` with `tx`; disposes nothing it was given. */
export async function train(o: TrainOptions): Promise<RunResult> {
  const start = performance.now();
  const { model, tx } = o;
  const { params, variables } = modelParams(model);
  const vars = Object.values(variables);
  const init = o.meansOf && o.axes
    ? await unitMeans(model, o.meansOf, o.axes)
    : undefined;
  let state = initState(tx, params);
  const loader = batches(o.train, {
    batchSize: o.batchSize,
    seed: o.seed,
    shuffle: true,
  });
  const loss: number[] = [];
  const testAccuracy: number[] = [];
  const valAccuracy: number[] = [], valLoss: number[] = [];
  let steps = 0;
  let lastRead = performance.now();
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      let sum: tf.Scalar = tf.scalar(0);
      let n = 0;
      for (const { xs, ys } of loader.epoch(epoch)) {
        const step = trainStep(tx, state, {
          loss: () =>
            tf.losses.softmaxCrossEntropy(
              ys,
              model.apply(xs, { training: true }) as tf.Tensor,
            ) as tf.Scalar,
          variables: vars,
        });
        state = step.state;
        const next = tf.add(sum, step.loss) as tf.Scalar;
        sum.dispose();
        sum = next;
        tf.dispose([xs, ys]);
        n++;
        steps++;
        if (o.onStep) {
          let value: number | undefined;
          // Reading a loss waits for the device: only about once a second.
          if (performance.now() - lastRead > 1000) {
            value = (await step.loss.data())[0];
            lastRead = performance.now();
          }
          o.onStep({
            epoch,
            epochs: o.epochs,
            step: n,
            steps: loader.length,
            ...(value === undefined ? {} : { loss: value }),
          });
        }
        step.loss.dispose();
      }
      loss.push((await sum.data())[0]! / n);
      sum.dispose();
      const chunk = Math.max(256, o.batchSize);
      testAccuracy.push((await evaluate(model, o.test, chunk)).accuracy);
      if (o.val) {
        const v = await evaluate(model, o.val, chunk);
        valAccuracy.push(v.accuracy);
        valLoss.push(v.loss);
      }
      o.onStep?.({
        epoch,
        epochs: o.epochs,
        step: n,
        steps: loader.length,
        loss: loss.at(-1)!,
      });
    }
  } finally {
    disposeState(state);
  }
  const result: RunResult = {
    loss,
    testAccuracy,
    steps,
    seconds: 0,
    backend: tf.getBackend(),
    ...(o.val ? { valAccuracy, valLoss } : {}),
  };
  if (o.taps) {
    const stats: Record<string, { norm: number[]; max: number[] }> = {};
    const keys = o.taps.layers.map(part);
    for (const k of keys) stats[k] = { norm: [], max: [] };
    for (const row of o.taps.sink) {
      for (let i = 0; i < row.length; i++) {
        const [norm, max] = await row[i]!.data();
        stats[keys[i]!]!.norm.push(norm!);
        stats[keys[i]!]!.max.push(max!);
      }
      tf.dispose(row);
    }
    o.taps.sink.length = 0;
    result.gradStats = stats;
  }
  if (init && o.meansOf && o.axes) {
    const fin = await unitMeans(model, o.meansOf, o.axes);
    result.unitMeans = {};
    for (const l of o.meansOf) {
      result.unitMeans[part(l)] = { init: init[l]!, final: fin[l]! };
    }
  }
  result.seconds = (performance.now() - start) / 1000;
  return result;
}

/** Everything a table run needs besides the run itself. */
export interface TableRunContext {
  o: ReproOptions;
  train: ImageSet;
  test: TestTensors;
  /** The validation set (table runs). */
  val?: TestTensors;
  onStep?: OnStep;
}

/**
 * One table run: architecture x optimizer x GC x learning rate x seed, the
 * rate following a cosine from `spec.lr` to 0 over the run's steps.
 */
export async function tableRun(
  ctx: TableRunContext,
  spec: Omit<TableSpec, "kind" | "id">,
): Promise<RunResult> {
  const { o } = ctx;
  const model = buildModel(spec.arch, o, spec.seed);
  try {
    const axes = gcAxes(model);
    const epochs = epochsFor(o, spec.arch);
    const stepsTotal = epochs *
      Math.ceil(ctx.train.count / o.batchSize);
    const lr = settingsOf(spec.optimizer).schedule === false
      ? spec.lr
      : cosineDecaySchedule(spec.lr, { decaySteps: stepsTotal });
    // Fig. 3 and 4 come from SGDM on the convnets (the paper's ResNet50 runs).
    const tapped = spec.optimizer === "sgd" && spec.arch !== "mlp";
    const layers = tapped ? tappedLayers(model) : [];
    const sink: tf.Tensor[][] = [];
    const probe = tapped
      ? tap(layers.map((l) => kernelName(model, l)), sink)
      : undefined;
    const tx = reproOptimizer(
      spec.optimizer,
      spec.gc ? axes : false,
      lr,
      probe,
    );
    return await train({
      model,
      tx,
      train: ctx.train,
      test: ctx.test,
      ...(ctx.val ? { val: ctx.val } : {}),
      epochs,
      batchSize: o.batchSize,
      seed: spec.seed,
      ...(ctx.onStep ? { onStep: ctx.onStep } : {}),
      ...(tapped
        ? {
          taps: { layers, sink },
          meansOf: model.layers.filter((l) =>
            l.trainableWeights.some((w) => w.shape.length >= 2)
          ).map((l) => l.name),
          axes,
        }
        : {}),
    });
  } finally {
    model.dispose();
  }
}

/** The fine-tuning model: a fresh 5-class head on the pretrained backbone. */
export function transferModel(
  pretrained: tf.LayersModel,
  o: ReproOptions,
  seed: number,
): tf.LayersModel {
  const model = buildModel("cnn", o, seed + 1000, 5, "ft");
  const head = tappedLayers(model)[1]!;
  const suffix = (n: string) => n.slice(n.indexOf("/"));
  const byPart = new Map(
    pretrained.layers.map((l) => [suffix(l.name), l] as const),
  );
  for (const layer of model.layers) {
    if (layer.name === head) continue;
    const src = byPart.get(suffix(layer.name));
    if (src && src.weights.length > 0) layer.setWeights(src.getWeights());
  }
  return model;
}

/** Fine-tuning (paper 5.5): per-layer learning rates from `@centra/match`. */
export async function finetuneRun(
  ctx: TableRunContext,
  pretrained: tf.LayersModel,
  spec: { gc: boolean; seed: number },
): Promise<RunResult> {
  const { o } = ctx;
  const model = transferModel(pretrained, o, spec.seed);
  try {
    const steps = o.finetuneEpochs * Math.ceil(ctx.train.count / o.batchSize);
    // The paper: x0.1 at epochs 50 and 80 of 100.
    const at = stepBoundaries(steps, [0.5, 0.8]);
    const tx = fineTuning(model, {
      head: byLayer(tappedLayers(model)[1]!),
      headLearningRate: piecewiseConstantSchedule(0.1, at),
      backboneLearningRate: piecewiseConstantSchedule(0.01, at),
      gc: spec.gc,
    });
    return await train({
      model,
      tx,
      train: ctx.train,
      test: ctx.test,
      epochs: o.finetuneEpochs,
      batchSize: o.batchSize,
      seed: spec.seed,
      ...(ctx.onStep ? { onStep: ctx.onStep } : {}),
    });
  } finally {
    model.dispose();
  }
}

/** Pretraining on classes 0-4: SGDM (Table 2 settings, no GC). */
export async function pretrainRun(
  ctx: TableRunContext,
  seed: number,
): Promise<{ model: tf.LayersModel; result: RunResult }> {
  const { o } = ctx;
  const model = buildModel("cnn", o, seed, 5, "pre");
  const steps = o.pretrainEpochs * Math.ceil(ctx.train.count / o.batchSize);
  const lr = piecewiseConstantSchedule(
    settingsOf("sgd").lr,
    stepBoundaries(steps),
  );
  const result = await train({
    model,
    tx: reproOptimizer("sgd", false, lr),
    train: ctx.train,
    test: ctx.test,
    epochs: o.pretrainEpochs,
    batchSize: o.batchSize,
    seed,
    ...(ctx.onStep ? { onStep: ctx.onStep } : {}),
  });
  return { model, result };
}

/**
 * The learning-rate range test (`lrRangeTest` from `@centra/tfjs`, Smith
 * 2017) of one cell on seed 1's model: the cell's optimizer with an injected
 * learning rate swept from 1e-3 to 1e2 times its grid centre, on shuffled
 * training batches of the table's batch size.
 */
export async function lrRangeRun(
  ctx: TableRunContext,
  spec: Omit<LrRangeSpec, "kind" | "id">,
): Promise<RunResult> {
  const start = performance.now();
  const { o } = ctx;
  const model = buildModel(spec.arch, o, 1, ctx.train.numClasses, "lrr");
  const axes = gcAxes(model);
  const optimizer = new ChainOptimizer(
    injectHyperparams(
      (hp) =>
        reproOptimizer(spec.optimizer, spec.gc ? axes : false, hp.learningRate),
      { learningRate: settingsOf(spec.optimizer).lr },
    ),
  );
  const n = Math.min(ctx.train.count, o.lrRangeSteps * o.batchSize);
  const [b] = [
    ...batches(ctx.train, {
      batchSize: ctx.train.count,
      shuffle: true,
      seed: 1,
    }),
  ];
  const xs = b!.xs.slice(0, n), ys = b!.ys.slice(0, n);
  tf.dispose([b!.xs, b!.ys]);
  try {
    model.compile({
      optimizer,
      loss: (yTrue: tf.Tensor, yPred: tf.Tensor) =>
        tf.losses.softmaxCrossEntropy(yTrue, yPred),
    });
    const r = await lrRangeTest(model, { xs, ys }, {
      ...lrRangeSpan(spec.optimizer),
      steps: o.lrRangeSteps,
      batchSize: o.batchSize,
    });
    return {
      loss: r.smoothed,
      testAccuracy: [],
      steps: r.learningRates.length,
      seconds: (performance.now() - start) / 1000,
      backend: tf.getBackend(),
      lrRange: r,
    };
  } finally {
    tf.dispose([xs, ys]);
    optimizer.dispose();
    model.dispose();
  }
}
