import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";
import { runStep } from "@centra/chain/run-step";
import type { GradientTransformation, Updates } from "@centra/chain/types";
import { type JsonObject, toJsonObject } from "./_json.ts";
import { type NamedTensor, StateCheckpoint } from "./_state_checkpoint.ts";
import { liveVariables, readGradients } from "./_gradients.ts";
import { buildChain } from "./register_chain.ts";
import { checkFused, fusedForm } from "./_fused.ts";
import {
  type ChainOptimizerFromOptions,
  type ChainOptimizerOptions,
  type ChainSpec,
  checkConstructorArgs,
  checkFromSettings,
  specFromConfig,
  toConfig,
} from "./_optimizer_config.ts";
import {
  hyperparamsOf,
  readValues,
  setHyperparamOf,
} from "./_optimizer_hyperparams.ts";

export type { NamedTensor };
export type { ChainOptimizerFromOptions, ChainOptimizerOptions, ChainSpec };
// Re-exported so that the type ChainOptimizer wraps is documented with it.
export type {
  GradientTransformation,
  Params,
  Updates,
} from "@centra/chain/types";

const CLASS_NAME = "centra.ChainOptimizer";

/**
 * A centra chain as a real `tf.Optimizer`: use it in `model.compile` and
 * `model.fit`, in `optimizer.minimize`, or call `applyGradients` with a map
 * or a list of named gradients.
 *
 * The state is built on the first step from the variables that get
 * gradients and is keyed by variable name, never by position: freezing a
 * layer and recompiling with the same optimizer keeps each variable's state
 * (tfjs's own optimizers mix states up there), and a variable seen for the
 * first time later gets a fresh state of its own. Every step runs
 * synchronously, with no reads from the device, so it works inside `fit` on
 * every backend. A step that throws leaves the variables and the state as
 * they were.
 *
 * Fused by default: steps run `fuse(tx)` (from `@centra/webgpu`) through
 * `@centra/chain`'s `runStep` (with this optimizer's name in its messages),
 * so on the webgpu and cpu backends the
 * elementwise parts of the chain are one generated kernel per tensor that
 * writes the new weight and every state slot (elsewhere, and for parts it
 * cannot fuse, `fuse` runs op by op). `{ fused: false }` runs the chain op
 * by op (`runUpdate`, then `applyUpdates`). The state is the chain's own
 * either way, so a checkpoint saved with one loads into the other, and the
 * results agree to float32 rounding. A `tx` with a `step` of its own (the
 * result of `fuse`, or a hand-written one) is taken as it is, never fused
 * twice.
 *
 * Saving: `getWeights` lists the state as named tensors
 * (`<variable>/<slot path>`, shared ones as `state/<path>`, the step count as
 * `iter`), `setWeights` restores them at the next step (matching variables by
 * name, also after tfjs has renamed them to `<name>_<n>` on load), and
 * `getConfig`/`fromConfig` rebuild the chain from its {@linkcode ChainSpec}.
 * The class registers itself with `tf.serialization` as
 * `"centra.ChainOptimizer"`, so `tf.loadLayersModel` restores it.
 *
 * @example Train with fit, as with any tfjs optimizer
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ChainOptimizer } from "@centra/tfjs/chain-optimizer";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * const optimizer = ChainOptimizer.from("sgd", { learningRate: 0.1, momentum: 0.9 });
 * model.compile({ optimizer, loss: "meanSquaredError" });
 * await model.fit(tf.ones([4, 2]), tf.ones([4, 1]), { epochs: 2, verbose: 0 });
 * assert.equal(optimizer.iterations, 2);
 * optimizer.dispose();
 * ```
 */
export class ChainOptimizer extends tf.Optimizer {
  /** The name tfjs saves this class under; distinct from tfjs's own optimizers. */
  static get className(): string {
    return CLASS_NAME;
  }

