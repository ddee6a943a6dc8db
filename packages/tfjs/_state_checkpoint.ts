// Private: an optimizer's state between steps, apart from the step.
// `ChainOptimizer` owns one `StateCheckpoint`; it holds the state keyed by
// variable name and the saved state not yet claimed, names the state when
// saved (`getWeights`), and builds it for new variables (the shared step
// counts and hyperparameters before the first step). Reading a checkpoint
// back (`setWeights`, restored at the first step, also after tfjs renamed
// the variables `<name>_<n>`) is `_saved_state.ts`.
import * as tf from "@tensorflow/tfjs";
import { disposeReplaced, disposeState } from "@centra/chain/dispose-state";
import { initState } from "@centra/chain/run-update";
import type { GradientTransformation, Params } from "@centra/chain/types";
import { type NamedLeaf, namedLeaves } from "./_state_tree.ts";
import {
  checkWeights,
  initEmpty,
  ITER,
  type NamedTensor,
  restoreLeaves,
  restoreShared,
} from "./_saved_state.ts";

export type { NamedTensor } from "./_saved_state.ts";

/** The state a step runs on, from {@linkcode StateCheckpoint.prepare}. */
export interface Prepared {
  /** The state (the current one, or one built for new variables). */
  state: unknown;
  /** Every variable `state` holds, in the order first seen. */
  known: string[];
  /** Saved tensors `state` took, to forget once the step is committed. */
  claimed: string[];
}

/**
 * An optimizer's state keyed by variable name, with the saved state not yet
 * claimed by a variable. Saved names are `<variable>/<slot path>` for
 * per-variable tensors, `state/<path>` for shared ones, and `iter` for the
 * step count.
 */
export class StateCheckpoint {
  readonly #tx: GradientTransformation<unknown>;
  #state: unknown = null;
  // Set by load: the next step takes every per-variable tensor it builds
  // from the saved state (a missing one is an error).
  #restoring = false;
  #known: string[] = [];
  #shapes = new Map<string, number[]>();
  #saved: Map<string, tf.Tensor> | null = null;
  #iterTensor: tf.Tensor | null = null;

  /** @param tx The transformation whose state this is. */
  constructor(tx: GradientTransformation<unknown>) {
    this.#tx = tx;
  }

  /** The current state, or `null` before it is first built. */
  get state(): unknown {
    return this.#state;
  }

  /** The variables the state was built for, in the order first seen. */
  get known(): readonly string[] {
    return this.#known;
  }

  /** The shape the state of `name` was built for, if it was. */
  shapeOf(name: string): readonly number[] | undefined {
    return this.#shapes.get(name);
  }

  /**
   * Replaces the state by `next`, the same tree with some tensors swapped
   * (a hyperparameter set); the caller has disposed what it replaced.
   */
  replace(next: unknown): void {
    this.#state = next;
  }

