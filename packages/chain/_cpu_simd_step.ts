// Private: the SIMD side of a fused cpu step (`_cpu_generator.ts`). Each
// parameter whose loop has lanes and whose outputs were taken from its
// arena (`_cpu_pool.ts`) is *staged* when its first reduction or its loop
// runs: every input not in the arena is copied in (the gradient into its
// scratch array, a first step's weight and state into free arrays). Then
// its reductions (GC's means, its part of a clipping norm:
// `_cpu_wasm_reduce.ts`) and its loop (`_cpu_wasm.ts`) all run over the
// arena, so the gradient is copied once per step and read there by each. Where a parameter is not staged, or a
// reduction has no lanes, the step's JavaScript kernels run instead.
import type { UnitMeans } from "./_cpu_codegen.ts";
import type { Arena } from "./_cpu_pool.ts";
import type { SimdKernel } from "./_cpu_wasm.ts";
import {
  makeSimdReduction,
  type ReductionTask,
  type SimdReduction,
} from "./_cpu_wasm_reduce.ts";
import type { Expr } from "./_expr.ts";

/** Test-only: how many SIMD loops and reductions fused cpu steps ran. */
export const cpuSimd = { runs: 0, reductions: 0 };

/**
 * Reductions compiled, by task and shape (expressions are interned, so the
 * key names the code): one module serves every `fuse(...)` result, as the
 * loops do (`perList` in `_cpu_generator.ts`), so V8 compiles and optimizes
 * each once.
 */
const REDUCTIONS = new Map<string, SimdReduction | null>();

/** What the SIMD runs need of their step. */
export interface SimdHost {
  shapeOf(param: string): readonly number[];
  /** The cpu backend's array of `param`'s input `name` (read only). */
  read(param: string, name: string): ArrayLike<number>;
  /** A kernel's shared scalars (float32) and `param`'s sums it reads. */
  scalarsOf(
    param: string,
    k: { shared: readonly Expr[]; sums: readonly Expr[] },
  ): { sc: number[]; rs: number[] };
  /** `param`'s value of the reduction `e`, computed once per step. */
  reduction(param: string, e: Expr): number | UnitMeans;
  /** Called as each kernel starts (a fault point; counts kernels). */
  starting(): void;
}

/** A parameter whose loop can run over its arena, until it is staged. */
interface Pending {
  readonly arena: Arena;
  readonly loop: SimdKernel;
  readonly instance: WebAssembly.Instance;
  /** Each output's byte offset in the arena. */
  readonly outputs: readonly number[];
  /** Arrays borrowed for copies, given back after the step's loops. */
  readonly borrowed: Float32Array[];
}

/** A parameter staged in its arena. */
interface Staged extends Pending {
  /** Each input's byte offset in the arena. */
  readonly inputs: ReadonlyMap<string, number>;
}

type Run = (...a: number[]) => number;

/** One fused cpu step's SIMD loops and reductions. */
export class SimdRuns {
  private readonly pending = new Map<string, Pending>();
  /** Staged parameters; `null` where staging found no free array. */
  private readonly staged = new Map<string, Staged | null>();

  constructor(private readonly host: SimdHost) {}

  /** Forgets this step's parameters (see `CpuStep.retire`). */
  retire(): void {
    this.pending.clear();
    this.staged.clear();
  }

  /**
   * Marks `param` for its SIMD loop `loop` in `arena`, when every output
   * (`outs`) is in it and the runtime instantiates the loop. Its inputs are
   * copied in when a reduction or the loop first needs them (`stagedOf`),
   * so that a copy is read while it is in cache; arrays it borrows for
   * copies go on `borrowed`, to be given back after the step's loops.
   */
  prepare(
    param: string,
    loop: SimdKernel,
    arena: Arena,
    outs: readonly Float32Array[],
    borrowed: Float32Array[],
  ): void {
    const outputs = outs.map((o) => arena.offsetOf(o));
    const instance = arena.instance(loop.module);
    if (outputs.some((at) => at < 0) || instance === undefined) return;
    this.pending.set(param, { arena, loop, instance, outputs, borrowed });
  }

