import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";
import {
  add,
  evaluate,
  type Expr,
  hyper,
  input,
  substitute,
} from "@centra/chain/expr";
import {
  describe,
  type Description,
  type ElementwiseSpec,
  nextState,
  stageInput,
} from "@centra/chain/fuser";
import type {
  GradientTransformation,
  Hyper,
  Params,
  Updates,
} from "@centra/chain/types";
import { type KernelCache, Runner, type Values } from "./_kernels.ts";

type Plan =
  | {
    kind: "chain";
    tx: GradientTransformation<unknown>;
    parts: Plan[];
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

function planOf(tx: GradientTransformation<unknown>): Plan {
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

type Leaf = Exclude<Plan, { kind: "chain" }>;

/** The leaves of a plan with their states, or `null` if a state is malformed. */
function leavesOf(
  plan: Plan,
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

function rebuild(plan: Plan, next: unknown[], at: { i: number }): unknown {
  if (plan.kind !== "chain") return next[at.i++];
  const parts = plan.parts.map((p) => rebuild(p, next, at));
  if (plan.names === undefined) return parts;
  return Object.fromEntries(plan.names.map((k, i) => [k, parts[i]]));
}

/** Options of {@linkcode fuse}. */
export interface FuseOptions {
  /**
   * Called after each step with the number of WGSL dispatches the fused
   * kernels made (for benchmarks and tests); not called off WebGPU.
   */
  onDispatches?: (count: number) => void;
}

/**
 * Compiles a chain into fused WGSL kernels for tfjs's WebGPU backend.
 *
 * Runs of consecutive elementwise transforms (`trace`, `ema`,
 * `scaleByAdam`, `scaleByRms`, `scaleByRss`, `addDecayedWeights`, `scale`,
 * `scaleByLearningRate`, `scaleBySchedule`, `clipByValue`, `centralize`,
 * `clipByNorm`, `clipByGlobalNorm`, `adaptiveGradClip`, and anything built
 * with `elementwise`)
 * are composed symbolically per parameter into one kernel that writes the
 * update and every state slot in one pass, plus small reductions for GC's
 * per-unit means and for norms. The result also has a `step`, which drivers
 * take through `runStep` (as `ChainOptimizer` and `trainStep` do): there the
 * kernel writes `param + update`, the new weight, instead of the update, so
 * no separate kernel adds it. Hyperparameters are uniforms or read from one
 * small buffer, so schedules do not recompile shaders. The transformation
 * `injectHyperparams` builds at each step is fused too. Other transforms
 * (`masked`, `partition`, `applyIfFinite`, `multiSteps`, ...) run op by op in
 * place. The state is the wrapped chain's, unchanged, so
 * checkpoints and `@centra/tfjs`'s `ChainOptimizer` work as before. On any
 * backend but `webgpu` the chain runs op by op, with the same results.
 *
 * @typeParam S The chain's state.
 * @param tx The transformation to fuse.
 * @param options A dispatch counter.
 * @returns A transformation with the same state and results (to float32
 * rounding), and a `step`.
 *
 * @example AdamW with GC, fused (op by op on the cpu backend), by update
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adamw, initState, runUpdate } from "@centra/chain";
 * import { fuse } from "@centra/webgpu";
 * import assert from "node:assert/strict";
 *
 * const params = { "dense/kernel": tf.ones([4, 2]) };
 * const tx = fuse(adamw(1e-3, { gc: true }));
 * const state = initState(tx, params);
 * const [u] = runUpdate(tx, { "dense/kernel": tf.randomNormal([4, 2]) }, state, params);
 * assert.deepEqual(u["dense/kernel"]!.shape, [4, 2]);
 * ```
 */
export function fuse<S>(
  tx: GradientTransformation<S>,
  options: FuseOptions = {},
): GradientTransformation<S> {
  if (
    tx === null || typeof tx !== "object" || typeof tx.update !== "function" ||
    typeof tx.init !== "function"
  ) {
    throw new TypeError(
      `fuse: expected a gradient transformation, got ${String(tx)}`,
    );
  }
  const plan = planOf(tx as GradientTransformation<unknown>);
  // generated kernels, by parameter and expression: the same every step
  const cache: KernelCache = new Map();
  /**
   * One step; with `apply`, returns `params + updates` instead of the
   * updates, written by the last fused kernels themselves when the chain
   * ends with an elementwise transform.
   */
  const run = (
    updates: Updates,
    state: S,
    params: Params | undefined,
    apply: boolean,
  ): [Updates, S] => {
    if (tf.getBackend() !== "webgpu") {
      const [u, next] = tx.update(updates, state, params);
      return [apply ? addTo(params, u) : u, next];
    }
    const counter = { count: 0 };
    const out = runPlan(plan, updates, state, params, apply, cache, counter);
    options.onDispatches?.(counter.count);
    return out as [Updates, S];
  };
  return {
    init: (params: Params): S => tx.init(params),
    update: (updates: Updates, state: S, params?: Params): [Updates, S] =>
      run(updates, state, params, false),
    step: (updates: Updates, state: S, params: Params): [Params, S] =>
      run(updates, state, params, true),
  };
}

/** Runs a plan on WebGPU: fused runs of elementwise leaves, the rest as is. */
function runPlan(
  plan: Plan,
  updates: Updates,
  state: unknown,
  params: Params | undefined,
  apply: boolean,
  cache: KernelCache,
  counter: { count: number },
): [Updates, unknown] {
  const leaves: [Leaf, unknown][] = [];
  if (
    plan.kind === "opaque" ||
    // a malformed state: let the chain itself throw its own error
    !leavesOf(plan, state, leaves)
  ) {
    const [u, next] = plan.tx.update(updates, state, params);
    return [apply ? addTo(params, u) : u, next];
  }
  const next: unknown[] = [];
  let u = updates;
  let applied = false;
  for (let i = 0; i < leaves.length;) {
    const [leaf, s] = leaves[i]!;
    if (leaf.kind === "opaque") {
      const [nu, ns] = leaf.tx.update(u, s, params);
      u = nu;
      next.push(ns);
      applied = false;
      i++;
      continue;
    }
    if (leaf.kind === "delegate") {
      // the transformation it builds this step, planned and fused in turn
      // (expressions are interned, so its kernels come from the cache)
      const inner = apply && i === leaves.length - 1;
      const [nu, ns] = leaf.update(
        u,
        s,
        params,
        (t, uu, ss, pp) =>
          runPlan(planOf(t), uu, ss, pp, inner, cache, counter),
      );
      u = nu;
      next.push(ns);
      applied = inner;
      i++;
      continue;
    }
    let j = i;
    while (j < leaves.length && leaves[j]![0].kind === "elementwise") j++;
    const stages = leaves.slice(i, j) as [
      Extract<Leaf, { kind: "elementwise" }>,
      unknown,
    ][];
    applied = apply && j === leaves.length;
    const [nu, states] = fusedRun(stages, u, params, counter, cache, applied);
    u = nu;
    next.push(...states);
    i = j;
  }
  return [
    apply && !applied ? addTo(params, u) : u,
    rebuild(plan, next, { i: 0 }),
  ];
}

/** `params + updates`, for the names of `updates`. */
function addTo(params: Params | undefined, updates: Updates): Params {
  const out: Params = {};
  for (const [name, u] of Object.entries(updates)) {
    const p = params?.[name];
    if (p === undefined) {
      throw new TypeError(`fuse: step has no parameter "${name}"`);
    }
    out[name] = tf.add(p, u);
  }
  return out;
}

/** One run of elementwise stages, composed per parameter and run as kernels. */
function fusedRun(
  run: [Extract<Leaf, { kind: "elementwise" }>, unknown][],
  updates: Updates,
  params: Params | undefined,
  counter: { count: number },
  cache: KernelCache,
  /** Whether the kernels write `params + update` in place of the update. */
  apply: boolean,
): [Updates, unknown[]] {
  for (const [leaf, s] of run) leaf.spec.check(updates, s, params);
  const steps = run.map(([leaf, s]) => leaf.spec.step(s));
  const hypers: Record<string, Hyper> = {};
  steps.forEach((st, j) => {
    for (const [k, v] of Object.entries(st.hypers)) hypers[`${j}/${k}`] = v;
  });
  const outputs: Record<string, Record<string, Expr>> = {};
  for (const [name, g] of Object.entries(updates)) {
    // a tensor with no elements passes through every stage (no kernel: a
    // dispatch of 0 workgroups, or a binding of 0 bytes, is invalid)
    if (g.size === 0) continue;
    let cur: Expr = input("g");
    const outs: Record<string, Expr> = {};
    run.forEach(([leaf], j) => {
      const m = leaf.spec.math(name, g.shape);
      if (m === null) return;
      const memo = new Map<Expr, Expr>();
      const upstream = cur;
      const map = {
        input: (n: string) =>
          n === "g" ? upstream : n === "p" ? input("p") : input(`${j}/${n}`),
        hyper: (n: string) => hyper(`${j}/${n}`),
        global: (tag: string) => `${j}/${tag}`,
      };
      cur = substitute(m.update, map, memo);
      for (const [slot, e] of Object.entries(m.slots ?? {})) {
        outs[`${j}/${slot}`] = substitute(e, map, memo);
      }
    });
    outs[""] = apply ? add(cur, input("p")) : cur;
    outputs[name] = outs;
  }
  const inputs = (param: string, name: string): tf.Tensor => {
    if (name === "g" || name === "p") {
      return stageInput(
        run[0]![0].spec,
        updates,
        run[0]![1],
        params,
        param,
        name,
      );
    }
    const cut = name.indexOf("/");
    const j = Number(name.slice(0, cut));
    const [leaf, s] = run[j]!;
    return stageInput(
      leaf.spec,
      updates,
      s,
      params,
      param,
      name.slice(cut + 1),
    );
  };
  let values: Values;
  if (tf.getBackend() === "webgpu") {
    const runner = new Runner(outputs, inputs, hypers, cache);
    values = runner.run();
    counter.count += runner.dispatches.count;
  } else {
    values = evaluate(outputs, inputs, hypers);
  }
  const out: Updates = {};
  // a tensor left out (no elements) passes through: its update is itself,
  // its new value the parameter itself
  const same = (name: string, g: tf.Tensor): tf.Tensor =>
    apply
      ? stageInput(run[0]![0].spec, updates, run[0]![1], params, name, "p")
      : g;
  for (const [name, g] of Object.entries(updates)) {
    out[name] = values[name]?.[""] ?? same(name, g);
  }
  const states = run.map(([leaf, s], j) => {
    const mine: Record<string, Record<string, tf.Tensor>> = {};
    for (const [param, v] of Object.entries(values)) {
      const r: Record<string, tf.Tensor> = {};
      for (const [key, t] of Object.entries(v)) {
        const cut = key.indexOf("/");
        if (cut > 0 && Number(key.slice(0, cut)) === j) {
          r[key.slice(cut + 1)] = t;
        }
      }
      mine[param] = r;
    }
    return nextState(leaf.spec, s, steps[j]!.rest, mine);
  });
  return [out, states];
}
