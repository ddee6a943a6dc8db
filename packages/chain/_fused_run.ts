// Private: one run of consecutive elementwise stages of a chain, composed
// symbolically per parameter (the update and every state slot) and computed
// by the current backend's code generator (`_generators.ts`).
import type * as tf from "@tensorflow/tfjs";
import { add, type Expr, hyper, input, substitute } from "./_expr.ts";
import { nextState, stageInput, type StageMath } from "./fuser.ts";
import { passOn } from "./_structure.ts";
import type { Hyper, Params, Updates } from "./types.ts";
import type { Stage } from "./_fuse_plan.ts";
import type { StepContext } from "./_generators.ts";

/** Which output of a parameter a fused run computes. */
type OutputKey =
  | { kind: "slot"; stage: number; slot: string }
  | { kind: "update" };

/** A fused run's outputs: per parameter, what each is and its expression. */
interface RunOutputs {
  keys: Map<string, readonly OutputKey[]>;
  exprs: Map<string, readonly Expr[]>;
}

/**
 * Where a stage's own inputs and hyperparameters appear in the composed
 * expressions: one name per stage and name, looked up, never parsed. The
 * names depend only on the stage's place in its run and its own name, so
 * one table serves every run (and every cached composition).
 */
const STAGE_INPUTS = new Map<string, { stage: number; name: string }>();
const names = {
  input(stage: number, name: string): string {
    const id = `stage ${stage} input ${name}`;
    if (!STAGE_INPUTS.has(id)) STAGE_INPUTS.set(id, { stage, name });
    return id;
  },
  hyper: (stage: number, name: string): string =>
    `stage ${stage} hyper ${name}`,
  global: (stage: number, tag: string): string =>
    `stage ${stage} global ${tag}`,
  /** The stage and its own name for a composed input name. */
  stageInput: (id: string): { stage: number; name: string } | undefined =>
    STAGE_INPUTS.get(id),
};

/** One parameter's composed outputs: what each is and its expression. */
interface Composed {
  readonly keys: readonly OutputKey[];
  readonly exprs: readonly Expr[];
}

/**
 * Compositions already made, by the ids of the stages' math (expressions are
 * interned, so equal ids mean equal math) and `apply`. The stages' math is
 * still asked for every step; only rebuilding the composed expressions from
 * it is skipped, which on small models was a large part of a fused cpu step.
 */
const COMPOSED = new Map<string, Composed>();

/** Each stage math's part of a {@linkcode mathKey}, made once per math. */
const KEY_PARTS = new WeakMap<StageMath, string>();

/** The cache key of one parameter's stage math (`null`: passed through). */
function mathKey(maths: readonly (StageMath | null)[], apply: boolean): string {
  let key = apply ? "apply" : "update";
  for (const m of maths) {
    if (m === null) {
      key += "|-";
      continue;
    }
    let part = KEY_PARTS.get(m);
    if (part === undefined) {
      part = `|${m.update.id}`;
      for (const [slot, x] of Object.entries(m.slots ?? {})) {
        part += ` ${JSON.stringify(slot)}=${x.id}`;
      }
      KEY_PARTS.set(m, part);
    }
    key += part;
  }
  return key;
}

/** One parameter's stages composed (the update last), from their math. */
function compose(
  maths: readonly (StageMath | null)[],
  apply: boolean,
): Composed {
  const key = mathKey(maths, apply);
  const found = COMPOSED.get(key);
  if (found !== undefined) return found;
  let cur: Expr = input("g");
  const keys: OutputKey[] = [], exprs: Expr[] = [];
  maths.forEach((m, j) => {
    if (m === null) return;
    const memo = new Map<Expr, Expr>();
    const upstream = cur;
    const map = {
      input: (n: string) =>
        n === "g"
          ? upstream
          : n === "p"
          ? input("p")
          : input(names.input(j, n)),
      hyper: (n: string) => hyper(names.hyper(j, n)),
      global: (tag: string) => names.global(j, tag),
    };
    cur = substitute(m.update, map, memo);
    for (const [slot, x] of Object.entries(m.slots ?? {})) {
      keys.push({ kind: "slot", stage: j, slot });
      exprs.push(substitute(x, map, memo));
    }
  });
  // the update last: one output per dispatch, it reads the slots
  keys.push({ kind: "update" });
  exprs.push(apply ? add(cur, input("p")) : cur);
  const made = { keys, exprs };
  COMPOSED.set(key, made);
  return made;
}

