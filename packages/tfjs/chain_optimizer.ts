import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";
import { disposeReplaced, disposeState } from "@centra/chain/dispose-state";
import {
  findHyperparams,
  hyperparamScalar,
} from "@centra/chain/inject-hyperparams";
import { initState } from "@centra/chain/run-update";
import { runStep } from "@centra/chain/run-step";
import type {
  GradientTransformation,
  Params,
  Updates,
} from "@centra/chain/types";
import { type JsonObject, toJsonObject } from "./_json.ts";
import {
  mapLeaves,
  matchSavedNames,
  type NamedLeaf,
  namedLeaves,
} from "./_state_tree.ts";
import { buildChain } from "./register_chain.ts";

/** A tensor with the name it is saved or applied under (as tfjs's `NamedTensor`). */
export interface NamedTensor {
  /** The name. */
  name: string;
  /** The tensor. */
  tensor: tf.Tensor;
}

/** What rebuilds a chain on load: a registered factory's name and its JSON options. */
export interface ChainSpec {
  /** A name given to {@linkcode registerChain} (or a built-in: `"sgd"`, `"adam"`, ...). */
  name: string;
  /** The factory's options; plain JSON. */
  options: JsonObject;
}

/** Options of the {@linkcode ChainOptimizer} constructor. */
export interface ChainOptimizerOptions {
  /**
   * The registered factory and options that build `tx`, so that
   * `getConfig`/`fromConfig` (and thus `model.save` with `includeOptimizer`)
   * can rebuild it. {@linkcode ChainOptimizer.from} sets it for you.
   */
  spec?: ChainSpec;
}

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
 * every backend. Each step goes through `runStep` from `@centra/chain`, so
 * a transformation that offers `step` (a fused kernel that writes the new
 * weights, say) is used that way. A step that throws leaves the variables
 * and the state as they were.
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

  /** The transformation this optimizer runs. */
  readonly tx: GradientTransformation<unknown>;
  /** How to rebuild `tx` on load, if known. */
  readonly spec: ChainSpec | undefined;

  #state: unknown = null;
  // Set by setWeights: the next step takes every per-variable tensor it
  // builds from the saved state (a missing one is an error).
  #restoring = false;
  #known: string[] = [];
  #shapes = new Map<string, number[]>();
  #saved: Map<string, tf.Tensor> | null = null;
  #iterTensor: tf.Tensor | null = null;
  #disposed = false;

  /**
   * Wraps a transformation. Prefer {@linkcode ChainOptimizer.from} when the
   * model will be saved with its optimizer.
   *
   * @param tx The gradient transformation (its last step scales by
   * `-learningRate`, as centra's optimizers do).
   * @param options How to rebuild it on load.
   */
  constructor(
    tx: GradientTransformation<unknown>,
    options: ChainOptimizerOptions = {},
  ) {
    super();
    if (
      tx === null || typeof tx !== "object" || typeof tx.init !== "function" ||
      typeof tx.update !== "function"
    ) {
      throw new TypeError(
        `ChainOptimizer: tx must be a GradientTransformation ({ init, update }), got ${
          String(tx)
        }`,
      );
    }
    if (
      options === null || typeof options !== "object" ||
      Object.keys(options).some((k) => k !== "spec")
    ) {
      throw new TypeError(
        `ChainOptimizer: options must be { spec? }, got ${
          options === null || typeof options !== "object"
            ? String(options)
            : `unknown option "${
              Object.keys(options).find((k) => k !== "spec")
            }"`
        }`,
      );
    }
    this.tx = tx;
    this.spec = options.spec === undefined ? undefined : {
      name: options.spec.name,
      options: toJsonObject(options.spec.options, "spec.options"),
    };
  }

  /**
   * Builds an optimizer from a registered chain factory, so that it can be
   * saved and loaded with the model.
   *
   * @param name A built-in (`"sgd"`, `"adam"`, `"adamw"`, `"sgdw"`,
   * `"adagrad"`, `"rmsprop"`) or a name given to {@linkcode registerChain}.
   * @param options The factory's JSON options (for the built-ins:
   * `learningRate` and the optimizer's own options, see docs/tfjs.md).
   * @returns A new optimizer.
   *
   * @example
   * ```ts
   * import { ChainOptimizer } from "@centra/tfjs/chain-optimizer";
   * import assert from "node:assert/strict";
   *
   * const opt = ChainOptimizer.from("adam", { learningRate: 1e-3, gc: true });
   * assert.deepEqual(opt.getConfig().name, "adam");
   * ```
   */
  static from(name: string, options: JsonObject = {}): ChainOptimizer {
    const json = toJsonObject(options, "options");
    return new ChainOptimizer(buildChain(name, json), {
      spec: { name, options: json },
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
    return this.#state;
  }

  /**
   * The state built for no variables yet, holding only what is shared by
   * all (step counts, `injectHyperparams`'s values), so that
   * hyperparameters can be read and set before the first step; the first
   * step keeps these tensors. `null` when the chain cannot be initialised
   * without parameters.
   */
  #shared(): unknown {
    // After setWeights with a checkpoint this chain could not read, the next
    // step takes (and checks) everything from the saved state.
    if (this.#state !== null || this.#restoring) return this.#state;
    try {
      this.#state = initState(this.tx, {});
    } catch (e) {
      if (cannotInitEmpty(e)) return null;
      throw e;
    }
    return this.#state;
  }

  /** The variables the state was built for, in the order first seen. */
  get variableNames(): string[] {
    return [...this.#known];
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
    const grads = this.#readGradients(variableGradients);
    const names = Object.keys(grads);
    if (names.length === 0) {
      this.incrementIterations();
      return;
    }
    const before = this.#state;
    const prepared = this.#prepare(names);
    const variables = this.#variables(prepared.known);
    let next: unknown;
    try {
      // Atomic: if it throws, the variables and prepared.state are as they
      // were, and only what #prepare built for new variables must go.
      next = runStep(this.tx, grads, prepared.state, variables);
    } catch (e) {
      this.#discard(prepared.state, before);
      throw e;
    }
    this.#commit(next, prepared, before);
    this.incrementIterations();
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
    const state = this.#shared();
    return state === null ? undefined : findHyperparams(state);
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
    const hp = this.hyperparams() ?? {};
    const out: Record<string, number> = {};
    for (const [k, t] of Object.entries(hp)) out[k] = (await t.data())[0]!;
    return out;
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
    const hp = this.hyperparams();
    const old = hp !== undefined && Object.hasOwn(hp, name)
      ? hp[name]
      : undefined;
    if (hp === undefined || !(old instanceof tf.Tensor)) {
      throw new TypeError(
        `ChainOptimizer.setHyperparam: no hyperparameter "${name}" (${
          hp === undefined
            ? this.#state === null
              ? "this chain cannot be initialised without variables: take a step first"
              : "this chain has no injectHyperparams part"
            : `known: ${Object.keys(hp).join(", ")}`
        })`,
      );
    }
    if (typeof value !== "number") {
      throw new TypeError(
        `ChainOptimizer.setHyperparam: value of "${name}" must be a number, got ${
          String(value)
        }`,
      );
    }
    // Checked as float32 and against the ranges the chain's transforms asked
    // of this hyperparameter (a learning rate of -1 is refused as sgd(-1) is).
    hp[name] = hyperparamScalar("ChainOptimizer.setHyperparam", {
      name,
      value,
      old,
    });
    old.dispose();
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
      return Promise.resolve(this.#namedWeights());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #namedWeights(): NamedTensor[] {
    this.#checkLive();
    this.#iterTensor?.dispose();
    this.#iterTensor = tf.keep(tf.scalar(this.iterations, "int32"));
    const out: NamedTensor[] = [{ name: "iter", tensor: this.#iterTensor }];
    const names = new Set<string>(["iter"]);
    if (this.#state !== null) {
      for (const leaf of namedLeaves(this.#state, new Set(this.#known))) {
        out.push({ name: leaf.name, tensor: leaf.tensor });
        names.add(leaf.name);
      }
    }
    // Saved state not yet claimed by a variable (one frozen since loading,
    // say) is kept, so that a save after a load loses nothing.
    for (const [name, tensor] of this.#saved ?? []) {
      if (!names.has(name)) out.push({ name, tensor });
    }
    return out;
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
    if (!Array.isArray(weightValues)) {
      throw new TypeError(
        `ChainOptimizer.setWeights: expected a list of { name, tensor }, got ${
          String(weightValues)
        }`,
      );
    }
    const seen = new Set<string>();
    let iterations = 0;
    for (const w of weightValues) {
      if (
        w === null || typeof w !== "object" || typeof w.name !== "string" ||
        !(w.tensor instanceof tf.Tensor)
      ) {
        throw new TypeError(
          `ChainOptimizer.setWeights: every entry must be { name, tensor }, got ${
            String(w)
          }`,
        );
      }
      if (w.tensor.isDisposed) {
        throw new TypeError(
          `ChainOptimizer.setWeights: "${w.name}" is disposed`,
        );
      }
      if (seen.has(w.name)) {
        throw new TypeError(
          `ChainOptimizer.setWeights: "${w.name}" appears twice`,
        );
      }
      seen.add(w.name);
      if (w.name === "iter") iterations = (await w.tensor.data())[0]!;
    }
    const saved = new Map<string, tf.Tensor>();
    for (const w of weightValues) {
      if (w.name !== "iter") saved.set(w.name, tf.keep(w.tensor.clone()));
    }
    let shared: unknown;
    try {
      shared = this.#restoreShared(saved);
    } catch (e) {
      for (const t of saved.values()) t.dispose();
      throw e;
    }
    disposeState(this.#state);
    this.#disposeSaved();
    this.#state = shared;
    this.#known = [];
    this.#shapes.clear();
    // What is left is per-variable state, taken at the next step; a
    // checkpoint taken before the first step has none.
    this.#saved = saved.size === 0 ? null : saved;
    this.#restoring = saved.size > 0;
    this.iterations_ = iterations;
  }

  /**
   * The state for no variables with its shared tensors (step counts,
   * hyperparameters) taken from `saved` (and removed from it), so that they
   * can be read before the first step; `null` when the chain cannot be
   * initialised without variables (the next step then takes them from
   * `saved`). A checkpoint with per-variable state must hold every shared
   * tensor, of the same dtype and shape; when it does not, `null` too, and
   * the next step names what is missing.
   */
  #restoreShared(saved: Map<string, tf.Tensor>): unknown {
    let fresh: unknown;
    try {
      fresh = initState(this.tx, {});
    } catch (e) {
      if (cannotInitEmpty(e)) return null;
      throw e;
    }
    const leaves = namedLeaves(fresh, new Set());
    const claimed: string[] = [];
    let restored: unknown;
    try {
      restored = mapLeaves(fresh, new Set(), (leaf) => {
        const s = saved.get(leaf.name);
        if (s === undefined && saved.size === 0) return leaf.tensor;
        if (s === undefined || !sameKind(s, leaf.tensor)) throw MISMATCH;
        claimed.push(leaf.name);
        return s;
      });
    } catch (e) {
      disposeState(fresh);
      if (e === MISMATCH) return null;
      throw e;
    }
    for (const l of leaves) if (claimed.includes(l.name)) l.tensor.dispose();
    for (const name of claimed) saved.delete(name);
    return restored;
  }

  /**
   * The configuration `tf.loadLayersModel` rebuilds this optimizer from.
   * Only optimizers with a {@linkcode ChainSpec} (built with
   * {@linkcode ChainOptimizer.from}) can be serialised.
   *
   * @returns `{ name, options }`, with the options as a JSON string.
   */
  override getConfig(): tf.serialization.ConfigDict {
    if (this.spec === undefined) {
      throw new TypeError(
        "ChainOptimizer.getConfig: this chain was built from a bare GradientTransformation, which cannot be saved; " +
          "build it with ChainOptimizer.from(name, options), registering custom chains with registerChain",
      );
    }
    // tfjs camel-cases every string and key that holds "_" when it loads a
    // training config, so the options travel as JSON with "_" escaped.
    return {
      name: this.spec.name,
      options: JSON.stringify(this.spec.options).replaceAll("_", "\\u005f"),
    };
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
    const { name, options } = config;
    if (typeof name !== "string" || typeof options !== "string") {
      throw new TypeError(
        `ChainOptimizer.fromConfig: expected { name, options } strings, got ${
          JSON.stringify(config)
        }`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(options);
    } catch {
      throw new TypeError(
        `ChainOptimizer.fromConfig: options are not JSON: ${options}`,
      );
    }
    const json = toJsonObject(parsed, "options");
    return new cls(buildChain(name, json), { spec: { name, options: json } });
  }

  /** Frees every tensor the optimizer holds; it cannot be used afterwards. */
  override dispose(): void {
    if (this.#disposed) return;
    disposeState(this.#state);
    this.#disposeSaved();
    this.#iterTensor?.dispose();
    this.#iterTensor = null;
    this.#state = null;
    this.#disposed = true;
  }

  #checkLive(): void {
    if (this.#disposed) {
      throw new Error("ChainOptimizer: this optimizer has been disposed");
    }
  }

  #disposeSaved(): void {
    for (const t of this.#saved?.values() ?? []) t.dispose();
    this.#saved = null;
  }

  /** Validates the gradients (names, shapes, dtypes) before anything changes. */
  #readGradients(
    variableGradients: tf.NamedTensorMap | NamedTensor[],
  ): Updates {
    const entries: Array<[string, tf.Tensor | null | undefined]> =
      Array.isArray(variableGradients)
        ? variableGradients.map((g, i) => {
          if (
            g === null || typeof g !== "object" || typeof g.name !== "string"
          ) {
            throw new TypeError(
              `ChainOptimizer.applyGradients: entry ${i} must be { name, tensor }, got ${
                String(g)
              }`,
            );
          }
          return [g.name, g.tensor];
        })
        : variableGradients !== null && typeof variableGradients === "object"
        ? Object.entries(variableGradients)
        : (() => {
          throw new TypeError(
            `ChainOptimizer.applyGradients: expected a map or a list of named gradients, got ${
              String(variableGradients)
            }`,
          );
        })();
    const registered = tf.engine().registeredVariables;
    const grads: Updates = {};
    for (const [name, g] of entries) {
      if (g === null || g === undefined) continue;
      if (Object.hasOwn(grads, name)) {
        throw new TypeError(
          `ChainOptimizer.applyGradients: "${name}" appears twice`,
        );
      }
      const v = Object.hasOwn(registered, name) ? registered[name] : undefined;
      if (v === undefined) {
        throw new TypeError(
          `ChainOptimizer.applyGradients: no variable named "${name}"`,
        );
      }
      if (!(g instanceof tf.Tensor) || g.isDisposed) {
        throw new TypeError(
          `ChainOptimizer.applyGradients: the gradient of "${name}" is not a live tensor`,
        );
      }
      if (
        g.shape.length !== v.shape.length ||
        g.shape.some((d, i) => d !== v.shape[i])
      ) {
        throw new TypeError(
          `ChainOptimizer.applyGradients: the gradient of "${name}" has shape [${g.shape}] but the variable has [${v.shape}]`,
        );
      }
      if (g.dtype !== "float32" || v.dtype !== "float32") {
        throw new TypeError(
          `ChainOptimizer.applyGradients: "${name}" must be float32 (gradient ${g.dtype}, variable ${v.dtype})`,
        );
      }
      const known = this.#shapes.get(name);
      if (
        known !== undefined &&
        (known.length !== v.shape.length ||
          known.some((d, i) => d !== v.shape[i]))
      ) {
        throw new TypeError(
          `ChainOptimizer.applyGradients: "${name}" has shape [${v.shape}] but its state was built for [${known}]`,
        );
      }
      grads[name] = g;
    }
    return grads;
  }

  #variables(names: readonly string[]): Record<string, tf.Variable> {
    const registered = tf.engine().registeredVariables;
    const out: Record<string, tf.Variable> = {};
    for (const name of names) {
      const v = registered[name];
      if (v !== undefined && !v.isDisposed) out[name] = v;
    }
    return out;
  }

  /**
   * The state to run this step on: the current one, or one built for new
   * variables (restored from saved weights where there are some). Nothing
   * is committed here.
   */
  #prepare(names: readonly string[]): Prepared {
    const fresh = names.filter((n) => !this.#known.includes(n));
    if (this.#state !== null && fresh.length === 0) {
      return { state: this.#state, known: this.#known, claimed: [] };
    }
    const known = [...this.#known, ...fresh];
    const paramNames = new Set(known);
    let built: unknown = null;
    tf.tidy(() => {
      const registered = tf.engine().registeredVariables;
      const params: Params = {};
      for (const n of known) {
        const v = registered[n];
        params[n] = v !== undefined && !v.isDisposed
          ? v
          : tf.zeros(this.#shapes.get(n)!);
      }
      // initState keeps its result tensors; the zeros above die here.
      built = initState(this.tx, params);
    });
    const leaves = namedLeaves(built, paramNames);
    const claimed: string[] = [];
    let state: unknown;
    try {
      const old = new Map<string, tf.Tensor>();
      if (this.#state !== null) {
        for (const l of namedLeaves(this.#state, paramNames)) {
          old.set(l.name, l.tensor);
        }
      }
      const saved = this.#saved ?? new Map<string, tf.Tensor>();
      // On the first step after setWeights every tensor must come from the
      // saved state (the shared ones may have been restored already, into
      // the current state); later, a new variable takes its saved state if
      // any.
      const strict = this.#restoring && this.#saved !== null;
      const renames = strict
        ? matchSavedNames(leaves, saved)
        : this.#looseRenames(leaves, saved, old);
      state = mapLeaves(built, paramNames, (leaf) => {
        const prev = old.get(leaf.name);
        if (prev !== undefined && sameKind(prev, leaf.tensor)) return prev;
        const savedName = leaf.varName === null
          ? (strict ? leaf.name : undefined)
          : renames.has(leaf.varName)
          ? `${renames.get(leaf.varName)}/${leaf.rest}`
          : undefined;
        if (savedName === undefined) return leaf.tensor;
        const s = saved.get(savedName);
        if (s === undefined) {
          if (!strict) return leaf.tensor;
          throw new TypeError(
            `ChainOptimizer: the saved state has no "${savedName}" (needed for "${leaf.name}")`,
          );
        }
        if (!sameKind(s, leaf.tensor)) {
          throw new TypeError(
            `ChainOptimizer: saved "${savedName}" is ${s.dtype} [${s.shape}] but this chain needs ${leaf.tensor.dtype} [${leaf.tensor.shape}] for "${leaf.name}"`,
          );
        }
        claimed.push(savedName);
        return s;
      });
    } catch (e) {
      disposeState(built);
      throw e;
    }
    const used = new Set(namedLeaves(state, paramNames).map((l) => l.tensor));
    for (const l of leaves) if (!used.has(l.tensor)) l.tensor.dispose();
    return { state, known, claimed };
  }

  /** Renames for variables seen for the first time, where the saved state has them. */
  #looseRenames(
    leaves: readonly NamedLeaf[],
    saved: ReadonlyMap<string, tf.Tensor>,
    old: ReadonlyMap<string, tf.Tensor>,
  ): Map<string, string> {
    const out = new Map<string, string>();
    if (saved.size === 0) return out;
    const newcomers = leaves.filter((l) =>
      l.varName !== null && !old.has(l.name) && !this.#known.includes(l.varName)
    );
    for (const v of new Set(newcomers.map((l) => l.varName!))) {
      try {
        const m = matchSavedNames(
          newcomers.filter((l) => l.varName === v),
          saved,
        );
        out.set(v, m.get(v)!);
      } catch {
        // No saved state for this variable: it starts fresh.
      }
    }
    return out;
  }

  /** Disposes what a failed step built, keeping the current and saved state. */
  #discard(candidate: unknown, current: unknown): void {
    if (candidate === current) return;
    const keep = new Set<tf.Tensor>(this.#saved?.values() ?? []);
    if (current !== null) {
      for (const l of namedLeaves(current, new Set(this.#known))) {
        keep.add(l.tensor);
      }
    }
    for (const l of namedLeaves(candidate, new Set())) {
      if (!keep.has(l.tensor)) l.tensor.dispose();
    }
  }

  #commit(next: unknown, prepared: Prepared, before: unknown): void {
    // A tensor of the state before #prepare that neither the prepared state
    // nor the new one holds (a shared tensor rebuilt for new variables) is
    // garbage now; runStep disposed what the new state replaced.
    if (before !== prepared.state) disposeReplaced(before, next);
    this.#state = next;
    this.#restoring = false;
    if (prepared.known !== this.#known) {
      const registered = tf.engine().registeredVariables;
      for (const n of prepared.known) {
        if (!this.#shapes.has(n)) {
          this.#shapes.set(n, [...registered[n]!.shape]);
        }
      }
      this.#known = prepared.known;
    }
    for (const name of prepared.claimed) this.#saved?.delete(name);
    if (this.#saved !== null && this.#saved.size === 0) this.#saved = null;
  }
}

const MISMATCH = Symbol("mismatch");

/**
 * Whether `init` refused an empty set of parameters (a chain that needs its
 * variables to start, a mask that names one): a TypeError or RangeError.
 * Anything else (a backend that is not ready, say) is the caller's to see.
 */
function cannotInitEmpty(e: unknown): boolean {
  return e instanceof TypeError || e instanceof RangeError;
}

interface Prepared {
  state: unknown;
  known: string[];
  claimed: string[];
}

function sameKind(a: tf.Tensor, b: tf.Tensor): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length &&
    a.shape.every((d, i) => d === b.shape[i]);
}

tf.serialization.registerClass(ChainOptimizer);
