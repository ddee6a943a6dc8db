// Private: the programs for values every element of a step shares (Adam's
// bias corrections, a clipping factor): computed once per step by one
// thread, instead of once per element.
import type { Expr } from "./_chain.ts";
import { makeRecipe, type ProgramHost, type Recipe } from "./_program.ts";
import { guardedMain, Kernel, valueMain } from "./_wgsl.ts";

/**
 * `CentraScalars`: every subexpression of `list` into one buffer, in order
 * (the step's packed scalars, which fused steps read by slot).
 */
export function packProgram(host: ProgramHost, list: readonly Expr[]): Recipe {
  const k = new Kernel(host, null, false, "none");
  const values = list.map((e) => k.emit(e));
  const body = `${k.functions()}
${
    guardedMain(`${k.lines.join("\n")}
${values.map((v, j) => `    setOutputAtIndex(${j}, f32(${v}));`).join("\n")}`)
  }`;
  return makeRecipe(k, body, {
    name: "CentraScalars",
    size: list.length,
    workgroup: 1,
    groups: 1,
  });
}

/** `CentraScalar`: one shared subexpression, as a [1] tensor. */
export function scalarProgram(host: ProgramHost, e: Expr): Recipe {
  // one thread: every element of every parameter then reads the result
  const k = new Kernel(host, null, false, "none");
  const value = k.valueFunction(e);
  const body = `${k.functions()}
${value}
${valueMain()}`;
  return makeRecipe(k, body, {
    name: "CentraScalar",
    size: 1,
    workgroup: 1,
    groups: 1,
  });
}
