// Private: `CentraSum`, sums over whole tensors (`sumAll`, a global norm's
// `globalSum`): several tensors per dispatch, workgroups reduced in shared
// memory and added into one zeroed float, plus a running total if given.
import type { Expr } from "./_chain.ts";
import {
  makeRecipe,
  type ProgramHost,
  type Recipe,
  REDUCE_WG,
  ROWS_PER_THREAD,
  sizeOf,
} from "./_program.ts";
import { Kernel, mainHeader } from "./_wgsl.ts";

/** One term of a sum: `Σ e` over the elements of `param`. */
export interface SumTerm {
  param: string;
  e: Expr;
}

/** `Σ e` over every term in one dispatch, plus the running total (`acc`) if `withAcc`. */
export function sumProgram(
  host: ProgramHost,
  terms: readonly SumTerm[],
  withAcc: boolean,
): Recipe {
  const lengths = terms.map(({ param }) => {
    const n = sizeOf(host, param);
    return n % 4 === 0 ? n / 4 : n;
  });
  // enough workgroups that a thread reads at most ROWS_PER_THREAD
  // elements (vec4s) of each term, in a loop short enough to unroll
  const groups = Math.max(
    1,
    Math.ceil(Math.max(...lengths) / (REDUCE_WG * ROWS_PER_THREAD)),
  );
  const stride = groups * REDUCE_WG;
  let first: Kernel | undefined;
  const fns: string[] = [], loops: string[] = [];
  terms.forEach(({ param, e }, m) => {
    const k: Kernel = new Kernel(
      host,
      param,
      sizeOf(host, param) % 4 === 0,
      "scalar",
      first,
    );
    first ??= k;
    fns.push(k.valueFunction(e, `centraValue${m}`));
    loops.push(termLoop(k.vec, m, lengths[m]!, stride));
  });
  const k = first!;
  const accRead = withAcc
    ? `if (workgroupId.x == 0u) { total += ${
      k.bind("acc", { kind: "acc" })
    }[0]; }`
    : "";
  const body = `${k.functions()}
var<workgroup> centraPartial : array<f32, ${REDUCE_WG}>;
${fns.join("\n")}
${mainHeader()} {
  // 'auto' layouts drop unused bindings; tfjs always binds the uniforms
  _ = uniforms.NAN;
  let lid = i32(localIndex);
  var part = 0.0;
${loops.join("\n")}
${reduceAndAdd(accRead)}
}`;
  return makeRecipe(k, body, {
    name: "CentraSum",
    size: 1,
    workgroup: REDUCE_WG,
    groups,
    reduce: true,
  });
}

/** A thread's share of term `m`: every `stride`-th element from its index. */
function termLoop(
  vec: boolean,
  m: number,
  length: number,
  stride: number,
): string {
  return `  {
    var acc = ${vec ? "vec4<f32>" : "f32"}(0.0);
    for (var k = 0; k < ${Math.ceil(length / stride)}; k++) {
      let i = index + k * ${stride};
      if (i < ${length}) { acc += centraValue${m}(i); }
    }
    part += ${vec ? "acc.x + acc.y + acc.z + acc.w" : "acc"};
  }`;
}

/** The workgroup's tree reduction, then one float add into the result. */
function reduceAndAdd(accRead: string): string {
  return `  centraPartial[lid] = part;
  workgroupBarrier();
  for (var s = ${REDUCE_WG / 2}; s > 0; s = s / 2) {
    if (lid < s) {
      centraPartial[lid] = centraPartial[lid] + centraPartial[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0) {
    var total = centraPartial[0];
    ${accRead}
    // float add by compare-and-swap: WGSL has no float atomics
    var old = atomicLoad(&result[0]);
    loop {
      let sum = bitcast<i32>(bitcast<f32>(old) + total);
      let res = atomicCompareExchangeWeak(&result[0], old, sum);
      if (res.exchanged) { break; }
      old = res.old_value;
    }
  }`;
}

/**
 * The terms of a global sum in batches whose programs read at most as many
 * tensors as one shader binds (one is left for the running total).
 */
export function sumBatches(
  host: ProgramHost,
  terms: readonly SumTerm[],
): SumTerm[][] {
  const out: SumTerm[][] = [];
  let batch: SumTerm[] = [];
  let keys = new Set<string>();
  for (const term of terms) {
    const trial = new Kernel(host, term.param, false);
    trial.emit(term.e);
    const union = new Set([...keys, ...trial.keys()]);
    if (batch.length > 0 && union.size + 1 > host.maxInputs) {
      out.push(batch);
      batch = [];
      keys = new Set(trial.keys());
    } else keys = union;
    batch.push(term);
  }
  if (batch.length > 0) out.push(batch);
  return out;
}
