/**
 * Optimizers, each nothing but a {@linkcode chain} of transforms, with
 * Gradient Centralization as an option.
 *
 * @module
 */
import { guard } from "./_guard.ts";
import { checkOptions, checkPlainHyper, type OptionKind } from "./_check.ts";
import { addDecayedWeights } from "./add_decayed_weights.ts";
import { centralize, convGcAxes, defaultGcAxes } from "./centralize.ts";
import { chain } from "./chain.ts";
import { validator } from "./fuser.ts";
import { scaleByLearningRate } from "./scale.ts";
import { scaleByAdam, type ScaleByAdamOptions } from "./scale_by_adam.ts";
import { scaleByRms, scaleByRss } from "./scale_by_rms.ts";
import { trace } from "./trace.ts";
export type { OptionKind };
import type {
  AxesResolver,
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "./types.ts";

/** Gradient Centralization options shared by every optimizer. */
export interface GcOptions {
  /**
   * `true`: GC on every tensor of rank 2 or more (conv and FC kernels);
   * `"conv"`: on convolution kernels (rank 3 or more) only, the authors'
   * GCC; a resolver (such as `@centra/match`'s `gcAxes(model)`): exact axes
   * per parameter; `false` (default): off.
   */
  gc?: boolean | "conv" | AxesResolver;
  /**
   * `"gradient"` (default): centralize the gradient (with L2 decay, `g + λw`)
   * before the optimizer's scaling, as the paper's algorithms; `"update"`:
   * centralize the scaled update instead, the authors' variant for adaptive
   * methods.
   */
  gcOn?: "gradient" | "update";
}

const GC_KINDS = { gc: "gc", gcOn: "gcOn" } as const;
const MOMENTUM_KINDS = {
  momentum: "hyper",
  nesterov: "boolean",
  weightDecay: "hyper",
  weightDecayMask: "mask",
} as const;
const ADAM_KINDS = {
  ...GC_KINDS,
  b1: "hyper",
  b2: "hyper",
  eps: "hyper",
  epsRoot: "hyper",
  amsgrad: "boolean",
  weightDecay: "hyper",
  weightDecayMask: "mask",
} as const;

/**
 * The options each optimizer alias takes, and the kind of each: the one
 * schema that the aliases check their options against (an unknown key or a
 * value of the wrong kind is a `TypeError` naming it) and that
 * `ChainOptimizer.from` in `@centra/tfjs` reads for the JSON form.
 *
 * Kinds: `"hyper"` a number or scalar tensor, `"number"`, `"boolean"`,
 * `"mask"` a record of booleans or a function, `"gc"` true, false, `"conv"`
 * or an axes resolver, `"gcOn"` `"gradient"` or `"update"`.
 *
 * @example
 * ```ts
 * import { OPTIMIZER_OPTIONS, sgd } from "@centra/chain/optimizers";
 * import assert from "node:assert/strict";
 *
 * assert.equal(OPTIMIZER_OPTIONS.sgd.momentum, "hyper");
 * assert.throws(() => sgd(0.1, { momentun: 0.9 } as never), TypeError);
 * ```
 */
export const OPTIMIZER_OPTIONS: Readonly<{
  sgd: Readonly<Record<string, OptionKind>>;
  sgdw: Readonly<Record<string, OptionKind>>;
  adam: Readonly<Record<string, OptionKind>>;
  adamw: Readonly<Record<string, OptionKind>>;
  adagrad: Readonly<Record<string, OptionKind>>;
  rmsprop: Readonly<Record<string, OptionKind>>;
}> = Object.freeze({
  sgd: Object.freeze({ ...GC_KINDS, ...MOMENTUM_KINDS }),
  sgdw: Object.freeze({ ...GC_KINDS, ...MOMENTUM_KINDS }),
  adam: Object.freeze({ ...ADAM_KINDS }),
  adamw: Object.freeze({ ...ADAM_KINDS }),
  adagrad: Object.freeze({
    ...GC_KINDS,
    initialAccumulatorValue: "number",
    eps: "hyper",
  }),
  rmsprop: Object.freeze({
    ...GC_KINDS,
    decay: "hyper",
    eps: "hyper",
    initialScale: "number",
    centered: "boolean",
    momentum: "hyper",
    nesterov: "boolean",
  }),
});

/** The GC transform an option asks for, or `null` when it is off. */
function gcFrom(
  where: string,
  opts: GcOptions,
): [GradientTransformation<unknown> | null, "gradient" | "update"] {
  const { gc = false, gcOn = "gradient" } = opts;
  if (gcOn !== "gradient" && gcOn !== "update") {
    throw new TypeError(
      `${where}: gcOn must be "gradient" or "update", got ${String(gcOn)}`,
    );
  }
  if (gc === false) return [null, gcOn];
  if (gc === true) return [centralize({ axes: defaultGcAxes }), gcOn];
  if (gc === "conv") return [centralize({ axes: convGcAxes }), gcOn];
  if (typeof gc === "function") return [centralize({ axes: gc }), gcOn];
  throw new TypeError(
    `${where}: gc must be true, false, "conv" or an axes resolver, got ${
      String(gc)
    }`,
  );
}

/** Whether a hyperparameter switches its transform on (tensors always do). */
function on(h: Hyper | undefined): h is Hyper {
  return h !== undefined && (typeof h !== "number" || h > 0);
}

function checkMomentum(
  where: string,
  momentum: Hyper | undefined,
  nesterov: boolean,
): void {
  checkPlainHyper(where, "momentum", momentum, { min: 0, max: 1 });
  if (nesterov && !on(momentum)) {
    throw new RangeError(
      `${where}: nesterov needs momentum > 0, got ${momentum}`,
    );
  }
}

/** The entries of `o` named in `keys` that are defined (for exact optional types). */
function defined<T extends object, K extends keyof T>(
  o: T,
  keys: readonly K[],
): Pick<T, K> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out as Pick<T, K>;
}

