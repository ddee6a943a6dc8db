/**
 * Gaussian gradient noise with an annealed variance (Neelakantan et al.
 * 2015), drawn from a seeded counter-based generator so that a run and its
 * resumption draw the same noise.
 *
 * @module
 */
import "./tfjs_check.ts";
import * as tf from "@tensorflow/tfjs";
import {
  checkHyperNumber,
  checkHyperValues,
  checkPlainHyper,
  show,
} from "./_check.ts";
import { checkKnown, checkStateMap, passOn } from "./_structure.ts";
import type {
  GradientTransformation,
  Hyper,
  Params,
  PerParam,
  Updates,
} from "./types.ts";

/**
 * State of {@linkcode addNoise}: the step count (the generator's counter)
 * and each parameter's stream (its position among the parameters `init`
 * was given), both saved with the state.
 */
export interface AddNoiseState {
  /** Steps taken (float32 scalar). */
  count: tf.Scalar;
  /** Each parameter's stream number (float32 scalar), keyed by name. */
  stream: PerParam;
}

/** The largest seed: seeds are 32-bit unsigned integers. */
export const MAX_NOISE_SEED = 0xffffffff;

/** Where {@linkcode noiseSample} draws from: the seed, the step and the stream. */
export interface NoiseSampleOptions {
  /** The generator's seed, an integer in `[0, 2^32 - 1]`. */
  seed: number;
  /** The 1-based step. */
  step: number;
  /**
   * The parameter's stream: its position (from 0) among the parameters the
   * state was built for.
   */
  stream: number;
}

/** A 32-bit integer hash (C. Wellons' "lowbias32"), as an unsigned integer. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

const TWO_32 = 4294967296;

/**
 * The standard normal draws {@linkcode addNoise} adds to the parameter of
 * stream `stream` at step `step` (before scaling by the standard
 * deviation): a pure function of the seed, the step and the stream (a
 * counter-based generator, as JAX's keys are), so a resumed run draws
 * exactly what the original did, whatever its variables are called. Element
 * pairs come from two uniforms of a 32-bit integer hash of (seed, stream,
 * step, pair) by the Box-Muller transform, in float64.
 *
 * @param size How many draws (the parameter's number of elements).
 * @param options The seed, the 1-based step and the parameter's stream.
 * @returns `size` independent standard normal draws.
 * @throws {RangeError} For a size, seed or step that is not a whole number
 * in range.
 *
 * @example Reproducible, and standard normal
 * ```ts
 * import { noiseSample } from "@centra/chain/add-noise";
 * import assert from "node:assert/strict";
 *
 * const a = noiseSample(20000, { seed: 7, step: 3, stream: 0 });
 * assert.deepEqual(a, noiseSample(20000, { seed: 7, step: 3, stream: 0 }));
 * const mean = a.reduce((s, x) => s + x, 0) / a.length;
 * const variance = a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length;
 * assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05);
 * ```
 */
