// Private: the programs behind per-unit means (Gradient Centralization).
// A fused step reads a mean over all axes but the last (`rows` x `units` in
// memory) from two small passes that read the tensor in memory order
// (`CentraMeanPartials`, then `CentraMeanTotal`, which also appends the
// step's packed scalars); any other mean is one pass (`CentraMean`).
import type { Expr } from "./_chain.ts";
import { columnsOf, gather, groupsOf } from "./_groups.ts";
import {
  ELEMENTWISE_WG,
  makeRecipe,
  type MeanColumns,
  type ProgramHost,
  type Recipe,
  ROWS_PER_THREAD,
} from "./_program.ts";
import {
  elementType,
  f32Literal,
  guardedMain,
  Kernel,
  mainHeader,
} from "./_wgsl.ts";

/**
 * The one per-unit mean of `param`'s outputs `exprs` when it is over all
 * axes but the last; `null` when there is none, several, or another layout.
 */
export function columnMean(
  host: ProgramHost,
  param: string,
  exprs: readonly Expr[],
): { mean: Expr; rows: number; units: number } | null {
  const means = new Map<number, Expr>();
  const walk = (e: Expr) => {
    if (!e.perParam) return;
    if (e.op === "mean") means.set(e.id, e);
    e.args.forEach(walk);
  };
  exprs.forEach(walk);
  if (means.size !== 1) return null;
  const mean = [...means.values()][0]!;
  const c = columnsOf(groupsOf(host.shapeOf(param), mean.axes));
  return c === null ? null : { mean, ...c };
}

/**
 * `CentraMeanPartials`: each thread sums one column (four units in vec4
 * kernels) over a block of rows, so neighbouring threads read neighbouring
 * memory; `CentraMeanTotal` adds the blocks up.
 */
export function meanPartialsProgram(
  host: ProgramHost,
  param: string,
  { mean, rows, units }: { mean: Expr; rows: number; units: number },
): MeanColumns {
  const vec = units % 4 === 0;
  const width = vec ? units / 4 : units;
  // a thread sums ROWS_PER_THREAD rows: loops that short are unrolled,
  // and llvmpipe runs longer ones several times slower per element
  const per = Math.min(rows, ROWS_PER_THREAD);
  const blocks = Math.ceil(rows / per);
  const k = new Kernel(host, param, vec, "pack");
  const value = k.valueFunction(mean.args[0]!);
  const loop = rows % per === 0
    ? `for (var r = 0; r < ${per}; r++) {
      acc += centraValue((first + r) * ${width} + col);
    }`
    : `let last = min(first + ${per}, ${rows});
    for (var r = first; r < last; r++) {
      acc += centraValue(r * ${width} + col);
    }`;
  const code = `${k.functions()}
${value}
${
    guardedMain(`    let col = index % ${width};
    let first = (index / ${width}) * ${per};
    var acc = ${elementType(vec)}(0.0);
    ${loop}
    setOutputAtIndex(index, acc);`)
  }`;
  const partials = makeRecipe(k, code, {
    name: "CentraMeanPartials",
    size: blocks * units,
    workgroup: ELEMENTWISE_WG,
    groups: Math.ceil((blocks * width) / ELEMENTWISE_WG),
  });
  return { mean, rows, units, blocks, partials };
}

/**
 * `CentraMeanTotal`: the means from the partial sums (bound as the running
 * total), followed by the `slots` packed scalars, padded to whole vec4s.
 */
export function meanTotalProgram(
  host: ProgramHost,
  { units, blocks, rows }: MeanColumns,
  slots: number,
): Recipe {
  const k = new Kernel(host, null, false, "none");
  const sums = k.bind("partials", { kind: "acc" });
  const packed = slots > 0 ? k.bind("pack", { kind: "pack" }) : "";
  const scalars = slots > 0
    ? ` else if (index < ${units + slots}) {
    setOutputAtIndex(index, ${packed}[index - ${units}]);
  }`
    : "";
  const code = `${mainHeader()} {
  if (index >= uniforms.size) { return; }
  if (index < ${units}) {
    var acc = 0.0;
    for (var b = 0; b < ${blocks}; b++) {
      acc += ${sums}[b * ${units} + index];
    }
    setOutputAtIndex(index, acc / ${f32Literal(rows)});
  }${scalars}
}`;
  // whole vec4s, for kernels that read it as vec4s
  const size = Math.ceil((units + slots) / 4) * 4;
  return makeRecipe(k, code, {
    name: "CentraMeanTotal",
    size,
    workgroup: ELEMENTWISE_WG,
    groups: Math.ceil(size / ELEMENTWISE_WG),
  });
}

/** `CentraMean`: the mean of `e`'s argument over its axes, flat over the kept ones. */
export function meanProgram(
  host: ProgramHost,
  param: string,
  e: Expr,
): Recipe {
  const g = groupsOf(host.shapeOf(param), e.axes);
  // units on the last axis, reduced over all before it, four at a time:
  // each thread reads contiguous vec4s
  const wide = columnsOf(g) !== null && g.keptSize % 4 === 0;
  const k = new Kernel(host, param, wide);
  const value = k.valueFunction(e.args[0]!);
  const loop = wide
    ? `acc += centraValue(r * ${g.keptSize / 4} + index);`
    : `acc += centraValue(base + ${gather(g, "r", false, "sub")});`;
  const body = `${k.functions()}
${value}
${
    guardedMain(`    let base = ${wide ? "0" : gather(g, "index", true, "sub")};
    var acc = ${elementType(wide)}(0.0);
    for (var r = 0; r < ${g.reducedSize}; r++) {
      ${loop}
    }
    setOutputAtIndex(index, acc / ${f32Literal(g.reducedSize)});`)
  }`;
  const threads = wide ? g.keptSize / 4 : g.keptSize;
  return makeRecipe(k, body, {
    name: "CentraMean",
    size: g.keptSize,
    workgroup: ELEMENTWISE_WG,
    groups: Math.ceil(threads / ELEMENTWISE_WG),
  });
}