function build(
  where: string,
  opts: GcOptions,
  parts: {
    before?: (GradientTransformation<unknown> | false)[];
    scaling: (GradientTransformation<unknown> | false)[];
    after?: (GradientTransformation<unknown> | false)[];
  },
): GradientTransformation<unknown[]> {
  const [gc, gcOn] = gcFrom(where, opts);
  const list = [
    validator(guard(where)),
    ...(parts.before ?? []),
    gcOn === "gradient" && gc,
    ...parts.scaling,
    gcOn === "update" && gc,
    ...(parts.after ?? []),
  ].filter((t): t is GradientTransformation<unknown> =>
    t !== false && t !== null
  );
  return chain(...list);
}

/** Options of {@linkcode sgd}. */
export interface SgdOptions extends GcOptions {
  /** Momentum factor (tfjs/PyTorch form, `m = βm + g`). Default 0. */
  momentum?: Hyper;
  /** Nesterov momentum. Default false. */
  nesterov?: boolean;
  /** L2 weight decay: adds `λw` to the gradient before GC and momentum (paper 3.4). Default 0. */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * SGD, with momentum, L2 weight decay and GC as options. With `momentum`
 * and `gc: true` this is the paper's SGDM + GC (Algorithm 1, with PyTorch's
 * undampened momentum as in the authors' code); with `weightDecay`, GC acts
 * on `g + λw` (Yong et al. 2020, 3.4). Matches `tf.train.sgd` and
 * `tf.train.momentum` with GC off.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Momentum, Nesterov, weight decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode OPTIMIZER_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example SGDM + GC
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { applyUpdates, initState, runUpdate, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const w = tf.variable(tf.randomNormal([4, 3]), true, "sgd_doc/kernel");
 * const tx = sgd(0.1, { momentum: 0.9, gc: true });
 * let state = initState(tx, { [w.name]: w });
 * const before = w.mean(0).dataSync();
 * for (let i = 0; i < 3; i++) {
 *   const [u, next] = runUpdate(tx, { [w.name]: tf.randomNormal([4, 3]) }, state, { [w.name]: w });
 *   state = next;
 *   applyUpdates({ [w.name]: w }, u);
 * }
 * // Theorem 4.1: each unit's weight mean is unchanged
 * const after = w.mean(0).dataSync();
 * before.forEach((m, i) => assert.ok(Math.abs(m - after[i]!) < 1e-5));
 * ```
 */
export function sgd(
  learningRate: ScalarOrSchedule,
  options: SgdOptions = {},
): GradientTransformation<unknown[]> {
  const where = "sgd";
  checkOptions(where, options, OPTIMIZER_OPTIONS.sgd);
  const { momentum, nesterov = false, weightDecay, weightDecayMask } = options;
  checkMomentum(where, momentum, nesterov);
  checkPlainHyper(where, "weightDecay", weightDecay, { min: 0 });
  return build(where, options, {
    before: [
      on(weightDecay) &&
      addDecayedWeights(weightDecay, decayOptions(weightDecayMask)),
    ],
    scaling: [on(momentum) && trace(momentum, { nesterov })],
    after: [scaleByLearningRate(learningRate)],
  });
}

function decayOptions(mask: Mask | undefined): { mask?: Mask } {
  return mask === undefined ? {} : { mask };
}

/** Options of {@linkcode sgdw}. */
export interface SgdwOptions extends GcOptions {
  /** Momentum factor. Default 0. */
  momentum?: Hyper;
  /** Nesterov momentum. Default false. */
  nesterov?: boolean;
  /** Decoupled weight decay λ: `w ← w - lr (m + λw)`. Default 1e-4. */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * SGD with decoupled weight decay (SGDW): GC acts on the raw gradient, and
 * `λw` is added after momentum (Loshchilov and Hutter, "Decoupled Weight
 * Decay Regularization", ICLR 2019, arXiv:1711.05101).
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Momentum, decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode OPTIMIZER_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, runUpdate, sgdw } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.tensor1d([10]) };
 * const tx = sgdw(0.1, { weightDecay: 0.5 });
 * const [u] = runUpdate(tx, { w: tf.tensor1d([0]) }, initState(tx, params), params);
 * assert.ok(Math.abs(u.w!.dataSync()[0]! + 0.5) < 1e-6); // -0.1 * 0.5 * 10
 * ```
 */
export function sgdw(
  learningRate: ScalarOrSchedule,
  options: SgdwOptions = {},
): GradientTransformation<unknown[]> {
  const where = "sgdw";
  checkOptions(where, options, OPTIMIZER_OPTIONS.sgdw);
  const { momentum, nesterov = false, weightDecay = 1e-4, weightDecayMask } =
    options;
  checkMomentum(where, momentum, nesterov);
  checkPlainHyper(where, "weightDecay", weightDecay, { min: 0 });
  return build(where, options, {
    scaling: [on(momentum) && trace(momentum, { nesterov })],
    after: [
      on(weightDecay) &&
      addDecayedWeights(weightDecay, decayOptions(weightDecayMask)),
      scaleByLearningRate(learningRate),
    ],
  });
}

/** Options of {@linkcode adam}. */
export interface AdamOptions extends ScaleByAdamOptions, GcOptions {
  /** L2 weight decay added to the gradient (before GC). Default 0. For decoupled decay use {@linkcode adamw}. */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * Adam (paper Algorithm 2 with `gc: true`). Matches `tf.train.adam` with GC
 * off when given tfjs's `eps: 1e-7`; the default is PyTorch's and optax's
 * 1e-8.
 *
 * Reference: D. Kingma, J. Ba, "Adam: A Method for Stochastic
 * Optimization", ICLR 2015, arXiv:1412.6980.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, eps, AMSGrad, L2 decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode OPTIMIZER_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adam, initState, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2]) };
 * const tx = adam(0.01);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([3, -0.5]) }, initState(tx, params), params);
 * // Adam's first step has size lr in every coordinate
 * assert.ok(u.w!.abs().sub(0.01).abs().max().dataSync()[0]! < 1e-6);
 * ```
 */
export function adam(
  learningRate: ScalarOrSchedule,
  options: AdamOptions = {},
): GradientTransformation<unknown[]> {
  const where = "adam";
  checkOptions(where, options, OPTIMIZER_OPTIONS.adam);
  const { weightDecay, weightDecayMask } = options;
  checkPlainHyper(where, "weightDecay", weightDecay, { min: 0 });
  return build(where, options, {
    before: [
      on(weightDecay) &&
      addDecayedWeights(weightDecay, decayOptions(weightDecayMask)),
    ],
    scaling: [scaleByAdam(adamOptions(options))],
    after: [scaleByLearningRate(learningRate)],
  });
}

function adamOptions(o: ScaleByAdamOptions): ScaleByAdamOptions {
  return defined(o, ["b1", "b2", "eps", "epsRoot", "amsgrad"]);
}

/** Options of {@linkcode adamw}. */
export interface AdamwOptions extends ScaleByAdamOptions, GcOptions {
  /** Decoupled weight decay λ: `w ← w - lr (adam(g) + λw)`. Default 1e-4 (optax). */
  weightDecay?: Hyper;
  /** Which parameters decay (default all). */
  weightDecayMask?: Mask;
}

/**
 * AdamW: Adam with decoupled weight decay; GC acts on the raw gradient
 * (Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR
 * 2019, arXiv:1711.05101).
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Moments, eps, decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode OPTIMIZER_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adamw, initState, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.tensor1d([2]) };
 * const tx = adamw(0.1, { weightDecay: 0.5 });
 * const [u] = runUpdate(tx, { w: tf.tensor1d([0]) }, initState(tx, params), params);
 * assert.ok(Math.abs(u.w!.dataSync()[0]! + 0.1) < 1e-6); // -0.1 * 0.5 * 2
 * ```
 */
export function adamw(
  learningRate: ScalarOrSchedule,
  options: AdamwOptions = {},
): GradientTransformation<unknown[]> {
  const where = "adamw";
  checkOptions(where, options, OPTIMIZER_OPTIONS.adamw);
  const { weightDecay = 1e-4, weightDecayMask } = options;
  checkPlainHyper(where, "weightDecay", weightDecay, { min: 0 });
  return build(where, options, {
    scaling: [scaleByAdam(adamOptions(options))],
    after: [
      on(weightDecay) &&
      addDecayedWeights(weightDecay, decayOptions(weightDecayMask)),
      scaleByLearningRate(learningRate),
    ],
  });
}

/** Options of {@linkcode adagrad}. */
export interface AdagradOptions extends GcOptions {
  /** Initial sum of squares. Default 0.1 (tfjs, Keras, optax). */
  initialAccumulatorValue?: number;
  /** Added inside the square root. Default 1e-7 (tfjs, optax). */
  eps?: Hyper;
}

/**
 * Adagrad; matches `tf.train.adagrad` with GC off.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Initial accumulator, eps and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode OPTIMIZER_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adagrad, initState, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([1]) };
 * const tx = adagrad(1, { initialAccumulatorValue: 0, eps: 0 });
 * const [u] = runUpdate(tx, { w: tf.tensor1d([5]) }, initState(tx, params), params);
 * assert.equal(u.w!.dataSync()[0], -1);
 * ```
 */
export function adagrad(
  learningRate: ScalarOrSchedule,
  options: AdagradOptions = {},
): GradientTransformation<unknown[]> {
  checkOptions("adagrad", options, OPTIMIZER_OPTIONS.adagrad);
  const rss = defined(options, ["initialAccumulatorValue", "eps"]);
  return build("adagrad", options, {
    scaling: [scaleByRss(rss)],
    after: [scaleByLearningRate(learningRate)],
  });
}

/** Options of {@linkcode rmsprop}. */
export interface RmspropOptions extends GcOptions {
  /** Decay of the mean square. Default 0.9. */
  decay?: Hyper;
  /** Added inside the square root. Default 1e-8 (PyTorch; tfjs uses 1e-7). */
  eps?: Hyper;
  /** Initial mean square. Default 0. */
  initialScale?: number;
  /** Centred RMSProp. Default false. */
  centered?: boolean;
  /** Momentum applied after the learning rate (tfjs's form). Default 0. */
  momentum?: Hyper;
  /** Nesterov momentum. Default false. */
  nesterov?: boolean;
}

/**
 * RMSProp; matches `tf.train.rmsprop` (with `eps: 1e-7`) with GC off: the
 * learning rate is applied before momentum, as tfjs and optax do.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Decay, eps, centring, momentum and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode OPTIMIZER_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, rmsprop, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([1]) };
 * const tx = rmsprop(0.01, { decay: 0.75, eps: 0 });
 * const [u] = runUpdate(tx, { w: tf.tensor1d([2]) }, initState(tx, params), params);
 * assert.ok(Math.abs(u.w!.dataSync()[0]! + 0.02) < 1e-7);
 * ```
 */
export function rmsprop(
  learningRate: ScalarOrSchedule,
  options: RmspropOptions = {},
): GradientTransformation<unknown[]> {
  const where = "rmsprop";
  checkOptions(where, options, OPTIMIZER_OPTIONS.rmsprop);
  const { momentum, nesterov = false } = options;
  checkMomentum(where, momentum, nesterov);
  const rms = defined(options, [
    "decay",
    "eps",
    "initialScale",
    "centered",
  ]);
  return build(where, options, {
    scaling: [scaleByRms(rms)],
    after: [
      scaleByLearningRate(learningRate),
      on(momentum) && trace(momentum, { nesterov }),
    ],
  });
}