export function noiseSample(
  size: number,
  options: NoiseSampleOptions,
): Float64Array {
  const where = "noiseSample";
  checkWhole(where, "size", size, 2 ** 31);
  checkWhole(where, "seed", options.seed, MAX_NOISE_SEED);
  checkWhole(where, "step", options.step, 2 ** 31);
  checkWhole(where, "stream", options.stream, 2 ** 31);
  const key = mix32(
    (mix32((mix32(options.seed) + mix32(options.stream ^ 0x5bd1e995)) >>> 0) +
      options.step) >>> 0,
  );
  const out = new Float64Array(size);
  for (let j = 0; 2 * j < size; j++) {
    const c = (key + Math.imul(j, 0x9e3779b9)) >>> 0;
    const u1 = (mix32(c) + 1) / TWO_32; // in (0, 1]: the log is finite
    const u2 = mix32((c ^ 0x85ebca6b) >>> 0) / TWO_32;
    const r = Math.sqrt(-2 * Math.log(u1));
    out[2 * j] = r * Math.cos(2 * Math.PI * u2);
    if (2 * j + 1 < size) out[2 * j + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

function checkWhole(where: string, name: string, x: unknown, max: number) {
  if (typeof x !== "number") {
    throw new TypeError(`${where}: ${name} must be a number, got ${show(x)}`);
  }
  if (!Number.isInteger(x) || x < 0 || x > max) {
    throw new RangeError(
      `${where}: ${name} must be a whole number in [0, ${max}], got ${x}`,
    );
  }
}

/** Host copies of the scalars this transform made, so a step needs no read. */
const hostValues = new WeakMap<tf.Tensor, number>();

/** A scalar of the state on the host: remembered, or read once (a restored state). */
function onHost(t: tf.Tensor): number {
  const known = hostValues.get(t);
  if (known !== undefined) return known;
  const value = t.dataSync()[0]!;
  hostValues.set(t, value);
  return value;
}

/** A float32 scalar whose value is remembered on the host. */
function hostScalar(value: number): tf.Scalar {
  const t = tf.scalar(value, "float32");
  hostValues.set(t, value);
  return t;
}

/**
 * Adds Gaussian noise to every update: `u = g + σ_t z`, `z` standard
 * normal, with variance `σ_t² = eta / t^gamma` at step `t` (1-based), so the
 * noise anneals as the paper's `η / (1 + t)^γ` with `t` counted from 0.
 * This is optax's `add_noise(eta, gamma, key)`.
 *
 * The draws come from {@linkcode noiseSample}: a pure function of `seed`,
 * the step count and the parameter's stream (its position among the
 * parameters given to `init`), the last two in the state and saved with
 * it, so a run saved and resumed at any step draws the same noise as one
 * that never stopped, on every backend, even when the restored variables
 * are named differently. They are drawn on the host and uploaded, so this
 * stage runs op by op (a fused step runs it between its fused neighbours);
 * the count and streams are kept on the host too, read from the device only
 * for a state this transform did not make (a restored one).
 *
 * Reference: A. Neelakantan, L. Vilnis, Q. V. Le, I. Sutskever, L. Kaiser,
 * K. Kurach, J. Martens, "Adding Gradient Noise Improves Learning for Very
 * Deep Networks", 2015, arXiv:1511.06807.
 *
 * @param eta The initial variance, non-negative. Optax's `noisy_sgd` uses 0.01.
 * @param gamma The annealing exponent, non-negative. Optax's `noisy_sgd` uses 0.55.
 * @param seed The generator's seed, an integer in `[0, 2^32 - 1]`. Default 0.
 * @returns A transformation whose state is a step count.
 * @throws {TypeError} For a value of the wrong kind.
 * @throws {RangeError} For a negative `eta` or `gamma`, or a seed that is
 * not a whole number in range.
 *
 * @example The noise of the first step has variance eta
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { addNoise, noiseSample } from "@centra/chain/add-noise";
 * import assert from "node:assert/strict";
 *
 * const tx = addNoise(0.25, 0.55, 42);
 * const [u] = tx.update({ w: tf.zeros([4]) }, tx.init({ w: tf.zeros([4]) }));
 * const z = noiseSample(4, { seed: 42, step: 1, stream: 0 });
 * u.w!.dataSync().forEach((x, i) => assert.ok(Math.abs(x - 0.5 * z[i]!) < 1e-6));
 * ```
 */
export function addNoise(
  eta: Hyper,
  gamma: Hyper,
  seed = 0,
): GradientTransformation<AddNoiseState> {
  const where = "addNoise";
  checkPlainHyper(where, "eta", eta, { min: 0 });
  checkPlainHyper(where, "gamma", gamma, { min: 0 });
  checkWhole(where, "seed", seed, MAX_NOISE_SEED);
  return {
    init: (params: Params): AddNoiseState => {
      const stream: PerParam = {};
      Object.keys(params).forEach((name, k) => {
        stream[name] = hostScalar(k);
      });
      return { count: hostScalar(0), stream };
    },
    update(updates: Updates, state: AddNoiseState): [Updates, AddNoiseState] {
      checkState(where, updates, state);
      const { count } = state;
      checkHyperValues(where, { eta, gamma });
      const step = onHost(count) + 1;
      const streams = Object.fromEntries(
        Object.keys(updates).map((name) => [name, onHost(state.stream[name]!)]),
      );
      checkHyperNumber(where, "step", step, { min: 1 });
      // tidy walks any nesting of tensors: the typed result is cast through
      const [out, next] = tf.tidy(() => {
        const out: Updates = {};
        // σ = sqrt(eta / t^gamma), with tensors where eta or gamma is one
        const std = tf.sqrt(tf.div(eta, tf.pow(tf.scalar(step), gamma)));
        for (const [name, g] of Object.entries(updates)) {
          if (g.size === 0) {
            out[name] = g;
            continue;
          }
          const z = noiseSample(g.size, { seed, step, stream: streams[name]! });
          const noise = tf.tensor(Float32Array.from(z), g.shape, "float32");
          out[name] = tf.add(g, tf.mul(noise, std));
        }
        return [out, tf.add(count, 1)] as unknown as tf.TensorContainer;
      }) as unknown as [Updates, tf.Scalar];
      hostValues.set(next, step);
      passOn(updates, out); // same names and shapes
      return [out, { count: next, stream: state.stream }];
    },
  };
}

/** Throws unless `state` is an addNoise state with a stream for every update. */
function checkState(
  where: string,
  updates: Updates,
  state: unknown,
): asserts state is AddNoiseState {
  checkStateMap(where, "the state", state);
  const { count, stream } = state;
  const scalar = (x: unknown) => x instanceof tf.Tensor && x.rank === 0;
  if (!scalar(count)) {
    throw new TypeError(
      `${where}: the state does not fit this transformation: its count should be a scalar tensor, got ${
        show(count)
      }`,
    );
  }
  checkKnown(where, updates, stream as Record<string, unknown>);
  for (const name of Object.keys(updates)) {
    const s = (stream as Record<string, unknown>)[name];
    if (!scalar(s)) {
      throw new TypeError(
        `${where}: the stream of "${name}" should be a scalar tensor, got ${
          show(s)
        } (a state from another transformation?)`,
      );
    }
  }
}
