import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";
import { type DispatchObserver, observers } from "./_dispatch.ts";

/** What {@linkcode dispatchStats} saw. */
export interface DispatchStats<T> {
  /** What `fn` returned. */
  result: T;
  /** WebGPU programs dispatched while `fn` ran (0 off WebGPU). */
  dispatches: number;
  /** Dispatches that would write a buffer they also read (should be 0). */
  aliased: number;
}

interface TensorInfoLike {
  dataId: object;
}

type Run = (
  program: unknown,
  inputs: TensorInfoLike[],
  dtype: string,
  uniforms?: unknown,
  output?: TensorInfoLike,
) => TensorInfoLike;

/**
 * Runs `fn` and counts the WGSL programs tfjs's WebGPU backend dispatched
 * meanwhile, by wrapping `runWebGPUProgram` (every WebGPU kernel of tfjs and
 * the fused reductions go through it) and by watching the fused kernels that
 * write several outputs at once. Also counts dispatches that would read and
 * write one buffer, which WebGPU drops silently.
 *
 * @typeParam T What `fn` returns.
 * @param fn The work to observe; synchronous.
 * @returns Its result and the counts.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { dispatchStats } from "@centra/webgpu";
 * import assert from "node:assert/strict";
 *
 * const { result, dispatches } = dispatchStats(() => tf.tidy(() => tf.add(1, 2).arraySync()));
 * assert.equal(result, 3);
 * assert.ok(dispatches >= 0);
 * ```
 */
export function dispatchStats<T>(fn: () => T): DispatchStats<T> {
  const backend = tf.backend() as unknown as { runWebGPUProgram?: Run };
  const original = backend.runWebGPUProgram;
  if (tf.getBackend() !== "webgpu" || typeof original !== "function") {
    return { result: fn(), dispatches: 0, aliased: 0 };
  }
  let dispatches = 0, aliased = 0;
  backend.runWebGPUProgram = function (
    program,
    inputs,
    dtype,
    uniforms,
    output,
  ) {
    dispatches++;
    if (
      output !== undefined && inputs.some((t) => t.dataId === output.dataId)
    ) {
      aliased++;
    }
    return original.call(this, program, inputs, dtype, uniforms, output);
  };
  const watch: DispatchObserver = (outputs, inputs) => {
    dispatches++;
    if (outputs.some((o) => inputs.some((t) => t.dataId === o.dataId))) {
      aliased++;
    }
  };
  observers.add(watch);
  try {
    return { result: fn(), dispatches, aliased };
  } finally {
    backend.runWebGPUProgram = original;
    observers.delete(watch);
  }
}
