// Private: the programs behind per-unit means (Gradient Centralization).
// A fused step reads a mean over all axes but the last (`rows` x `units` in
// memory), followed by the step's packed scalars, from one buffer: written
// by one pass over whole columns on small tensors (`CentraMeanColumns`),
// else by two that read the tensor in memory order (`CentraMeanPartials`,
// then `CentraMeanTotal`). Any other mean is one pass (`CentraMean`).
import type { Expr } from "./_chain.ts";
import { columnsOf, gather, groupsOf } from "./_groups.ts";
import {
  ELEMENTWISE_WG,
  makeRecipe,
  type MeanColumns,
  ONE_PASS_ELEMENTS,
  ONE_PASS_ROWS,
  type OnePassMean,
  type ProgramHost,
  type Recipe,
  ROWS_PER_THREAD,
  type TwoPassMean,
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
 * The programs of `param`'s per-unit mean `c` (`columnMean`): one pass
 * (`meanColumnsProgram`) when the tensor is small (`ONE_PASS_ROWS`,
 * `ONE_PASS_ELEMENTS`), else two (`meanPartialsProgram`, then
 * `meanTotalProgram`).
 */
export function meanPrograms(
  host: ProgramHost,
  param: string,
  c: { mean: Expr; rows: number; units: number },
): MeanColumns {
  const small = c.rows <= ONE_PASS_ROWS &&
    c.rows * c.units <= ONE_PASS_ELEMENTS;
  const one = small ? meanColumnsProgram(host, param, c) : null;
  return one ?? meanPartialsProgram(host, param, c);
}

/**
 * `CentraMeanColumns`: the buffer `CentraMeanTotal` writes, in one pass.
 * Thread `j` of the first `units` (`units / 4` in vec4 kernels) sums column
 * `j` over every row and divides by `rows`; the threads after them copy the
 * step's packed scalars, up to whole vec4s. `null` where it would bind more
 * buffers than a shader may.
 */
export function meanColumnsProgram(
  host: ProgramHost,
  param: string,
  { mean, rows, units }: { mean: Expr; rows: number; units: number },
): OnePassMean | null {
  const vec = units % 4 === 0;
  const width = vec ? units / 4 : units;
  // generated now, so that the step's packed scalars it reads get their
  // slots before the pack is built
  const k = new Kernel(host, param, vec, "pack");
  const value = k.valueFunction(mean.args[0]!);
  // room for the pack it copies (the value may have bound it already)
  if (k.bindings.length + 1 > host.maxInputs) return null;
  const program = (slots: number): Recipe => {
    const packed = slots > 0 ? k.bind("pack", { kind: "pack" }) : "";
    const type = elementType(vec);
    // the packed scalars, 0 past the last (vec4 threads write four)
    const scalar = (j: string) =>
      `select(0.0, ${packed}[min(${j}, ${slots - 1})], ${j} < ${slots})`;
    const copy = !vec
      ? scalarCopy(units, slots, packed)
      : slots === 0
      ? ""
      : ` else {
    let s = (index - ${width}) * 4;
    setOutputAtIndex(index, vec4<f32>(${
        [0, 1, 2, 3].map((l) => scalar(`s + ${l}`)).join(", ")
      }));
  }`;
    const code = `${k.functions()}
${value}
${mainHeader()} {
  if (index >= uniforms.size) { return; }
  if (index < ${width}) {
    var acc = ${type}(0.0);
    for (var r = 0; r < ${rows}; r++) {
      acc += centraValue(r * ${width} + index);
    }
    setOutputAtIndex(index, acc / ${f32Literal(rows)});
  }${copy}
}`;
    const size = packedSize(units, slots);
    const threads = vec ? size / 4 : size;
    return makeRecipe(k, code, {
      name: "CentraMeanColumns",
      size,
      workgroup: ELEMENTWISE_WG,
      groups: Math.ceil(threads / ELEMENTWISE_WG),
    });
  };
  return { passes: 1, mean, rows, units, program };
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
): TwoPassMean {
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
  return { passes: 2, mean, rows, units, blocks, partials };
}

/**
 * `CentraMeanTotal`: the means from the partial sums (bound as the running
 * total), followed by the `slots` packed scalars, padded to whole vec4s.
 */
export function meanTotalProgram(
  host: ProgramHost,
  { units, blocks, rows }: TwoPassMean,
  slots: number,
): Recipe {
  const k = new Kernel(host, null, false, "none");
  const sums = k.bind("partials", { kind: "acc" });
  const packed = slots > 0 ? k.bind("pack", { kind: "pack" }) : "";
  const code = `${mainHeader()} {
  if (index >= uniforms.size) { return; }
  if (index < ${units}) {
    var acc = 0.0;
    for (var b = 0; b < ${blocks}; b++) {
      acc += ${sums}[b * ${units} + index];
    }
    setOutputAtIndex(index, acc / ${f32Literal(rows)});
  }${scalarCopy(units, slots, packed)}
}`;
  const size = packedSize(units, slots);
  return makeRecipe(k, code, {
    name: "CentraMeanTotal",
    size,
    workgroup: ELEMENTWISE_WG,
    groups: Math.ceil(size / ELEMENTWISE_WG),
  });
}

/**
 * The elements of a means buffer: `units` means, then `slots` packed
 * scalars, up to whole vec4s (the fused step may read it as vec4s).
 */
function packedSize(units: number, slots: number): number {
  return Math.ceil((units + slots) / 4) * 4;
}

/**
 * The branch of a means program in which scalar thread `index`, past the
 * `units` means, copies packed scalar `index - units` from `packed`; none
 * without scalars.
 */
function scalarCopy(units: number, slots: number, packed: string): string {
  return slots === 0 ? "" : ` else if (index < ${units + slots}) {
    setOutputAtIndex(index, ${packed}[index - ${units}]);
  }`;
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
