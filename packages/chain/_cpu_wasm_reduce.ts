// Private: the cpu code generator's SIMD reductions: a parameter's part of
// a global sum (`sumAll`: a clipping norm's squares), GC's per-unit means,
// or both in one pass (`sumAndMeans`), as WebAssembly functions over the
// parameter's arena (`_cpu_pool.ts`), like its SIMD loop (`_cpu_wasm.ts`),
// whose expression compiler they share: each value in float32 per
// operation, as op by op computes it, then added in float64, as tfjs's cpu
// `Sum` adds (each f32x4 vector's four lanes promoted to two f64x2). A sum
// is the function's result; the per-unit sums are written as float64 into
// the arena, and the host divides them by the row count. Where a reduction
// has no lanes (as for the loops, and a mean over other axes, or over units
// no multiple of 4), `makeSimdReduction` gives `null` and the JavaScript
// kernel runs (`_cpu_codegen.ts`).
import type { Expr } from "./_expr.ts";
import { columnMean } from "./_cpu_means.ts";
import { type KernelTask, uniform } from "./_cpu_codegen.ts";
import {
  compiled,
  Compiler,
  NoLanes,
  readsOf,
  rowsThenUnits,
  SIMD,
  type SimdFunction,
  splatUniforms,
} from "./_cpu_wasm.ts";
import {
  ADD_F64X2,
  AND,
  countedLoop,
  extractF64,
  F32,
  F64,
  F64_ADD,
  get,
  HIGH_HALF,
  I32,
  i32,
  I32_ADD,
  i32x4,
  loadAt,
  LT_I32,
  PROMOTE_LOW,
  set,
  SPLAT_I32,
  storeAt,
  V128,
  wasmModule,
  when,
} from "./_wasm_encode.ts";

/** A reduction the SIMD code can take: a sum, a mean, or both. */
export type ReductionTask = Exclude<KernelTask, { kind: "outputs" }>;

/** A compiled SIMD reduction. */
export interface SimdReduction extends SimdFunction {
  /** Whether the function's result is a sum (else it is 0). */
  readonly sum: boolean;
  /** How many per-unit float64 sums it writes (`units` each). */
  readonly unitSums: number;
}

/** The task's summed argument (or `null`) and its means' arguments. */
function partsOf(
  task: ReductionTask,
): { arg: Expr | null; means: readonly Expr[] } {
  if (task.kind === "sum") return { arg: task.arg, means: [] };
  if (task.kind === "mean") return { arg: null, means: [task.node] };
  return { arg: task.arg, means: task.means };
}

/**
 * The SIMD reduction for `task` over a tensor of `shape`, or `null` where
 * it has no lanes or the runtime no SIMD. Its function `run` takes, in
 * order, the byte offsets of each input, of each mean it reads and of each
 * per-unit sum it writes (`units` float64); the bytes of the whole vectors
 * (rows then units where it reads or writes per unit: `rows * units * 4`;
 * else `floor(n / 4) * 16`); the bytes of a row (`units * 4`); the elements
 * left over (`n % 4`, flat only); and the uniform numbers. It returns the
 * sum, in float64.
 */
export function makeSimdReduction(
  task: ReductionTask,
  shape: readonly number[],
): SimdReduction | null {
  if (!SIMD) return null;
  const { arg, means } = partsOf(task);
  const units = shape[shape.length - 1] ?? 1;
  const values = [
    ...(arg === null ? [] : [arg]),
    ...means.map((m) => m.args[0]!),
  ];
  if (
    values.some(uniform) ||
    means.some((m) => !columnMean(shape, m.axes) || units % 4 !== 0)
  ) {
    return null;
  }
  const counts = countParams(shape, values, means.length);
  if (counts === null) return null;
  const params = counts.params;
  // locals: i, base, j, a; two float64 sums and a zero; the vectors
  const c = new Compiler(shape, () => params + 7);
  const code = reductionCode(
    c,
    values,
    arg !== null,
    new Frame(counts, params),
  );
  const module = compiled(wasmModule([{
    name: "run",
    params: [
      ...Array(params - c.uniform.length).fill(I32),
      ...Array(c.uniform.length).fill(F32),
    ],
    results: [F64],
    locals: [[4, I32], [3 + c.vectors, V128]],
    code,
  }]));
  if (module === null) return null;
  return {
    ...readsOf(c),
    sum: arg !== null,
    unitSums: means.length,
    byUnit: c.byUnit || means.length > 0,
    module,
  };
}

/**
 * A first pass over `values`: what the function reads, so that the second
 * can number the locals after its parameters; `null` where it has no lanes.
 */
function countParams(
  shape: readonly number[],
  values: readonly Expr[],
  unitSums: number,
): { inputs: number; means: number; unitSums: number; params: number } | null {
  try {
    const dry = new Compiler(shape, () => 0);
    values.forEach((e) => dry.vector(e, () => []));
    const inputs = dry.inputs.length, means = dry.means.length;
    const params = inputs + means + unitSums + 3 + dry.uniform.length;
    return { inputs, means, unitSums, params };
  } catch (e) {
    if (e instanceof NoLanes) return null;
    throw e;
  }
}

/** The function's parameter and local numbers (see `makeSimdReduction`). */
class Frame {
  readonly I: number;
  readonly BASE: number;
  readonly J: number;
  readonly A: number;
  readonly ACC0: number;
  readonly ACC1: number;
  readonly ZERO: number;
  readonly TOTAL: number;
  readonly ROW: number;
  readonly TAIL: number;