  /**
   * `x instanceof ChainOptimizer` for real instances only: `tf.Optimizer`
   * answers true for any object with `minimize` and `applyGradients`, and
   * subclasses inherit that.
   *
   * @param x Any value.
   * @returns Whether `x` was built by this class.
   */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return x !== null && typeof x === "object" && #disposed in x;
  }

  /** The transformation this optimizer runs (as given: not its fused form). */
  readonly tx: GradientTransformation<unknown>;
  /** Whether steps run fused (see {@linkcode ChainOptimizerOptions.fused}). */
  readonly fused: boolean;
  /** How to rebuild `tx` on load, if known. */
  readonly spec: ChainSpec | undefined;

  readonly #checkpoint: StateCheckpoint;
  /** What a step runs: `tx`, or its fused form. */
  readonly #run: GradientTransformation<unknown>;
  #disposed = false;

  /**
   * Wraps a transformation. Prefer {@linkcode ChainOptimizer.from} when the
   * model will be saved with its optimizer.
   *
   * @param tx The gradient transformation (its last step scales by
   * `-learningRate`, as centra's optimizers do).
   * @param options How to rebuild it on load, and whether to fuse it
   * (default: fused).
   * @throws {TypeError} If `tx` is not a transformation, or for an unknown
   * option or a `fused` that is not a boolean.
   *
   * @example Op by op instead of fused
   * ```ts
   * import { adam } from "@centra/chain";
   * import { ChainOptimizer } from "@centra/tfjs/chain-optimizer";
   * import assert from "node:assert/strict";
   *
   * const opt = new ChainOptimizer(adam(1e-3), { fused: false });
   * assert.equal(opt.fused, false);
   * assert.equal(new ChainOptimizer(adam(1e-3)).fused, true);
   * ```
   */
  constructor(
    tx: GradientTransformation<unknown>,
    options: ChainOptimizerOptions = {},
  ) {
    super();
    const { fused, spec } = checkConstructorArgs(tx, options);
    this.fused = fused;
    this.tx = tx;
    this.#run = fused ? fusedForm(tx) : tx;
    this.spec = spec;
    this.#checkpoint = new StateCheckpoint(tx);
  }

  /**
   * Builds an optimizer from a registered chain factory, so that it can be
   * saved and loaded with the model.
   *
   * @param name A built-in (a name of `@centra/chain`'s `OPTIMIZERS`:
   * `"sgd"`, `"adam"`, `"nadam"`, ...) or a name given to
   * {@linkcode registerChain}.
   * @param options The factory's JSON options (for the built-ins:
   * `learningRate` and the optimizer's own options, see docs/tfjs.md).
   * @param settings `fused` (default `true`), as for the constructor; it is
   * saved with the model only when `false`.
   * @returns A new optimizer.
   * @throws {TypeError} For an unknown chain, bad options, or a `fused`
   * that is not a boolean; {@linkcode RangeError} for an option out of range.
   *
   * @example
   * ```ts
   * import { ChainOptimizer } from "@centra/tfjs/chain-optimizer";
   * import assert from "node:assert/strict";
   *
   * const opt = ChainOptimizer.from("adam", { learningRate: 1e-3, gc: true });
   * assert.deepEqual(opt.getConfig().name, "adam");
   * assert.equal(opt.fused, true);
   * const plain = ChainOptimizer.from("adam", { learningRate: 1e-3 }, { fused: false });
   * assert.equal(plain.fused, false);
   * ```
   */
  static from(
    name: string,
    options: JsonObject = {},
    settings: ChainOptimizerFromOptions = {},
  ): ChainOptimizer {
    const fused = checkFromSettings(settings);
    const json = toJsonObject(options, "options");
    return new ChainOptimizer(buildChain(name, json), {
      spec: { name, options: json },
      fused,
    });
  }

  /**
   * The current state, owned by the optimizer: `null` until it is first
   * needed; before the first step (after {@linkcode hyperparams},
   * {@linkcode setHyperparam} or {@linkcode setWeights}) a state built for
   * no variables, which holds the shared parts (step counts,
   * hyperparameters).
   */
  get state(): unknown {
    return this.#checkpoint.state;
  }

  /** The variables the state was built for, in the order first seen. */
  get variableNames(): string[] {
    return [...this.#checkpoint.known];
  }

  /**
   * Updates variables from their gradients: one step of the chain.
   *
   * @param variableGradients Gradients keyed by variable name, or a list of
   * `{ name, tensor }` (a `null` tensor skips that variable, as in tfjs).
   */
  override applyGradients(
    variableGradients: tf.NamedTensorMap | NamedTensor[],
  ): void {
    this.#checkLive();
    const grads: Updates = readGradients(
      variableGradients,
      (name) => this.#checkpoint.shapeOf(name),
    );
    const names = Object.keys(grads);
    if (names.length === 0) {
      this.incrementIterations();
      return;
    }
    const prepared = this.#checkpoint.prepare(names);
    const variables = liveVariables(prepared.known);
    let next: unknown;
    try {
      // Atomic: if it throws, the variables and prepared.state are as they
      // were, and only what prepare built for new variables must go.
      next = runStep(this.#run, grads, prepared.state, variables, {
        where: "ChainOptimizer.applyGradients",
      });
    } catch (e) {
      this.#checkpoint.discard(prepared.state);
      throw e;
    }
    this.#checkpoint.commit(next, prepared);
    this.incrementIterations();
  }

  /**
   * tfjs's `minimize` (what `fit` and `trainOnBatch` call), except that a
   * step that throws frees the gradients and the loss before the error
   * passes on (tfjs's own leaves them behind).
   *
   * @param f The loss.
   * @param returnCost Whether to return the loss (the caller disposes it).
   * @param varList The variables to train; default: every trainable one.
   * @returns The loss when `returnCost`, else `null`.
   */
  override minimize(
    f: () => tf.Scalar,
    returnCost = false,
    varList?: tf.Variable[],
  ): tf.Scalar | null {
    const { value, grads } = this.computeGradients(f, varList);
    try {
      this.applyGradients(grads);
    } catch (e) {
      value.dispose();
      throw e;
    } finally {
      tf.dispose(grads);
    }
    if (returnCost) return value;
    value.dispose();
    return null;
  }

  /**
   * The hyperparameters of the chain's `injectHyperparams` part (for the
   * built-ins, `learningRate`), as live scalars owned by the optimizer, or
   * `undefined` (no such part). Works before the first step (the initial
   * values, or those set with {@linkcode setHyperparam}) and right after
   * {@linkcode setWeights} or `tf.loadLayersModel` (the saved values).
   *
   * @returns Scalars by name; do not dispose them.
   */
  hyperparams(): Record<string, tf.Scalar> | undefined {
    this.#checkLive();
    return hyperparamsOf(this.#checkpoint);
  }

  /**
   * Reads the current hyperparameters to numbers (asynchronously, so it works
   * on WebGPU).
   *
   * @returns Values by name; empty when there are none yet.
   *
   * @example Read the learning rate after a step
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import { ChainOptimizer } from "@centra/tfjs/chain-optimizer";
   * import assert from "node:assert/strict";
   *
   * const w = tf.variable(tf.zeros([2]), true, "chain_optimizer_doc/w");
   * const opt = ChainOptimizer.from("sgd", { learningRate: 0.25 });
   * opt.applyGradients({ [w.name]: tf.ones([2]) });
   * assert.deepEqual(await opt.readHyperparams(), { learningRate: 0.25 });
   * assert.deepEqual(Array.from(await w.data()), [-0.25, -0.25]);
   * opt.dispose();
   * ```
   */
  async readHyperparams(): Promise<Record<string, number>> {
    return await readValues(this.hyperparams() ?? {});
  }

  /**
   * Sets a hyperparameter of the chain's `injectHyperparams` part for the
   * next steps (a scheduled one is recomputed at every step, so setting it
   * has no lasting effect).
   *
   * @param name The hyperparameter, e.g. `"learningRate"`.
   * @param value Its new value.
   */
  setHyperparam(name: string, value: number): void {
    this.#checkLive();
    setHyperparamOf(this.#checkpoint, name, value);
  }

  /**
   * The state as named tensors, first the step count as `iter` (tfjs's
   * layout). The tensors are the optimizer's own: read them before the
   * next step, and do not dispose them.
   *
   * @returns `[{ name: "iter", ... }, { name: "<variable>/<slot>", ... }, ...]`.
   */
  override getWeights(): Promise<NamedTensor[]> {
    try {
      this.#checkLive();
      return Promise.resolve(this.#checkpoint.weights(this.iterations));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Restores a state saved by {@linkcode ChainOptimizer.getWeights}. The
   * tensors are copied (the caller may dispose its own); they are matched
   * to variables at the next step, when the variables are known.
   *
   * @param weightValues Named tensors, as `getWeights` returns them.
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    this.#checkLive();
    this.iterations_ = await this.#checkpoint.load(weightValues);
  }

  /**
   * The configuration `tf.loadLayersModel` rebuilds this optimizer from.
   * Only optimizers with a {@linkcode ChainSpec} (built with
   * {@linkcode ChainOptimizer.from}) can be serialised.
   *
   * @returns `{ name, options }`, with the options as a JSON string, and
   * `fused: false` for an optimizer that runs op by op.
   */
  override getConfig(): tf.serialization.ConfigDict {
    return toConfig(this.spec, this.fused);
  }

  /**
   * Rebuilds an optimizer from {@linkcode ChainOptimizer.getConfig}'s output.
   *
   * @typeParam T The class (`ChainOptimizer`).
   * @param cls The class tfjs found under `className`.
   * @param config The saved configuration.
   * @returns A new optimizer with an empty state.
   */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const spec = specFromConfig(config);
    return new cls(buildChain(spec.name, spec.options), {
      spec,
      fused: checkFused("ChainOptimizer.fromConfig", config.fused),
    });
  }

  /** Frees every tensor the optimizer holds; it cannot be used afterwards. */
  override dispose(): void {
    if (this.#disposed) return;
    this.#checkpoint.dispose();
    this.#disposed = true;
  }

  #checkLive(): void {
    if (this.#disposed) {
      throw new Error("ChainOptimizer: this optimizer has been disposed");
    }
  }
}

tf.serialization.registerClass(ChainOptimizer);
