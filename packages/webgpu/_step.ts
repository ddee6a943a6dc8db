// Private: the fused elementwise step. `CentraFusedStep` writes every output
// of one tensor (its update or new weight, and each state slot) in one pass
// through `_dispatch.ts`; where that cannot be had, `CentraElementwise`
// writes one output per dispatch through tfjs's `runWebGPUProgram`.
import type { Expr } from "./_chain.ts";
import { columnMean, meanPrograms } from "./_mean.ts";
import {
  ELEMENTWISE_WG,
  makeRecipe,
  type MeanColumns,
  type MultiRecipe,
  type ProgramHost,
  type Recipe,
  sizeOf,
} from "./_program.ts";
import { Kernel, multiOutputShader, valueMain } from "./_wgsl.ts";

/**
 * `CentraFusedStep`: one program that writes each of `exprs` for every
 * element of `param`, or `null` when it would bind more buffers than a
 * shader may. When `param` is centralized over all axes but its last (the
 * layout of every tfjs kernel), its per-unit mean comes from one small pass
 * or two (`columns`, `_mean.ts`), and the program reads the step's packed
 * scalars from the same buffer, after the means.
 */
export function fusedStepProgram(
  host: ProgramHost,
  param: string,
  exprs: readonly Expr[],
): { step: MultiRecipe; columns: MeanColumns | null } | null {
  const n = sizeOf(host, param);
  const mean = columnMean(host, param, exprs);
  const vec = n % 4 === 0 && (mean === null || mean.units % 4 === 0);
  const k = new Kernel(host, param, vec, "pack");
  let columns: MeanColumns | null = null;
  if (mean !== null) {
    columns = meanPrograms(host, param, mean);
    k.columns = {
      mean: mean.mean.id,
      units: mean.units,
      binding: { kind: "columns", param, columns },
    };
  }
  const values = exprs.map((e) => k.emit(e));
  if (k.bindings.length + exprs.length > host.maxInputs + 1) return null;
  const threads = vec ? n / 4 : n;
  const step: MultiRecipe = {
    name: "CentraFusedStep",
    bindings: k.bindings,
    uniforms: k.uniforms,
    code: multiOutputShader(k, values, ELEMENTWISE_WG),
    outputs: exprs.length,
    size: n,
    groups: Math.ceil(threads / ELEMENTWISE_WG),
    threads,
  };
  return { step, columns };
}

/** `CentraElementwise`: `e` for every element of `param`, flat. */
export function elementwiseProgram(
  host: ProgramHost,
  param: string,
  e: Expr,
): Recipe {
  const n = sizeOf(host, param);
  const k = new Kernel(host, param, n % 4 === 0);
  const value = k.valueFunction(e);
  const body = `${k.functions()}
${value}
${valueMain()}`;
  const threads = k.vec ? n / 4 : n;
  return makeRecipe(k, body, {
    name: "CentraElementwise",
    size: n,
    workgroup: ELEMENTWISE_WG,
    groups: Math.ceil(threads / ELEMENTWISE_WG),
  });
}