  constructor(
    readonly counts: { inputs: number; means: number; unitSums: number },
    params: number,
  ) {
    this.I = params;
    this.BASE = params + 1;
    this.J = params + 2;
    this.A = params + 3;
    this.ACC0 = params + 4;
    this.ACC1 = params + 5;
    this.ZERO = params + 6;
    this.TOTAL = this.sumAt(counts.unitSums);
    this.ROW = this.TOTAL + 1;
    this.TAIL = this.TOTAL + 2;
  }

  /** The q-th per-unit sum's pointer parameter. */
  sumAt(q: number): number {
    return this.counts.inputs + this.counts.means + q;
  }

  /** Input k's (or read mean k's) address of the current vector. */
  readonly address = (k: number, kind: "in" | "mean"): number[] =>
    kind === "in"
      ? [...get(k), ...get(this.I), ...I32_ADD]
      : [...get(this.counts.inputs + k), ...get(this.J), ...I32_ADD];

  /** `a` = the q-th per-unit sum's pointer + 2 j (float64 per unit). */
  at(q: number): number[] {
    return [
      ...get(this.sumAt(q)),
      ...get(this.J),
      ...get(this.J),
      ...I32_ADD,
      ...I32_ADD,
      ...set(this.A),
    ];
  }

  /** Adds vector local `v`'s four lanes to the sum's two f64x2 locals. */
  toSum(v: number): number[] {
    const { ACC0, ACC1 } = this;
    return addLanes(v, [get(ACC0), set(ACC0)], [get(ACC1), set(ACC1)]);
  }

  /** Adds vector local `v`'s four lanes to the q-th per-unit sums at `j`. */
  toUnits(v: number, q: number): number[] {
    const A = this.A;
    return [
      ...this.at(q),
      ...addLanes(
        v,
        [[...get(A), ...get(A), ...loadAt(0)], storeAt(0)],
        [[...get(A), ...get(A), ...loadAt(16)], storeAt(16)],
      ),
    ];
  }

  /** Every per-unit sum set to 0. */
  zeroUnits(): number[] {
    const { J, A, ZERO, ROW } = this;
    if (this.counts.unitSums === 0) return [];
    const zero = (q: number) => [
      ...this.at(q),
      ...[...get(A), ...get(ZERO), ...storeAt(0)],
      ...[...get(A), ...get(ZERO), ...storeAt(16)],
    ];
    return [
      ...i32(0),
      ...set(J),
      ...countedLoop(
        J,
        ROW,
        i32(16),
        Array.from({ length: this.counts.unitSums }, (_, q) => zero(q)).flat(),
      ),
    ];
  }

  /** `body` for every vector, rows then units (`i = base + j`). */
  byUnit(body: number[]): number[] {
    return rowsThenUnits(this, body);
  }

  /**
   * `body` then the sum of `v` for every whole vector; then for the last
   * n % 4 elements: their lanes of one more vector, the others (past the
   * tensor) zeroed.
   */
  flat(body: number[], v: number): number[] {
    const { I, TOTAL, TAIL } = this;
    return [
      ...i32(0),
      ...set(I),
      ...countedLoop(I, TOTAL, i32(16), [...body, ...this.toSum(v)]),
      ...get(TAIL),
      ...when([
        ...get(TOTAL),
        ...set(I),
        ...body,
        ...get(v),
        ...i32x4([0, 1, 2, 3]),
        ...get(TAIL),
        ...SPLAT_I32,
        ...LT_I32,
        ...AND,
        ...set(v),
        ...this.toSum(v),
      ]),
    ];
  }

  /** The sum's two f64x2 added into one float64, left on the stack. */
  result(): number[] {
    const { ACC0, ACC1 } = this;
    return [
      ...get(ACC0),
      ...get(ACC1),
      ...ADD_F64X2,
      ...set(ACC0),
      ...get(ACC0),
      ...extractF64(0),
      ...get(ACC0),
      ...extractF64(1),
      ...F64_ADD,
    ];
  }
}

/**
 * Adds vector local `v`'s four float32 lanes, as two f64x2, to the pairs
 * whose code `low` and `high` push and pop.
 */
function addLanes(
  v: number,
  low: [number[], number[]],
  high: [number[], number[]],
): number[] {
  return [
    ...low[0],
    ...get(v),
    ...PROMOTE_LOW,
    ...ADD_F64X2,
    ...low[1],
    ...high[0],
    ...get(v),
    ...get(v),
    ...HIGH_HALF,
    ...PROMOTE_LOW,
    ...ADD_F64X2,
    ...high[1],
  ];
}

/**
 * The function's code: the uniforms splat, the per-unit sums zeroed, the
 * loop whose body computes `values` (the sum's first, when `summed`) and
 * adds them up, then the sum as the result.
 */
function reductionCode(
  c: Compiler,
  values: readonly Expr[],
  summed: boolean,
  f: Frame,
): number[] {
  const locals = values.map((e) => c.vector(e, f.address));
  const first = summed ? 1 : 0;
  const perUnit = locals.slice(first).flatMap((v, q) => f.toUnits(v, q));
  const loop = c.byUnit || perUnit.length > 0
    ? f.byUnit([...c.body, ...(summed ? f.toSum(locals[0]!) : []), ...perUnit])
    : f.flat(c.body, locals[0]!);
  return [
    ...splatUniforms(c, f.TAIL + 1),
    ...f.zeroUnits(),
    ...loop,
    ...f.result(),
  ];
}
