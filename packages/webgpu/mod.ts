/**
 * `@centra/webgpu`: fused WGSL kernels for centra chains on tfjs's WebGPU
 * backend. `fuse(tx)` composes the elementwise transforms of a chain into
 * one kernel per tensor that writes its update (or, through `runStep`, its
 * new weight) and every state slot at once, plus small reductions for GC's
 * per-unit means and for norms, with hyperparameters as uniforms; everything
 * else runs op by op, and off WebGPU the whole chain does.
 *
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adamw, initState, runStep } from "@centra/chain";
 * import { fuse } from "@centra/webgpu";
 *
 * const w = tf.variable(tf.randomNormal([8, 4]), true, "webgpu_mod_doc/kernel");
 * const tx = fuse(adamw(1e-3, { weightDecay: 1e-4, gc: true }));
 * let state = initState(tx, { [w.name]: w });
 * const grads = { [w.name]: tf.randomNormal([8, 4]) };
 * state = runStep(tx, grads, state, { [w.name]: w });
 * tf.dispose(grads);
 * ```
 *
 * @module
 */
import "@centra/chain/tfjs-check";
export * from "./fuse.ts";
export * from "./dispatch_stats.ts";
