/**
 * `fuse(tx)` with fused WGSL kernels on tfjs's WebGPU backend: the fuser of
 * `@centra/chain/fuse` (the same function, re-exported), with this
 * package's WGSL code generator registered for `"webgpu"` by importing this
 * module. On cpu the fuser runs its JavaScript loops; on any other backend
 * the chain runs op by op.
 *
 * @example AdamW with GC, fused, by update
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
 *
 * @module
 */
import "./_generator.ts";
export { fuse, type FuseOptions } from "@centra/chain/fuse";
// Re-exported so that the type fuse takes and returns is documented with it.
export type {
  GradientTransformation,
  Params,
  Updates,
} from "@centra/chain/types";