/** Per parameter, every stage's math composed: the update and each state slot. */
function composeRun(
  run: readonly Stage[],
  updates: Updates,
  apply: boolean,
): RunOutputs {
  const keys = new Map<string, readonly OutputKey[]>();
  const exprs = new Map<string, readonly Expr[]>();
  for (const [param, g] of Object.entries(updates)) {
    // a tensor with no elements passes through every stage (no kernel: on
    // webgpu a dispatch of 0 workgroups, or a binding of 0 bytes, is invalid)
    if (g.size === 0) continue;
    const c = compose(
      run.map(([leaf]) => leaf.spec.math(param, g.shape)),
      apply,
    );
    keys.set(param, c.keys);
    exprs.set(param, c.exprs);
  }
  return { keys, exprs };
}

/**
 * One run of elementwise stages, composed per parameter and computed by the
 * step's code generator; with `apply`, the kernels write `params + update`
 * in place of the update.
 */
export function fusedRun(
  run: Stage[],
  updates: Updates,
  ctx: StepContext,
  apply: boolean,
): [Updates, unknown[]] {
  const params = ctx.params;
  for (const [leaf, s] of run) leaf.spec.check(updates, s, params);
  const steps = run.map(([leaf, s]) => leaf.spec.step(s));
  const hypers: Record<string, Hyper> = {};
  steps.forEach((st, j) => {
    for (const [k, v] of Object.entries(st.hypers)) {
      hypers[names.hyper(j, k)] = v;
    }
  });
  const outputs = composeRun(run, updates, apply);
  const inputs = (param: string, name: string): tf.Tensor => {
    const own = names.stageInput(name);
    const [leaf, s] = run[own?.stage ?? 0]!;
    return stageInput(leaf.spec, updates, s, params, param, own?.name ?? name);
  };
  const r = ctx.generator.run(outputs.exprs, {
    inputs,
    hypers,
    cache: ctx.cache,
    exact: ctx.exact,
  });
  const values = r.values;
  ctx.counter.count += r.dispatches;
  const out = updatesOf(run, updates, params, outputs, values, apply);
  // the updates have the names and shapes of the incoming ones (new values
  // with `apply` end the step): a vouch holds for both, as op by op
  if (!apply) passOn(updates, out);
  return [
    out,
    run.map(([leaf, s], j) =>
      nextState(leaf.spec, s, steps[j]!.rest, slotsOf(j, outputs, values))
    ),
  ];
}

/** Each parameter's update (or new weight with `apply`). */
function updatesOf(
  run: readonly Stage[],
  updates: Updates,
  params: Params | undefined,
  outputs: RunOutputs,
  values: ReadonlyMap<string, tf.Tensor[]>,
  apply: boolean,
): Updates {
  const out: Updates = {};
  for (const [name, g] of Object.entries(updates)) {
    const keys = outputs.keys.get(name);
    const k = keys?.findIndex((key) => key.kind === "update") ?? -1;
    // a tensor left out (no elements) passes through: its update is itself,
    // its new value the parameter itself
    out[name] = k >= 0
      ? values.get(name)![k]!
      : apply
      ? stageInput(run[0]![0].spec, updates, run[0]![1], params, name, "p")
      : g;
  }
  return out;
}

/** Stage `j`'s new state slots, per parameter. */
function slotsOf(
  j: number,
  outputs: RunOutputs,
  values: ReadonlyMap<string, tf.Tensor[]>,
): Record<string, Record<string, tf.Tensor>> {
  const mine: Record<string, Record<string, tf.Tensor>> = {};
  for (const [param, keys] of outputs.keys) {
    const r: Record<string, tf.Tensor> = {};
    keys.forEach((key, k) => {
      if (key.kind === "slot" && key.stage === j) {
        r[key.slot] = values.get(param)![k]!;
      }
    });
    mine[param] = r;
  }
  return mine;
}
