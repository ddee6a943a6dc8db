// What the benchmarks share: parameter shapes (tfjs layouts) of the models
// they step over, random variables and gradients of those shapes, rows
// (optimizers set up over them), and timing that visits the rows in turn.
import * as tf from "@tensorflow/tfjs";
import {
  disposeState,
  type GradientTransformation,
  initState,
  runStep,
} from "@centra/chain";
import { resnet18, resnet50, smallCnn } from "@centra/zoo";

/** The models the benchmarks step over: @centra/zoo's, at full size. */
export const MODELS = {
  "small CNN": () => smallCnn(),
  "ResNet-18": () => resnet18(),
  "ResNet-50": () => resnet50(),
} as const;

/** One of {@linkcode MODELS}. */
export type ModelName = keyof typeof MODELS;

/**
 * The trainable parameter shapes of one of {@linkcode MODELS}, keyed by
 * weight name: the model is built, read and freed.
 */
export function shapesOf(name: ModelName): Record<string, number[]> {
  const model = MODELS[name]();
  const shapes = Object.fromEntries(
    model.trainableWeights.map((w) => [w.originalName, w.shape as number[]]),
  );
  model.dispose();
  return shapes;
}

/** The number of parameters in a shape table. */
export function countParams(shapes: Record<string, number[]>): number {
  return Object.values(shapes).reduce(
    (n, s) => n + s.reduce((a, b) => a * b, 1),
    0,
  );
}

let uid = 0;

/** Variables of these shapes, N(0, 0.05), under a fresh name prefix. */
export function makeVars(
  shapes: Record<string, number[]>,
): Record<string, tf.Variable> {
  const id = `bench${uid++}`;
  const out: Record<string, tf.Variable> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    out[name] = tf.variable(
      tf.randomNormal(shape, 0, 0.05),
      true,
      `${id}/${name}`,
    );
  }
  return out;
}

/** Random gradients N(0, 0.01) for these variables, keyed the same way. */
export function makeGrads(
  vars: Record<string, tf.Variable>,
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(vars)) {
    out[name] = tf.randomNormal(v.shape, 0, 0.01);
  }
  return out;
}

/**
 * Ends a step the same way for every row: waits until the device has done
 * all the work submitted so far, by reading back the largest variable. (A
 * small one would not do on webgpu: tfjs runs ops on tensors under 1,000
 * elements on the cpu when their data is there, so reading one can return
 * before the queued GPU work of the others has run.)
 */
export async function settle(
  vars: Record<string, tf.Variable>,
): Promise<void> {
  let largest: tf.Variable | undefined;
  for (const v of Object.values(vars)) {
    if (largest === undefined || v.size > largest.size) largest = v;
  }
  await largest?.data();
}

/** One step of a row: update and apply. */
export type Step = () => void;

/** A row set up over a model's tensors. */
export interface Made {
  step: Step;
  dispose(): void;
  /**
   * Ends a sample for a row whose work tfjs does not see (the roofline's
   * own dispatches); by default {@linkcode settle} on the model's variables.
   */
  settle?: () => Promise<void>;
}

/** A row of a benchmark table: an optimizer set up over a model's tensors. */
export interface Row {
  name: string;
  /** Builds the row's step over the model's variables and gradients. */
  setup(
    vars: Record<string, tf.Variable>,
    grads: Record<string, tf.Tensor>,
  ): Made;
}

/** A row that steps a centra chain with runStep (its `step` when it has one). */
export function centraRow(
  name: string,
  make: () => GradientTransformation<unknown>,
): Row {
  return {
    name,
    setup(vars, grads) {
      const tx = make();
      let state = initState(tx, vars);
      return {
        step() {
          state = runStep(tx, grads, state, vars);
        },
        dispose: () => void disposeState(state),
      };
    },
  };
}

/** A row that steps one of tfjs's own optimizers. */
export function builtinRow(name: string, make: () => tf.Optimizer): Row {
  return {
    name,
    setup(vars, grads) {
      const opt = make();
      const named: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(vars)) named[v.name] = grads[k]!;
      return {
        step: () => opt.applyGradients(named),
        dispose: () => opt.dispose(),
      };
    },
  };
}

/** The median of a non-empty list. */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1
    ? s[(s.length - 1) / 2]!
    : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * A full garbage collection where the runtime allows one (`deno bench
 * --v8-flags=--expose-gc`, as the bench tasks run): called before each
 * sample, so that one row's garbage (an op-by-op step leaves hundreds of
 * megabytes) is not collected, or its memory returned, in the next row's
 * time.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Steps each row runs before it is timed (see interleavedMedians). */
export const WARM_UP_STEPS = 2;

/**
 * Median milliseconds per step of each row, over `rounds` rounds that visit
 * the rows in turn (so that a machine whose load drifts slows every row
 * alike), each sample `steps` steps ended by {@linkcode settle} (or the
 * row's own `settle`), after {@linkcode collectGarbage}; every row first
 * runs {@linkcode WARM_UP_STEPS} steps untimed.
 */
export async function interleavedMedians(
  made: readonly Pick<Made, "step" | "settle">[],
  vars: Record<string, tf.Variable>,
  rounds: number,
  steps: number,
): Promise<number[]> {
  const end = (m: Pick<Made, "settle">) => m.settle?.() ?? settle(vars);
  // warm up: shaders, kernels, state, and the fused cpu steps' reuse of
  // their freed output arrays, which a training loop is in from its third
  // step on (a step's outputs come free when the next step replaces them)
  for (const m of made) {
    for (let k = 0; k < WARM_UP_STEPS; k++) m.step();
    await end(m);
  }
  const times: number[][] = made.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, m] of made.entries()) {
      collectGarbage();
      const t0 = performance.now();
      for (let k = 0; k < steps; k++) m.step();
      await end(m);
      times[i]!.push((performance.now() - t0) / steps);
    }
  }
  return times.map(median);
}

/**
 * Printed after an interleaved table: which of the bench's two tables is the
 * result, and why deno bench's own numbers below differ.
 */
export const TWO_TABLES_NOTE =
  "The table above is the result: each median comes from rounds that visit " +
  "every row in turn, so load that drifts during the run slows all rows " +
  "alike. deno bench's table below times the same rows one block after " +
  'another and reports means (and its summary\'s "x faster/slower" from ' +
  "them), so on a shared or throttling machine its ratios can differ from " +
  "these by tens of percent; read them as a second opinion on the order, not " +
  "as the figure to quote.\n";
