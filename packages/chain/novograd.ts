/**
 * NovoGrad: stochastic normalized gradient descent with layer-wise second
 * moments (Ginsburg et al. 2019), as a transform
 * ({@linkcode scaleByNovograd}) and as an optimizer ({@linkcode novograd}).
 *
 * @module
 */
import "./tfjs_check.ts";
import * as tf from "@tensorflow/tfjs";
import {
  checkHyperValues,
  checkOptions,
  checkPlainHyper,
  type OptionKind,
  show,
} from "./_check.ts";
import { alias, type GcOptions, MOMENT_KINDS, withGc } from "./_optimizer.ts";
import { fillLike, zeroCount } from "./_per_param.ts";
import {
  checkAgainst,
  checkKnown,
  checkStateMap,
  passOn,
  requireParams,
} from "./_structure.ts";
import type {
  GradientTransformation,
  Hyper,
  Params,
  PerParam,
  ScalarOrSchedule,
  Updates,
} from "./types.ts";

/** Options of {@linkcode scaleByNovograd}. */
export interface ScaleByNovogradOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: Hyper;
  /** Decay of the layer-wise second moment. Default 0.25. */
  b2?: Hyper;
  /** Added to the denominator outside the square root. Default 1e-8 (optax's `scale_by_novograd`). */
  eps?: Hyper;
  /** Added to the second moment inside the square root. Default 0. */
  epsRoot?: Hyper;
  /** Weight decay λ, added to the normalized gradient inside the moment. Default 0. */
  weightDecay?: Hyper;
}

/**
 * State of {@linkcode scaleByNovograd} (optax's): a step count, the first
 * moment per parameter and the second moment per parameter, one scalar each.
 */
export interface ScaleByNovogradState {
  /** Steps taken (float32 scalar). */
  count: tf.Scalar;
  /** The first moment `m`, a tensor like each parameter. */
  mu: PerParam;
  /** The second moment `v`, one scalar per parameter (a layer's, not an element's). */
  nu: PerParam;
}

/**
 * Rescales updates by NovoGrad's rule, per parameter (a layer): with `n =
 * ‖g‖²` the squared norm of the whole tensor, the second moment is `v = n`
 * at the first step and `v ← b2 v + (1 - b2) n` after; the first moment is
 * `m ← b1 m + g / (sqrt(v + epsRoot) + eps) + λ w` (from 0), and the update
 * is `m`. No bias correction. This is optax's `scale_by_novograd`.
 *
 * The second moment is one scalar per parameter, so the state takes about
 * half of Adam's memory; the price is that this stage is not an
 * elementwise one and runs op by op (a fused step runs it between its
 * fused neighbours).
 *
 * Reference: B. Ginsburg, P. Castonguay, O. Hrinchuk, O. Kuchaiev, V.
 * Lavrukhin, R. Leary, J. Li, H. Nguyen, Y. Zhang, J. M. Cohen, "Stochastic
 * Gradient Methods with Layer-wise Adaptive Moments for Training of Deep
 * Networks", 2019, arXiv:1905.11286 (Algorithm 1).
 *
 * @param options Decays, epsilons and weight decay.
 * @returns A transformation with a count, a first moment per parameter and
 * a scalar second moment per parameter.
 * @throws {TypeError} For an unknown option or one of the wrong kind; at a
 * step, for an update whose name or shape the state does not know, or a
 * missing parameter when `weightDecay` is not 0.
 * @throws {RangeError} For a decay outside `[0, 1]` or a negative epsilon or
 * weight decay.
 *
 * @example The first update is g / ‖g‖
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByNovograd } from "@centra/chain/novograd";
 * import assert from "node:assert/strict";
 *
 * const tx = scaleByNovograd({ eps: 0 });
 * const [u, s] = tx.update({ w: tf.tensor1d([3, -4]) }, tx.init({ w: tf.zeros([2]) }));
 * const got = u.w!.dataSync();
 * assert.ok(Math.abs(got[0]! - 0.6) < 1e-7 && Math.abs(got[1]! + 0.8) < 1e-7);
 * assert.equal(s.nu.w!.dataSync()[0], 25); // one scalar: ‖g‖²
 * ```
 */