  /**
   * `param` staged: every input of its loop in its arena, those that were
   * not copied in (the first, in a training loop the gradient, into the
   * scratch array; any more, a first step's weight and state, into free
   * arrays); `undefined` where it is not prepared or no array is free.
   */
  private stagedOf(param: string): Staged | undefined {
    const known = this.staged.get(param);
    if (known !== undefined) return known ?? undefined;
    const p = this.pending.get(param);
    if (p === undefined) return undefined;
    const { arena, loop, borrowed } = p;
    const inputs = new Map<string, number>();
    const copies: [ArrayLike<number>, Float32Array][] = [];
    for (const name of loop.inputs) {
      const a = this.host.read(param, name);
      let offset = arena.offsetOf(a);
      if (offset < 0) {
        const to = copies.length === 0
          ? arena.view(arena.scratch, arena.n)
          : arena.take()?.array;
        if (to === undefined) {
          this.staged.set(param, null);
          return undefined;
        }
        if (copies.length > 0) borrowed.push(to);
        copies.push([a, to]);
        offset = to.byteOffset;
      }
      inputs.set(name, offset);
    }
    for (const [from, to] of copies) to.set(from);
    const st = { ...p, inputs };
    this.staged.set(param, st);
    return st;
  }

  /** Runs `param`'s SIMD loop if it is staged; returns whether it ran. */
  loop(param: string): boolean {
    const st = this.stagedOf(param);
    if (st === undefined) return false;
    const k = st.loop;
    // scalars first: a global norm's pass takes GC's means with it
    const { sc, rs } = this.host.scalarsOf(param, k);
    const meanAt = this.placeMeans(param, k.means, st.arena);
    const units = this.host.shapeOf(param).at(-1) ?? 1;
    this.host.starting();
    cpuSimd.runs++;
    (st.instance.exports.run as Run)(
      ...k.inputs.map((name) => st.inputs.get(name)!),
      ...meanAt,
      ...st.outputs,
      st.arena.stride,
      units * 4,
      ...k.uniforms(sc, rs),
    );
    return true;
  }

  /**
   * `param`'s reduction `task` as a SIMD function over its arena, or
   * `undefined` where it is not staged or the reduction has no lanes (or
   * reads an input its loop does not, or more means than the arena has
   * room for); `key` names the task and shape (`REDUCTIONS`).
   */
  reduce(
    param: string,
    task: ReductionTask,
    key: string,
  ): number | UnitMeans | (number | UnitMeans)[] | undefined {
    if (!this.pending.has(param)) return undefined;
    const shape = this.host.shapeOf(param);
    const k = this.reduction(task, shape, key);
    if (k === null) return undefined;
    const st = this.stagedOf(param);
    if (st === undefined) return undefined;
    const room = st.arena.means;
    if (k.means.length > room || k.unitSums > room) {
      return undefined;
    }
    const at = k.inputs.map((name) => st.inputs.get(name));
    const instance = st.arena.instance(k.module);
    if (at.some((x) => x === undefined) || instance === undefined) {
      return undefined;
    }
    const { sc, rs } = this.host.scalarsOf(param, k);
    const meanAt = this.placeMeans(param, k.means, st.arena);
    const sumAt = Array.from(
      { length: k.unitSums },
      (_, q) => st.arena.unitSumAt(q),
    );
    const n = shape.reduce((p, d) => p * d, 1);
    const units = shape.at(-1) ?? 1;
    this.host.starting();
    cpuSimd.reductions++;
    const total = (instance.exports.run as Run)(
      ...at as number[],
      ...meanAt,
      ...sumAt,
      k.byUnit ? n * 4 : Math.floor(n / 4) * 16,
      units * 4,
      k.byUnit ? 0 : n % 4,
      ...k.uniforms(sc, rs),
    );
    // each unit's float64 sum over the rows, divided by the row count
    const rows = n / units;
    const means = sumAt.map((offset) => {
      const sums = new Float64Array(st.arena.memory.buffer, offset, units);
      return sums.map((s) => s / rows);
    });
    const sum = Math.fround(total);
    return task.kind === "sum"
      ? sum
      : task.kind === "mean"
      ? means[0]!
      : [sum, ...means];
  }

  private reduction(
    task: ReductionTask,
    shape: readonly number[],
    key: string,
  ): SimdReduction | null {
    let k = REDUCTIONS.get(key);
    if (k === undefined) {
      REDUCTIONS.set(key, k = makeSimdReduction(task, shape));
    }
    return k;
  }

  /**
   * Writes `param`'s values of `means` into `arena`'s room for them, as
   * float32, once all are computed (computing one may run a reduction that
   * writes means of its own there); gives their byte offsets.
   */
  private placeMeans(
    param: string,
    means: readonly Expr[],
    arena: Arena,
  ): number[] {
    const values = means.map((e) => this.host.reduction(param, e) as UnitMeans);
    return values.map((m, q) => {
      arena.view(arena.meanAt(q), m.length).set(m);
      return arena.meanAt(q);
    });
  }
}
