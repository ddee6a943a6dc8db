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
 * before the queued GPU work of the others has run.) On the cpu and wasm
 * backends, whose kernels have finished when the op returns, it reads
 * nothing: a training loop does not read its weights back every step, and
 * a weight read out is one the fused cpu step may no longer write in place
 * (`_cpu_pool.ts`), so each sample would pay a fresh array for the largest
 * weight (95% of the small CNN's parameters, 20% of ResNet-18's).
 */
export async function settle(
  vars: Record<string, tf.Variable>,
): Promise<void> {
  if (SYNCHRONOUS.has(tf.getBackend())) return;
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
  /**
   * `false` for a row that steps no variable and reads only their sizes
   * (the roofline): {@linkcode setUpApart} gives it the shared variables,
   * not a copy of its own.
   */
  stepsWeights?: boolean;
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

/**
 * Sets each row up on its own copy of `vars` (a `settle` that reads its own
 * copy, unless it has one; `dispose` frees the copy too; a row that steps
 * no weights gets `vars` themselves), as a training run
 * owns its model. Rows that stepped shared variables would each replace the
 * weights the others made, and a fused cpu step whose newest weights
 * someone else has disposed lets go of the output arrays it would otherwise
 * write again (`_cpu_pool.ts`): its samples would time fresh arrays, a cost
 * no training loop pays.
 */
export function setUpApart(
  rows: readonly Row[],
  vars: Record<string, tf.Variable>,
  grads: Record<string, tf.Tensor>,
): Made[] {
  return rows.map((row) => {
    if (row.stepsWeights === false) return row.setup(vars, grads);
    const id = `apart${uid++}`;
    const own: Record<string, tf.Variable> = {};
    for (const [k, v] of Object.entries(vars)) {
      const copy = v.clone();
      own[k] = tf.variable(copy, true, `${id}/${k}`);
      copy.dispose();
    }
    const made = row.setup(own, grads);
    return {
      step: made.step,
      settle: made.settle ?? (() => settle(own)),
      dispose() {
        made.dispose();
        tf.dispose(Object.values(own));
      },
    };
  });
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

/** Backends whose kernels run to the end before an op returns. */
const SYNCHRONOUS = new Set(["cpu", "wasm"]);

/**
 * How long a row runs untimed, and how long each timed sample is at least.
 *
 * - **Warm-up**: at least `warmUpSteps` steps and `warmUpMs` milliseconds.
 *   Two steps, so that a fused cpu step reuses its freed output arrays (a
 *   training loop does from its third step on: a step's outputs come free
 *   when the next step replaces them); half a second, so that V8 has
 *   optimized a fast row's JavaScript as it will be in a long run (a fused
 *   step of the small CNN on cpu, under a millisecond, is still getting
 *   faster after its first hundred steps).
 * - **Samples**: at least the caller's steps and, on a synchronous backend
 *   (cpu, wasm), `sampleMs` milliseconds. Each sample follows a full
 *   garbage collection, after which a fast step runs slower for a while; a
 *   training loop collects that way rarely, so a sample of a fast row spans
 *   many steps, as a real run's would. (On webgpu the loop's own time is
 *   only the submission's, so samples are counted in steps there.)
 */
export const PACE = { warmUpSteps: 2, warmUpMs: 500, sampleMs: 50 };

/** {@linkcode PACE} for a smoke run: it checks that a bench runs, no more. */
export const SMOKE_PACE = { warmUpSteps: 2, warmUpMs: 0, sampleMs: 0 };

/**
 * Median milliseconds per step of each row, over `rounds` rounds that visit
 * the rows in turn (so that a machine whose load drifts slows every row
 * alike), each sample at least `steps` steps (and as `pace` says) ended by
 * {@linkcode settle} (or the row's own `settle`), after
 * {@linkcode collectGarbage}; every row first runs untimed as `pace` says.
 */
export async function interleavedMedians(
  made: readonly Pick<Made, "step" | "settle">[],
  vars: Record<string, tf.Variable>,
  rounds: number,
  steps: number,
  pace: typeof PACE = PACE,
): Promise<number[]> {
  const end = (m: Pick<Made, "settle">) => m.settle?.() ?? settle(vars);
  // warm up: shaders, kernels, state, the fused cpu steps' reuse of their
  // output arrays, and V8's optimized code
  for (const m of made) {
    const t0 = performance.now();
    for (
      let k = 0;
      k < pace.warmUpSteps || performance.now() - t0 < pace.warmUpMs;
      k++
    ) {
      m.step();
      await end(m);
    }
  }
  const sampleMs = SYNCHRONOUS.has(tf.getBackend()) ? pace.sampleMs : 0;
  const times: number[][] = made.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, m] of made.entries()) {
      collectGarbage();
      const t0 = performance.now();
      let k = 0;
      while (k < steps || performance.now() - t0 < sampleMs) {
        m.step();
        k++;
      }
      await end(m);
      times[i]!.push((performance.now() - t0) / k);
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
