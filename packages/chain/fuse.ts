/**
 * `fuse(tx)`: one fuser for centra chains, with a code generator per tfjs
 * backend. The fuser (this module) walks the chain with `describe`
 * (`@centra/chain/fuser`), composes each run of consecutive elementwise
 * stages symbolically per parameter, and hands the composed expressions to
 * the generator registered for the current backend: a JavaScript-loop
 * generator for `"cpu"`, registered here, and a WGSL generator for
 * `"webgpu"`, registered when `@centra/webgpu` is imported. On any other
 * backend the chain runs op by op. A third backend plugs in with
 * {@linkcode registerGenerator} (docs/contributing.md, "A second fused
 * backend").
 *
 * @example Adam with GC, fused on the cpu backend
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adam, initState, runStep } from "@centra/chain";
 * import { fuse } from "@centra/chain/fuse";
 * import assert from "node:assert/strict";
 *
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.ones([4, 2]), true, "fuse_module_doc/kernel");
 * const loops: number[] = [];
 * const tx = fuse(adam(0.1, { gc: true }), { onDispatches: (n) => loops.push(n) });
 * let state = initState(tx, { [w.name]: w });
 * const g = { [w.name]: tf.tensor2d([[1, -1], [3, 1], [2, 0], [2, 0]]) };
 * state = runStep(tx, g, state, { [w.name]: w });
 * // one loop for GC's per-unit mean, one that writes the weight and both moments
 * assert.deepEqual(loops, [2]);
 * ```
 *
 * @module
 */
import "./tfjs_check.ts";
import * as tf from "@tensorflow/tfjs";
import type { GradientTransformation, Params, Updates } from "./types.ts";
import { checkOptions } from "./_check.ts";
import { planOf } from "./_fuse_plan.ts";
import { addTo, runPlan } from "./_fuse_run.ts";
import { type CodeGenerator, generatorFor } from "./_generators.ts";
import "./_cpu_generator.ts";

export type { Expr, ExprOp } from "./_expr.ts";
export type {
  GradientTransformation,
  Hyper,
  Params,
  Updates,
} from "./types.ts";
export {
  type CodeGenerator,
  type GeneratorContext,
  generatorFor,
  type GeneratorResult,
  type InputReader,
  registerGenerator,
  type StepOutputs,
} from "./_generators.ts";

/** Options of {@linkcode fuse}. */
export interface FuseOptions {
  /**
   * Called after each fused step with the number of kernels it ran (WGSL
   * dispatches on webgpu, JavaScript loops on cpu), for benchmarks and
   * tests; not called where the chain runs op by op.
   */
  onDispatches?: (count: number) => void;
  /**
   * On the cpu backend, round every intermediate to float32 where tfjs's
   * cpu kernels round, so that a fused step equals the op-by-op chain bit
   * for bit (about 3 times the time of the default for GC + AdamW on
   * ResNet-18's shapes: docs/benchmarks.md; docs/fuse.md, "Two
   * roundings"). Default `false`: each element's arithmetic runs in float64
   * and is rounded to float32 once, when stored, which agrees with op by op
   * to float32 rounding (and is never less accurate). No effect on webgpu,
   * whose kernels compute in float32.
   */
  exact?: boolean;
}

/**
 * Compiles a chain into fused kernels for the current tfjs backend: one
 * JavaScript loop per tensor on `cpu`, WGSL kernels on `webgpu` (once
 * `@centra/webgpu` is imported), op by op elsewhere (wasm, webgl).
 *
 * Runs of consecutive elementwise transforms (`trace`, `ema`,
 * `scaleByAdam`, `scaleByRms`, `scaleByRss`, `addDecayedWeights`, `scale`,
 * `scaleByLearningRate`, `scaleBySchedule`, `clipByValue`, `centralize`,
 * `clipByNorm`, `clipByGlobalNorm`, `adaptiveGradClip`, and anything built
 * with `elementwise`) are composed symbolically per parameter into one
 * kernel that reads each input once and writes the update and every state
 * slot in one pass, after single reductions for GC's per-unit means and for
 * norms. The result also has a `step`, which drivers take through `runStep`
 * (as `ChainOptimizer` and `trainStep` do): there the kernel writes
 * `param + update`, the new weight, instead of the update, so no separate
 * kernel adds it. Hyperparameters are arguments of the compiled kernels
 * (uniforms on webgpu), so schedules never recompile. Kernels are compiled
 * once per tensor shape and expression set and kept for the life of the
 * result. The transformation `injectHyperparams` builds at each step is
 * fused too. Other transforms (`masked`, `partition`, `applyIfFinite`,
 * `multiSteps`, ...) run op by op in place. The state is the wrapped
 * chain's, unchanged, so checkpoints and `@centra/tfjs`'s `ChainOptimizer`
 * work as before. The results agree with the op-by-op chain's to float32
 * rounding; on cpu, with `exact: true`, they are the op-by-op results bit
 * for bit. A step that throws
 * changes nothing and leaves no tensor behind (inside `runStep` or
 * `runUpdate`).
 *
 * @typeParam S The chain's state.
 * @param tx The transformation to fuse.
 * @param options `exact` rounding (default `false`) and a kernel counter.
 * @returns A transformation with the same state and results, and a `step`.
 * @throws {TypeError} If `tx` is not a gradient transformation, or for
 * options that are not a plain object, an unknown option, an `exact` that
 * is not a boolean or an `onDispatches` that is not a function.
 *
 * @example AdamW with GC, fused, by update
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adamw, initState, runUpdate } from "@centra/chain";
 * import { fuse } from "@centra/chain/fuse";
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
  checkOptions("fuse", options, { exact: "boolean", onDispatches: "function" });
  const exact = options.exact ?? false;
  const plan = planOf(tx as GradientTransformation<unknown>);
  // each generator's kernels and plans, by what they compute: the same
  // every step
  const caches = new Map<CodeGenerator, Map<string, unknown>>();
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
    const generator = generatorFor(tf.getBackend());
    if (generator === undefined) {
      const [u, next] = tx.update(updates, state, params);
      return [apply ? addTo(params, u) : u, next];
    }
    let cache = caches.get(generator);
    if (cache === undefined) caches.set(generator, cache = new Map());
    const counter = { count: 0 };
    const out = runPlan(
      plan,
      updates,
      state,
      { params, generator, cache, counter, exact },
      apply,
    );
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
