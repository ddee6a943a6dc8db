// Private: one fused step of a chain: fused runs of its elementwise leaves
// (computed by the current backend's code generator), what delegates build
// planned and fused in turn, the rest as is. Backend-agnostic.
import * as tf from "@tensorflow/tfjs";
import type { Params, Updates } from "./types.ts";
import {
  type ChainPlan,
  type Leaf,
  leavesOf,
  planOf,
  rebuild,
  type Stage,
} from "./_fuse_plan.ts";
import { fusedRun } from "./_fused_run.ts";
import type { StepContext } from "./_generators.ts";

/** Runs a plan: fused runs of elementwise leaves, the rest as is. */
export function runPlan(
  plan: ChainPlan,
  updates: Updates,
  state: unknown,
  ctx: StepContext,
  apply: boolean,
): [Updates, unknown] {
  const leaves: [Leaf, unknown][] = [];
  if (
    plan.kind === "opaque" ||
    // a malformed state: let the chain itself throw its own error
    !leavesOf(plan, state, leaves)
  ) {
    const [u, next] = plan.tx.update(updates, state, ctx.params);
    return [apply ? addTo(ctx.params, u) : u, next];
  }
  const next: unknown[] = [];
  let u = updates;
  let applied = false;
  for (let i = 0; i < leaves.length;) {
    let j = i + 1;
    if (leaves[i]![0].kind === "elementwise") {
      while (j < leaves.length && leaves[j]![0].kind === "elementwise") j++;
    }
    const r = runLeaves(
      leaves.slice(i, j),
      u,
      ctx,
      apply && j === leaves.length,
    );
    u = r.updates;
    next.push(...r.states);
    applied = r.applied;
    i = j;
  }
  return [
    apply && !applied ? addTo(ctx.params, u) : u,
    rebuild(plan, next, { i: 0 }),
  ];
}

/**
 * One opaque or delegate leaf, or a run of elementwise ones; `applied` when
 * the result is `params + updates` (asked for with `apply`).
 */
function runLeaves(
  group: [Leaf, unknown][],
  updates: Updates,
  ctx: StepContext,
  apply: boolean,
): { updates: Updates; states: unknown[]; applied: boolean } {
  const [leaf, s] = group[0]!;
  if (leaf.kind === "opaque") {
    const [u, ns] = leaf.tx.update(updates, s, ctx.params);
    return { updates: u, states: [ns], applied: false };
  }
  if (leaf.kind === "delegate") {
    // the transformation it builds this step, planned and fused in turn
    // (expressions are interned, so its kernels come from the cache)
    const [u, ns] = leaf.update(
      updates,
      s,
      ctx.params,
      (t, uu, ss, pp) =>
        runPlan(planOf(t), uu, ss, { ...ctx, params: pp }, apply),
    );
    return { updates: u, states: [ns], applied: apply };
  }
  const [u, states] = fusedRun(group as Stage[], updates, ctx, apply);
  return { updates: u, states, applied: apply };
}

/** `params + updates`, for the names of `updates`. */
export function addTo(params: Params | undefined, updates: Updates): Params {
  const out: Params = {};
  for (const [name, u] of Object.entries(updates)) {
    const p = params?.[name];
    if (p === undefined) {
      throw new TypeError(`fuse: step has no parameter "${name}"`);
    }
    // as runUpdate does, refuse (do not broadcast) an update that does not fit
    if (
      u.shape.length !== p.shape.length ||
      u.shape.some((d, i) => d !== p.shape[i])
    ) {
      throw new TypeError(
        `fuse: an update of shape [${u.shape}] for "${name}", whose parameter has shape [${p.shape}]`,
      );
    }
    out[name] = tf.add(p, u);
  }
  return out;
}