export function scaleByNovograd(
  options: ScaleByNovogradOptions = {},
): GradientTransformation<ScaleByNovogradState> {
  const where = "scaleByNovograd";
  checkOptions(where, options, NOVOGRAD_KINDS);
  const {
    b1 = 0.9,
    b2 = 0.25,
    eps = 1e-8,
    epsRoot = 0,
    weightDecay = 0,
  } = options;
  checkPlainHyper(where, "b1", b1, { min: 0, max: 1 });
  checkPlainHyper(where, "b2", b2, { min: 0, max: 1 });
  checkPlainHyper(where, "eps", eps, { min: 0 });
  checkPlainHyper(where, "epsRoot", epsRoot, { min: 0 });
  checkPlainHyper(where, "weightDecay", weightDecay, { min: 0 });
  const h: NovogradHypers = { b1, b2, eps, epsRoot, weightDecay };
  const decays = weightDecay !== 0;
  // a positive number eps keeps the denominator positive; otherwise a
  // denominator of 0 (no gradient yet) gives 0, not 0/0
  const guarded = !(typeof eps === "number" && Math.fround(eps) > 0);
  return {
    init(params: Params): ScaleByNovogradState {
      const nu: PerParam = {};
      for (const k of Object.keys(params)) nu[k] = tf.scalar(0, "float32");
      return { count: zeroCount(), mu: fillLike(params), nu };
    },
    update(
      updates: Updates,
      state: ScaleByNovogradState,
      params?: Params,
    ): [Updates, ScaleByNovogradState] {
      checkState(where, updates, state);
      const p = decays ? requireParams(where, updates, params) : undefined;
      checkHyperValues(where, h);
      // tidy walks any nesting of tensors: the typed result is cast through
      const [out, next] = tf.tidy(() =>
        novogradStep(
          updates,
          state,
          h,
          guarded,
          p,
        ) as unknown as tf.TensorContainer
      ) as unknown as [Updates, ScaleByNovogradState];
      passOn(updates, out); // same names and shapes
      return [out, next];
    },
  };
}

/** NovoGrad's hyperparameters, with their defaults filled in. */
type NovogradHypers = Required<ScaleByNovogradOptions>;

/** One step of every tensor (inside a tidy); `p` only when it decays. */
function novogradStep(
  updates: Updates,
  state: ScaleByNovogradState,
  h: NovogradHypers,
  guarded: boolean,
  p: Params | undefined,
): [Updates, ScaleByNovogradState] {
  const out: Updates = {};
  const mu: PerParam = {}, nu: PerParam = {};
  const first = tf.equal(state.count, 0);
  for (const [name, g] of Object.entries(updates)) {
    // a tensor with no elements passes through, its state untouched
    if (g.size === 0) {
      out[name] = g;
      continue;
    }
    const [m, v] = novogradTensor(
      g,
      state.mu[name]!,
      state.nu[name]!,
      first,
      h,
      guarded,
      p?.[name],
    );
    out[name] = m;
    mu[name] = m;
    nu[name] = v;
  }
  const next: ScaleByNovogradState = {
    count: tf.add(state.count, 1) as tf.Scalar,
    mu: { ...state.mu, ...mu },
    nu: { ...state.nu, ...nu },
  };
  return [out, next];
}

/**
 * One tensor's step: its new first moment (which is also the update) and
 * its layer-wise second moment, a scalar (`‖g‖²` on the first step). `w`
 * is the parameter when the step decays.
 */
function novogradTensor(
  g: tf.Tensor,
  mu: tf.Tensor,
  nu: tf.Tensor,
  first: tf.Tensor,
  h: NovogradHypers,
  guarded: boolean,
  w: tf.Tensor | undefined,
): [tf.Tensor, tf.Scalar] {
  const { b1, b2, eps, epsRoot, weightDecay } = h;
  const n = tf.sum(tf.square(g));
  const v = tf.where(
    first,
    n,
    tf.add(tf.mul(b2, nu), tf.mul(tf.sub(1, b2), n)),
  ) as tf.Scalar;
  const denom = tf.add(tf.sqrt(tf.add(v, epsRoot)), eps);
  let step = guarded
    ? tf.where(tf.greater(denom, 0), tf.div(g, denom), tf.zerosLike(g))
    : tf.div(g, denom);
  if (w !== undefined) step = tf.add(step, tf.mul(weightDecay, w));
  return [tf.add(tf.mul(b1, mu), step), v];
}

