// Private: a chain as `fuse` sees it, from `describe`: elementwise leaves
// (fused), delegates (`injectHyperparams`: what they build each step is
// planned in turn) and opaque ones (op by op), with the nesting of states.
// Backend-agnostic: the code generators never see it.
import { describe, type Description, type ElementwiseSpec } from "./fuser.ts";
import type { GradientTransformation } from "./types.ts";

/** How `fuse` sees a chain: its leaves, and how their states nest. */
export type ChainPlan =
  | {
    kind: "chain";
    tx: GradientTransformation<unknown>;
    parts: ChainPlan[];
    names?: readonly string[];
  }
  | {
    kind: "elementwise";
    tx: GradientTransformation<unknown>;
    spec: ElementwiseSpec<unknown>;
  }
  | { kind: "opaque"; tx: GradientTransformation<unknown> }
  | {
    kind: "delegate";
    tx: GradientTransformation<unknown>;
    update: Extract<Description, { kind: "delegate" }>["update"];
  };

/** What `describe` says of `tx` and its parts. */
export function planOf(tx: GradientTransformation<unknown>): ChainPlan {
  const d = describe(tx);
  if (d === undefined) return { kind: "opaque", tx };
  if (d.kind === "delegate") return { kind: "delegate", tx, update: d.update };
  if (d.kind === "elementwise") {
    return { kind: "elementwise", tx, spec: d.spec };
  }
  const parts = d.parts.map(planOf);
  return d.names === undefined
    ? { kind: "chain", tx, parts }
    : { kind: "chain", tx, parts, names: d.names };
}

/** A transformation `fuse` runs as a whole: fused, delegated or op by op. */
export type Leaf = Exclude<ChainPlan, { kind: "chain" }>;

/** An elementwise leaf with its state: one stage of a fused run. */
export type Stage = [Extract<Leaf, { kind: "elementwise" }>, unknown];

/** The leaves of a plan with their states; `false` if a state is malformed. */
export function leavesOf(
  plan: ChainPlan,
  state: unknown,
  out: [Leaf, unknown][],
): boolean {
  if (plan.kind !== "chain") {
    out.push([plan, state]);
    return true;
  }
  if (plan.names === undefined) {
    if (!Array.isArray(state) || state.length !== plan.parts.length) {
      return false;
    }
    return plan.parts.every((p, i) => leavesOf(p, state[i], out));
  }
  if (state === null || typeof state !== "object") return false;
  const rec = state as Record<string, unknown>;
  return plan.parts.every((p, i) =>
    plan.names![i]! in rec && leavesOf(p, rec[plan.names![i]!], out)
  );
}

/** The chain's state from its leaves' new states, in order. */
export function rebuild(
  plan: ChainPlan,
  next: unknown[],
  at: { i: number },
): unknown {
  if (plan.kind !== "chain") return next[at.i++];
  const parts = plan.parts.map((p) => rebuild(p, next, at));
  if (plan.names === undefined) return parts;
  return Object.fromEntries(plan.names.map((k, i) => [k, parts[i]]));
}
