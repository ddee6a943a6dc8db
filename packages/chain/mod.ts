/**
 * `@centra/chain`: an optax-style gradient-transform pipeline for
 * TensorFlow.js, with exact Gradient Centralization.
 *
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adamw, applyUpdates, initState, runUpdate } from "@centra/chain";
 *
 * const w = tf.variable(tf.randomNormal([8, 4]), true, "mod_doc/kernel");
 * const tx = adamw(1e-3, { weightDecay: 1e-4, gc: true });
 * let state = initState(tx, { [w.name]: w });
 * const grads = { [w.name]: tf.randomNormal([8, 4]) };
 * const [updates, next] = runUpdate(tx, grads, state, { [w.name]: w });
 * state = next;
 * applyUpdates({ [w.name]: w }, updates);
 * ```
 *
 * `runStep(tx, grads, state, variables)` does the last three lines in one
 * call, and takes a transformation's `step` (new weights computed directly,
 * as a fused kernel does) when it has one. `fuse(tx)` (also
 * `@centra/chain/fuse`) runs a chain's elementwise transforms as one
 * JavaScript loop per tensor on the cpu backend (WGSL kernels on webgpu once
 * `@centra/webgpu` is imported), with the same state and results.
 *
 * @module
 */
export * from "./tfjs_check.ts";
export * from "./types.ts";
export * from "./run_update.ts";
export { runStep } from "./run_step.ts";
export * from "./dispose_state.ts";
export * from "./chain.ts";
export * from "./identity.ts";
export * from "./partition.ts";
export * from "./masked.ts";
export * from "./apply_if_finite.ts";
export * from "./multi_steps.ts";
export * from "./inject_hyperparams.ts";
export * from "./apply_updates.ts";
export * from "./centralize.ts";
export * from "./add_decayed_weights.ts";
export * from "./clip.ts";
export * from "./adaptive_grad_clip.ts";
export * from "./trace.ts";
export * from "./ema_params.ts";
export * from "./scale_by_adam.ts";
export * from "./scale_by_rms.ts";
export * from "./scale.ts";
export * from "./scale_by_trust_ratio.ts";
export * from "./normalize_by_update_norm.ts";
export * from "./add_noise.ts";
export * from "./schedules.ts";
export * from "./optimizers.ts";
export { fuse, type FuseOptions } from "./fuse.ts";
export * from "./zero_nans.ts";
export * from "./keep_params_nonnegative.ts";
export * from "./clip_by_block_rms.ts";
export * from "./skip_large_updates.ts";
export * from "./scale_by_factored_rms.ts";
export * from "./scale_by_param_block_rms.ts";