/** Throws unless `state` is a NovoGrad state that knows every update. */
function checkState(
  where: string,
  updates: Updates,
  state: unknown,
): asserts state is ScaleByNovogradState {
  checkStateMap(where, "the state", state);
  const { count, mu, nu } = state;
  if (!(count instanceof tf.Tensor) || count.rank !== 0) {
    throw new TypeError(
      `${where}: the state does not fit this transformation: its count should be a scalar tensor, got ${
        show(count)
      }`,
    );
  }
  checkAgainst(where, updates, mu as Record<string, tf.Tensor>);
  checkKnown(where, updates, nu as Record<string, unknown>);
  for (const name of Object.keys(updates)) {
    const v = (nu as Record<string, unknown>)[name];
    if (!(v instanceof tf.Tensor) || v.rank !== 0) {
      throw new TypeError(
        `${where}: the second moment of "${name}" should be a scalar tensor, got ${
          show(v)
        } (a state from another transformation?)`,
      );
    }
  }
}

/** The options of {@linkcode scaleByNovograd} and the kind of each. */
const NOVOGRAD_KINDS: Readonly<Record<string, OptionKind>> = {
  ...MOMENT_KINDS,
  weightDecay: "hyper",
};

/**
 * The options {@linkcode novograd} takes and the kind of each (its row of
 * `OPTIMIZER_OPTIONS`): an unknown key or a value of the wrong kind is a
 * `TypeError` naming it.
 */
export const NOVOGRAD_OPTIONS: Readonly<Record<string, OptionKind>> = withGc(
  NOVOGRAD_KINDS,
);

/** Options of {@linkcode novograd}; `eps` defaults to 1e-6 here (optax's `novograd`). */
export interface NovogradOptions extends ScaleByNovogradOptions, GcOptions {}

/**
 * NovoGrad: `chain(scaleByNovograd({ eps: 1e-6 }), scaleByLearningRate(lr))`,
 * as optax's `novograd`: per parameter, `v` tracks `‖g‖²` with `b2` (0.25),
 * `m ← b1 m + g / (sqrt(v) + eps) + λ w` and `w ← w - lr m`. With GC on the
 * gradient (default) the norms and the moment see `Pg`; with `gcOn:
 * "update"` the moment `m` is centralized before the learning rate.
 *
 * Reference: B. Ginsburg et al., "Stochastic Gradient Methods with
 * Layer-wise Adaptive Moments for Training of Deep Networks", 2019,
 * arXiv:1905.11286.
 *
 * @param learningRate A non-negative number or a schedule.
 * @param options Decays, epsilons, weight decay and GC.
 * @returns The optimizer as a chain.
 * @throws {TypeError} For options that are not a plain object, an unknown
 * option or a value of the wrong kind (see {@linkcode NOVOGRAD_OPTIONS}).
 * @throws {RangeError} For a hyperparameter out of its range.
 *
 * @example The first step has norm lr in every parameter
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, novograd, runUpdate } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const params = { w: tf.zeros([2]) };
 * const tx = novograd(0.1);
 * const [u] = runUpdate(tx, { w: tf.tensor1d([30, -40]) }, initState(tx, params), params);
 * const got = u.w!.dataSync();
 * assert.ok(Math.abs(got[0]! + 0.06) < 1e-6 && Math.abs(got[1]! - 0.08) < 1e-6);
 * ```
 */
export function novograd(
  learningRate: ScalarOrSchedule,
  options: NovogradOptions = {},
): GradientTransformation<unknown[]> {
  // the optimizer's eps defaults to 1e-6, the transform's to 1e-8
  return alias("novograd", learningRate, options, NOVOGRAD_OPTIONS, (o) => {
    const { eps = 1e-6 } = o;
    return scaleByNovograd({ ...o, eps });
  });
}
