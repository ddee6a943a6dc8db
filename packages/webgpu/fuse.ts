import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";
import type {
  GradientTransformation,
  Params,
  Updates,
} from "@centra/chain/types";
import { planOf } from "./_chain_plan.ts";
import type { PlanCache } from "./_plan.ts";
import { addTo, runPlan } from "./_run_chain.ts";

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
  const cache: PlanCache = new Map();
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
    const out = runPlan(
      plan,
      updates,
      state,
      { params, cache, counter },
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
