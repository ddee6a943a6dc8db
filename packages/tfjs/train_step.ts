import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";
import { runStep } from "@centra/chain/run-step";
import type { GradientTransformation } from "@centra/chain/types";
import { checkFused, fusedForm } from "./_fused.ts";

/** Options of {@linkcode trainStep}. */
export interface TrainStepOptions {
  /** The loss, computed from the current variables (called once, under `tf.variableGrads`). */
  loss: () => tf.Scalar;
  /** The variables to train (default: every trainable variable). */
  variables?: readonly tf.Variable[];
  /**
   * Whether the step runs fused (`fuse(tx)` from `@centra/webgpu`, built
   * once per `tx` and kept while `tx` lives) or op by op. Default `true`.
   * The state is `tx`'s either way, and the results agree to float32
   * rounding. A `tx` with a `step` of its own is used as it is.
   */
  fused?: boolean;
}

/** What {@linkcode trainStep} returns. */
export interface TrainStepResult<S> {
  /** The loss before the step; the caller disposes it. */
  loss: tf.Scalar;
  /** The new state; the old one must not be used again. */
  state: S;
}

/**
 * One step of a custom training loop, for code that does not use
 * `model.fit`: computes the loss and its gradients, then runs the chain and
 * writes the new weights with `runStep` from `@centra/chain` (inside
 * `tf.tidy`, disposing what the new state replaced). By default the chain
 * runs fused: `fuse(tx)` from `@centra/webgpu` (one generated kernel per
 * tensor on the webgpu and cpu backends), built on the first call with this
 * `tx` and reused after; `fused: false` runs it op by op. A `tx` with a
 * `step` of its own (already fused) is used as it is.
 * The state lives with the caller, as in optax; build it with `initState`.
 * Nothing is read back from the device, so it runs synchronously on every
 * backend.
 *
 * @typeParam S The chain's state.
 * @param tx The chain.
 * @param state Its current state (from `initState` or the previous step).
 * @param options The loss, the variables to train, and `fused` (default
 * `true`).
 * @returns The loss and the new state.
 * @throws {TypeError} For bad options (a `fused` that is not a boolean, say),
 * a loss that is not a scalar or that
 * no variable reaches, or gradients that do not fit (see `runStep`); nothing
 * changes and no tensor is left behind.
 *
 * @example Fit a line
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, sgd } from "@centra/chain";
 * import { trainStep } from "@centra/tfjs/train-step";
 * import assert from "node:assert/strict";
 *
 * const w = tf.variable(tf.scalar(0), true, "train_step_doc/w");
 * const xs = tf.tensor1d([1, 2, 3]);
 * const ys = tf.tensor1d([2, 4, 6]);
 * const tx = sgd(0.05, { momentum: 0.5 });
 * let state = initState(tx, { [w.name]: w });
 * for (let i = 0; i < 50; i++) {
 *   const step = trainStep(tx, state, { loss: () => tf.losses.meanSquaredError(ys, tf.mul(w, xs)), variables: [w] });
 *   state = step.state;
 *   step.loss.dispose();
 * }
 * assert.ok(Math.abs((await w.data())[0]! - 2) < 1e-3);
 * ```
 *
 * @example Op by op, with the same state
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adam, initState } from "@centra/chain";
 * import { trainStep } from "@centra/tfjs/train-step";
 * import assert from "node:assert/strict";
 *
 * const w = tf.variable(tf.tensor1d([1, -1]), true, "train_step_doc/w2");
 * const tx = adam(0.1);
 * // gradient [1, -1]
 * const loss = () => tf.sum(tf.mul(w, tf.tensor1d([1, -1]))) as tf.Scalar;
 * let state = initState(tx, { [w.name]: w });
 * for (const fused of [true, false, true]) {
 *   const step = trainStep(tx, state, { loss, variables: [w], fused });
 *   state = step.state;
 *   step.loss.dispose();
 * }
 * // a constant gradient: every Adam step moves each weight by 0.1
 * const [a, b] = await w.data();
 * assert.ok(Math.abs(a! - 0.7) < 1e-5 && Math.abs(b! + 0.7) < 1e-5);
 * ```
 */
export function trainStep<S>(
  tx: GradientTransformation<S>,
  state: S,
  options: TrainStepOptions,
): TrainStepResult<S> {
  const { loss, variables, fused } = checkOptions(options);
  const run = fused ? fusedForm(tx) : tx;
  const { value, grads } = lossAndGrads(loss, variables);
  try {
    const registered = tf.engine().registeredVariables;
    const vars: Record<string, tf.Variable> = {};
    for (const name of Object.keys(grads)) vars[name] = registered[name]!;
    return { loss: value, state: runStep(run, grads, state, vars) };
  } catch (e) {
    value.dispose();
    throw e;
  } finally {
    tf.dispose(grads);
  }
}

/**
 * The loss and its gradients, in a tidy so that what the loss built is freed
 * when tfjs refuses it (a loss that is not a scalar, or that no variable
 * reaches): those refusals become TypeErrors; what the loss itself throws is
 * the caller's error and passes unchanged.
 */
function lossAndGrads(
  loss: () => tf.Scalar,
  variables: TrainStepOptions["variables"],
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  let value!: tf.Scalar;
  let grads!: tf.NamedTensorMap;
  let thrownByLoss: unknown = undefined;
  const tracked = (): tf.Scalar => {
    try {
      return loss();
    } catch (e) {
      thrownByLoss = e;
      throw e;
    }
  };
  try {
    tf.tidy(() => {
      ({ value, grads } = tf.variableGrads(
        tracked,
        variables === undefined ? undefined : [...variables],
      ));
      tf.keep(value);
      for (const g of Object.values(grads)) tf.keep(g);
    });
  } catch (e) {
    if (e !== thrownByLoss && e instanceof Error && e.constructor === Error) {
      throw new TypeError(`trainStep: ${e.message}`, { cause: e });
    }
    throw e;
  }
  return { value, grads };
}

/** Checks `trainStep`'s options before anything runs. */
function checkOptions(
  options: TrainStepOptions,
): TrainStepOptions & { fused: boolean } {
  if (
    options === null || typeof options !== "object" || Array.isArray(options)
  ) {
    throw new TypeError(
      `trainStep: options must be { loss, variables?, fused? }, got ${
        String(options)
      }`,
    );
  }
  for (const k of Object.keys(options)) {
    if (k !== "loss" && k !== "variables" && k !== "fused") {
      throw new TypeError(
        `trainStep: unknown option "${k}" (known: loss, variables, fused)`,
      );
    }
  }
  const { loss, variables } = options;
  if (typeof loss !== "function") {
    throw new TypeError(
      `trainStep: loss must be a function, got ${String(loss)}`,
    );
  }
  if (variables !== undefined) {
    if (!Array.isArray(variables)) {
      throw new TypeError(
        `trainStep: variables must be a list of tf.Variable, got ${
          String(variables)
        }`,
      );
    }
    variables.forEach((v, i) => {
      if (!(v instanceof tf.Variable) || v.isDisposed) {
        throw new TypeError(
          `trainStep: variables[${i}] is not a live tf.Variable`,
        );
      }
    });
  }
  return { ...options, fused: checkFused("trainStep", options.fused) };
}
