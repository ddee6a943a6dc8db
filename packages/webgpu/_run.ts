// Private: one fused run of the WGSL generator (`_generator.ts`): the plan
// for what it computes (made once, `_planner.ts`, then kept across steps),
// run with this step's tensors and numbers (`_launch.ts`).
import * as tf from "@tensorflow/tfjs";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import type { Expr, Hyper } from "./_chain.ts";
import { multiOutputSupport } from "./_dispatch.ts";
import { type Inputs, launchPlan } from "./_launch.ts";
import type { PlanCache } from "./_plan.ts";
import { planStep, type StepOutputs } from "./_planner.ts";

/** The outputs of a fused step and the dispatches it made. */
export interface StepResult {
  /** Per parameter, its outputs in the order asked, in its shape. */
  values: Map<string, tf.Tensor[]>;
  dispatches: number;
}

/**
 * Computes every output of every parameter of `outputs` on WebGPU. Per
 * parameter, an output that reads an earlier one (in one-output-per-dispatch
 * mode) reads it instead of computing it again: list state slots first.
 */
export function runKernels(
  outputs: StepOutputs,
  inputs: Inputs,
  hypers: Readonly<Record<string, Hyper>>,
  cache: PlanCache,
): StepResult {
  const tensorHypers = tensorHypersOf(outputs, hypers);
  const shapes = new Map<string, readonly number[]>();
  for (const param of outputs.keys()) {
    shapes.set(param, inputs(param, "g").shape);
  }
  const multiOutput = multiOutputSupport();
  const key = planKey(outputs, shapes, tensorHypers, multiOutput);
  let plan = cache.get(key);
  if (plan === undefined) {
    // Through `unknown`: the backend package's types may come from another
    // tfjs-core patch release than the user's tfjs (same engine at runtime).
    const backend = tf.backend() as unknown as WebGPUBackend;
    const maxInputs = backend.device.limits.maxStorageBuffersPerShaderStage -
      1;
    plan = planStep(outputs, {
      shapes,
      hypers,
      tensorHypers,
      maxInputs,
      multiOutput,
    });
    cache.set(key, plan);
  }
  const dispatches = { count: 0 };
  const values = launchPlan(plan, { inputs, hypers, shapes }, dispatches);
  return { values, dispatches: dispatches.count };
}

/** The hyperparameters the step reads that are tensors, in first-read order. */
function tensorHypersOf(
  outputs: StepOutputs,
  hypers: Readonly<Record<string, Hyper>>,
): string[] {
  const seen = new Set<number>();
  const names = new Set<string>();
  const walk = (e: Expr) => {
    if (seen.has(e.id)) return;
    seen.add(e.id);
    if (e.op === "hyper" && typeof hypers[e.name] !== "number") {
      if (hypers[e.name] === undefined) {
        throw new TypeError(`fuse: no value for hyperparameter "${e.name}"`);
      }
      names.add(e.name);
    }
    for (const a of e.args) walk(a);
  };
  for (const exprs of outputs.values()) exprs.forEach(walk);
  return [...names];
}

/** What a plan depends on besides numbers: the cache key. */
function planKey(
  outputs: StepOutputs,
  shapes: ReadonlyMap<string, readonly number[]>,
  tensorHypers: readonly string[],
  multiOutput: boolean,
): string {
  const parts = [`${multiOutput}`, tensorHypers.join(",")];
  for (const [param, exprs] of outputs) {
    // JSON: parameter names may hold any character
    parts.push(
      JSON.stringify([param, shapes.get(param), exprs.map((e) => e.id)]),
    );
  }
  return parts.join("|");
}