  /**
   * The state built for no variables yet, holding only what is shared by
   * all (step counts, `injectHyperparams`'s values), so that
   * hyperparameters can be read and set before the first step; the first
   * step keeps these tensors. `null` when the chain cannot be initialised
   * without parameters.
   */
  shared(): unknown {
    // After a load of a checkpoint this chain could not read, the next step
    // takes (and checks) everything from the saved state.
    if (this.#state !== null || this.#restoring) return this.#state;
    this.#state = initEmpty(this.#tx);
    return this.#state;
  }

  /**
   * Undoes {@linkcode shared} when it built the state for a call that then
   * failed (a refused `setHyperparam` before the first step), so that the
   * failed call leaves the tensor count as it was. `built` is what
   * {@linkcode state} was before that call.
   */
  undoShared(built: unknown): void {
    if (built !== null || this.#state === null) return;
    disposeState(this.#state);
    this.#state = null;
  }

  /**
   * The state as named tensors, the step count first as `iter`. The tensors
   * are owned here; saved state not yet claimed by a variable is listed too.
   */
  weights(iterations: number): NamedTensor[] {
    this.#iterTensor?.dispose();
    this.#iterTensor = tf.keep(tf.scalar(iterations, "int32"));
    const out: NamedTensor[] = [{ name: ITER, tensor: this.#iterTensor }];
    const names = new Set<string>([ITER]);
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
   * Takes a checkpoint from {@linkcode weights}: checks every entry, copies
   * the tensors, restores the shared state now and keeps the per-variable
   * state for the next step. Nothing changes if it throws.
   *
   * @returns The saved step count (0 if none).
   */
  async load(weightValues: NamedTensor[]): Promise<number> {
    const iterations = await checkWeights(weightValues);
    const saved = new Map<string, tf.Tensor>();
    for (const w of weightValues) {
      if (w.name !== ITER) saved.set(w.name, tf.keep(w.tensor.clone()));
    }
    let shared: unknown;
    try {
      shared = restoreShared(this.#tx, saved);
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
    return iterations;
  }

  /**
   * The state to run a step on: the current one, or one built for new
   * variables (restored from saved weights where there are some). Nothing
   * is committed here.
   *
   * @param names The variables that get gradients this step.
   */
  prepare(names: readonly string[]): Prepared {
    const fresh = names.filter((n) => !this.#known.includes(n));
    if (this.#state !== null && fresh.length === 0) {
      return { state: this.#state, known: this.#known, claimed: [] };
    }
    const known = [...this.#known, ...fresh];
    const paramNames = new Set(known);
    const built = this.#build(known);
    const leaves = namedLeaves(built, paramNames);
    const claimed: string[] = [];
    let state: unknown;
    try {
      state = this.#restoreInto(built, { leaves, paramNames, claimed });
    } catch (e) {
      disposeState(built);
      throw e;
    }
    const used = new Set(namedLeaves(state, paramNames).map((l) => l.tensor));
    for (const l of leaves) if (!used.has(l.tensor)) l.tensor.dispose();
    return { state, known, claimed };
  }

  /** Disposes what a failed step built, keeping the current and saved state. */
  discard(candidate: unknown): void {
    if (candidate === this.#state) return;
    const keep = new Set<tf.Tensor>(this.#saved?.values() ?? []);
    if (this.#state !== null) {
      for (const l of namedLeaves(this.#state, new Set(this.#known))) {
        keep.add(l.tensor);
      }
    }
    for (const l of namedLeaves(candidate, new Set())) {
      if (!keep.has(l.tensor)) l.tensor.dispose();
    }
  }

  /** Makes `next`, the state a step on `prepared` returned, the current one. */
  commit(next: unknown, prepared: Prepared): void {
    // A tensor of the state before prepare that neither the prepared state
    // nor the new one holds (a shared tensor rebuilt for new variables) is
    // garbage now; runStep disposed what the new state replaced.
    if (this.#state !== prepared.state) disposeReplaced(this.#state, next);
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

  /** Frees every tensor held here. */
  dispose(): void {
    disposeState(this.#state);
    this.#disposeSaved();
    this.#iterTensor?.dispose();
    this.#iterTensor = null;
    this.#state = null;
  }

  #disposeSaved(): void {
    for (const t of this.#saved?.values() ?? []) t.dispose();
    this.#saved = null;
  }

  /** A fresh `init` for `known` (zeros stand in for disposed variables). */
  #build(known: readonly string[]): unknown {
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
      built = initState(this.#tx, params);
    });
    return built;
  }

  /**
   * `built` with each tensor taken from the current state (same name and
   * kind) or the saved one (through the renames), else kept fresh.
   */
  /**
   * `built` with each tensor taken from the current state (same name and
   * kind) or the saved one (through the renames), else kept fresh.
   */
  #restoreInto(
    built: unknown,
    ctx: {
      leaves: NamedLeaf[];
      paramNames: ReadonlySet<string>;
      claimed: string[];
    },
  ): unknown {
    const old = new Map<string, tf.Tensor>();
    if (this.#state !== null) {
      for (const l of namedLeaves(this.#state, ctx.paramNames)) {
        old.set(l.name, l.tensor);
      }
    }
    // On the first step after load every tensor must come from the saved
    // state (the shared ones may have been restored already, into the
    // current state); later, a new variable takes its saved state if any.
    return restoreLeaves(built, {
      ...ctx,
      old,
      saved: this.#saved ?? new Map<string, tf.Tensor>(),
      strict: this.#restoring && this.#saved !== null,
      known: this.#known,
    });
  }
}
