// Private: reading a saved checkpoint back into a chain's state. What a
// checkpoint entry is (`NamedTensor`, `iter` first), the checks a list of
// entries must pass before anything changes, the shared state (step counts,
// hyperparameters) taken back at load, and the per-variable state a freshly
// built `init` takes from the saved tensors at the first step (through the
// renames of `_state_tree.ts`). `StateCheckpoint` (`_state_checkpoint.ts`)
// holds the state between steps and calls these.
import * as tf from "@tensorflow/tfjs";
import { disposeState } from "@centra/chain/dispose-state";
import { initState } from "@centra/chain/run-update";
import type { GradientTransformation } from "@centra/chain/types";
import {
  looseRenames,
  mapLeaves,
  matchSavedNames,
  type NamedLeaf,
  namedLeaves,
} from "./_state_tree.ts";

/** A tensor with the name it is saved or applied under (as tfjs's `NamedTensor`). */
export interface NamedTensor {
  /** The name. */
  name: string;
  /** The tensor. */
  tensor: tf.Tensor;
}

/** The saved step count's name, first in a checkpoint (tfjs's layout). */
export const ITER = "iter";

/** What {@linkcode restoreLeaves} matches a freshly built state against. */
export interface RestoreContext {
  /** The named leaves of the built state. */
  leaves: NamedLeaf[];
  /** The variables the built state is for. */
  paramNames: ReadonlySet<string>;
  /** The current state's tensors by saved name (kept where they fit). */
  old: ReadonlyMap<string, tf.Tensor>;
  /** The saved tensors not yet claimed by a variable. */
  saved: ReadonlyMap<string, tf.Tensor>;
  /**
   * The first step after a load: every tensor must come from `saved` (a
   * missing one is an error); otherwise only a new variable takes its saved
   * state, if any.
   */
  strict: boolean;
  /** The variables the current state was built for. */
  known: readonly string[];
  /** Filled with the saved names taken. */
  claimed: string[];
}

/**
 * `built` with each tensor taken from the current state (same name and
 * kind) or the saved one (through the renames), else kept fresh.
 *
 * @throws {TypeError} When `strict` and a saved tensor is missing, or a
 * saved tensor's dtype or shape differs from the one built.
 */
export function restoreLeaves(built: unknown, ctx: RestoreContext): unknown {
  const { old, saved, strict } = ctx;
  const renames = strict
    ? matchSavedNames(ctx.leaves, saved)
    : looseRenames(ctx.leaves, saved, old, ctx.known);
  return mapLeaves(built, ctx.paramNames, (leaf) => {
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
    ctx.claimed.push(savedName);
    return s;
  });
}

/**
 * Checks a checkpoint's entries (a list of live, uniquely named tensors)
 * and reads its step count (0 if it has none).
 */
export async function checkWeights(
  weightValues: NamedTensor[],
): Promise<number> {
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
    if (w.name === ITER) iterations = (await w.tensor.data())[0]!;
  }
  return iterations;
}

const MISMATCH = Symbol("mismatch");

/**
 * `init` for no parameters, or `null` when the chain refuses an empty set
 * (one that needs its variables to start, a mask that names one): a
 * TypeError or RangeError. Anything else (a backend that is not ready, say)
 * is the caller's to see.
 */
export function initEmpty(tx: GradientTransformation<unknown>): unknown {
  try {
    return initState(tx, {});
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) return null;
    throw e;
  }
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
export function restoreShared(
  tx: GradientTransformation<unknown>,
  saved: Map<string, tf.Tensor>,
): unknown {
  const fresh = initEmpty(tx);
  if (fresh === null) return null;
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

function sameKind(a: tf.Tensor, b: tf.Tensor): boolean {
  return a.dtype === b.dtype && tf.util.arraysEqual(a.shape, b.shape);
}
