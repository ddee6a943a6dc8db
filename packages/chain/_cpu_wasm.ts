// Private: the cpu code generator's SIMD loops. For a parameter's outputs
// (the update or new weight and every state slot) it writes one WebAssembly
// function that walks the tensor four float32 lanes at a time (`f32x4`),
// reading each input once and writing every output: the loop JavaScript
// cannot write, since JavaScript has no float32 or SIMD arithmetic (its
// float64 square root and division bound the scalar loop; `deno task
// bench:cpu-simd`). Its arrays must lie in the memory it imports, so it runs
// only over a parameter's arena (`_cpu_pool.ts`): the generator picks it when
// the outputs were taken from one, copying a foreign input (the gradient)
// into the arena first.
//
// Arithmetic is float32, each operation rounded as tfjs's cpu kernels round
// it (a SIMD lane computes exactly what `Math.fround(a op b)` of float32
// operands gives, for + - * / and the square root). Numbers the whole tensor
// shares (hyperparameters, bias corrections, clipping factors, per-tensor
// sums) are computed on the host in float64 and passed in float32; a
// division by one is a multiplication by its reciprocal. GC's per-unit means
// (over every axis but the last, `units` a multiple of 4) are read from the
// arena, as float32. Expressions it has no lanes for (`pow`, `sign`, `gt`,
// `select`, `powTwo` and `bitProduct` of a tensor; other means) get no SIMD
// loop: the JavaScript one runs (`makeSimdKernel` gives `null`).
import type { Expr } from "./_expr.ts";
import { columnMean } from "./_cpu_means.ts";
import { uniform } from "./_cpu_codegen.ts";
import { hostOps } from "./_evaluate.ts";
import {
  ABS,
  ADD,
  countedLoop,
  DIV,
  F32,
  get,
  hasSimd,
  I32,
  i32,
  I32_ADD,
  LOAD,
  MAX,
  MIN,
  MUL,
  NEG,
  set,
  SPLAT,
  SQRT,
  STORE,
  SUB,
  V128,
  wasmModule,
} from "./_wasm_encode.ts";

/** Whether this runtime has SIMD WebAssembly (checked once). */
export const SIMD = hasSimd();

/** A compiled SIMD function (a loop or a reduction) and what it reads. */
export interface SimdFunction {
  /** Input names read, in argument order. */
  readonly inputs: readonly string[];
  /** Shared scalars read (as `Kernel.shared`), in order. */
  readonly shared: readonly Expr[];
  /** Per-parameter sums read (as `Kernel.sums`), in order. */
  readonly sums: readonly Expr[];
  /** Per-unit means read (over every axis but the last, float32), in order. */
  readonly means: readonly Expr[];
  /** Whether it walks rows, then units (it reads or writes per unit). */
  readonly byUnit: boolean;
  /** The module; instantiated once per arena memory. */
  readonly module: WebAssembly.Module;
  /** The host values of its uniform numbers, from `sc` and `rs`. */
  uniforms(sc: readonly number[], rs: readonly number[]): number[];
}

/** A compiled SIMD loop for one list of output expressions. */
export type SimdKernel = SimdFunction;

const BIN: Partial<Record<string, number[]>> = {
  add: ADD,
  sub: SUB,
  mul: MUL,
  div: DIV,
  max: MAX,
  min: MIN,
};
const UN: Partial<Record<string, number[]>> = {
  neg: NEG,
  sqrt: SQRT,
  abs: ABS,
};

/**
 * Float64 host arithmetic for the uniform numbers (default rounding):
 * `evaluate`'s, but `sign` as tfjs's cpu `Sign` (0 for NaN), as the
 * JavaScript loops compute it.
 */
const HOST: Partial<Record<string, (...x: number[]) => number>> = {
  ...hostOps,
  sign: (a) => (a! < 0 ? -1 : a! > 0 ? 1 : 0),
};

/** The expressions have a node the SIMD loop cannot compute. */
export class NoLanes extends Error {}

/** One SIMD function's body and what it reads (`vector` compiles into it). */
export class Compiler {
  readonly inputs: string[] = [];
  readonly shared: Expr[] = [];
  readonly sums: Expr[] = [];
  readonly means: Expr[] = [];
  /** Uniform numbers the loop reads, and whether as a reciprocal. */
  readonly uniform: { e: Expr; reciprocal: boolean; local: number }[] = [];
  byUnit = false;
  /** The loop body. */
  readonly body: number[] = [];
  private readonly local = new Map<string, number>();
  /** v128 locals, after the parameters and the three i32 locals. */
  vectors = 0;

  constructor(
    private readonly shape: readonly number[],
    private readonly firstVector: () => number,
  ) {}

  private newVector(key: string): number {
    const l = this.firstVector() + this.vectors++;
    this.local.set(key, l);
    return l;
  }

  /** The local holding `e`'s uniform value (or its reciprocal), splat. */
  private uniformLocal(e: Expr, reciprocal: boolean): number {
    const key = `${reciprocal ? "r" : "u"}${e.id}`;
    const known = this.local.get(key);
    if (known !== undefined) return known;
    this.checkHost(e);
    const local = this.newVector(key);
    this.uniform.push({ e, reciprocal, local });
    return local;
  }

  /** Registers the host leaves of uniform `e`; throws where it cannot fold. */
  private checkHost(e: Expr): void {
    if (e.op === "const") return;
    if (!e.perParam) {
      if (!this.shared.includes(e)) this.shared.push(e);
      return;
    }
    if (e.op === "sumAll") {
      if (!this.sums.includes(e)) this.sums.push(e);
      return;
    }
    if (HOST[e.op] === undefined) throw new NoLanes(e.op);
    e.args.forEach((a) => this.checkHost(a));
  }

  /** The local holding per-element `e`, computed into the body once. */
  vector(
    e: Expr,
    address: (k: number, kind: "in" | "mean") => number[],
  ): number {
    if (uniform(e)) return this.uniformLocal(e, false);
    const key = `v${e.id}`;
    const known = this.local.get(key);
    if (known !== undefined) return known;
    let code: number[];
    if (e.op === "input") {
      let k = this.inputs.indexOf(e.name);
      if (k < 0) k = this.inputs.push(e.name) - 1;
      code = [...address(k, "in"), ...LOAD];
    } else if (e.op === "mean") {
      const units = this.shape[this.shape.length - 1] ?? 1;
      if (!columnMean(this.shape, e.axes) || units % 4 !== 0) {
        throw new NoLanes("mean");
      }
      this.byUnit = true;
      let k = this.means.indexOf(e);
      if (k < 0) k = this.means.push(e) - 1;
      code = [...address(k, "mean"), ...LOAD];
    } else if (e.op === "div" && uniform(e.args[1]!)) {
      const a = this.vector(e.args[0]!, address);
      const r = this.uniformLocal(e.args[1]!, true);
      code = [...get(a), ...get(r), ...MUL];
    } else if (e.op === "square") {
      const a = this.vector(e.args[0]!, address);
      code = [...get(a), ...get(a), ...MUL];
    } else if (BIN[e.op] !== undefined) {
      const a = this.vector(e.args[0]!, address);
      const b = this.vector(e.args[1]!, address);
      code = [...get(a), ...get(b), ...BIN[e.op]!];
    } else if (UN[e.op] !== undefined) {
      const a = this.vector(e.args[0]!, address);
      code = [...get(a), ...UN[e.op]!];
    } else {
      throw new NoLanes(e.op);
    }
    const l = this.newVector(key);
    this.body.push(...code, ...set(l));
    return l;
  }
}

/** The float64 host value of uniform `e`. */
function fold(
  e: Expr,
  leaf: (e: Expr) => number | undefined,
): number {
  if (e.op === "const") return e.value;
  const v = leaf(e);
  if (v !== undefined) return v;
  return HOST[e.op]!(...e.args.map((a) => fold(a, leaf)));
}

/**
 * The SIMD loop writing `exprs` (none of them uniform) over a tensor of
 * `shape`, or `null` where it has no lanes for them or the runtime no SIMD.
 * Its function `run` takes, in order, the byte offsets of each input, each
 * mean and each output; the bytes of the tensor padded to 16 (rows then
 * units: `rows * units * 4`); the bytes of a row (`units * 4`); and the
 * uniform numbers.
 */
export function makeSimdKernel(
  exprs: readonly Expr[],
  shape: readonly number[],
): SimdKernel | null {
  if (!SIMD) return null;
  // parameters: pointers (inputs, means, outputs), total, row, uniforms;
  // then locals i, base, j and the vectors. A first pass counts them, so
  // that the second can number the locals after the parameters.
  let counts: { inputs: number; params: number };
  try {
    if (exprs.some(uniform)) return null;
    const dry = new Compiler(shape, () => 0);
    exprs.forEach((e) => dry.vector(e, () => []));
    counts = {
      inputs: dry.inputs.length,
      params: dry.inputs.length + dry.means.length + exprs.length + 2 +
        dry.uniform.length,
    };
  } catch (e) {
    if (e instanceof NoLanes) return null;
    throw e;
  }
  const c = new Compiler(shape, () => counts.params + 3);
  const code = loopCode(c, exprs, counts);
  const types = [
    ...Array(counts.params - c.uniform.length).fill(I32),
    ...Array(c.uniform.length).fill(F32),
  ];
  const bytes = wasmModule([{
    name: "run",
    params: types,
    locals: [[3, I32], [c.vectors, V128]],
    code,
  }]);
  const module = compiled(bytes);
  return module === null ? null : kernelOf(c, module);
}

/**
 * `bytes` compiled, or `null` where the runtime refuses (a browser's main
 * thread takes only small modules synchronously): then the JavaScript
 * kernel runs.
 */
export function compiled(
  bytes: Uint8Array<ArrayBuffer>,
): WebAssembly.Module | null {
  try {
    return new WebAssembly.Module(bytes);
  } catch {
    return null;
  }
}

/** The kernel `c` compiled into `module`: what it reads, and its uniforms. */
function kernelOf(c: Compiler, module: WebAssembly.Module): SimdKernel {
  return { ...readsOf(c), byUnit: c.byUnit, module };
}

/**
 * What `c`'s function reads (inputs, shared scalars, sums, per-unit means)
 * and the host values of its uniform numbers.
 */
export function readsOf(c: Compiler): {
  inputs: readonly string[];
  shared: readonly Expr[];
  sums: readonly Expr[];
  means: readonly Expr[];
  uniforms(sc: readonly number[], rs: readonly number[]): number[];
} {
  const passed = [...c.uniform];
  const shared = [...c.shared], sums = [...c.sums];
  return {
    inputs: [...c.inputs],
    shared,
    sums,
    means: [...c.means],
    uniforms(sc, rs) {
      const leaf = (e: Expr) => {
        const s = shared.indexOf(e);
        if (s >= 0) return sc[s]!;
        const r = sums.indexOf(e);
        return r >= 0 ? rs[r]! : undefined;
      };
      return passed.map(({ e, reciprocal }) => {
        const v = fold(e, leaf);
        return Math.fround(reciprocal ? 1 / v : v);
      });
    },
  };
}

/**
 * `body` for every vector, rows then units: `base` over the tensor's bytes
 * (`total`) a row's bytes (`row`) at a time, `j` over a row 16 bytes at a
 * time, `i = base + j` (the numbers are locals and parameters).
 */
export function rowsThenUnits(
  l: { I: number; BASE: number; J: number; TOTAL: number; ROW: number },
  body: number[],
): number[] {
  return [
    ...i32(0),
    ...set(l.BASE),
    ...countedLoop(l.BASE, l.TOTAL, get(l.ROW), [
      ...i32(0),
      ...set(l.J),
      ...countedLoop(l.J, l.ROW, i32(16), [
        ...get(l.BASE),
        ...get(l.J),
        ...I32_ADD,
        ...set(l.I),
        ...body,
      ]),
    ]),
  ];
}

/** Code that splats each uniform parameter (from `first` on) into its local. */
export function splatUniforms(c: Compiler, first: number): number[] {
  return c.uniform.flatMap(({ local }, k) => [
    ...get(first + k),
    ...SPLAT,
    ...set(local),
  ]);
}

/**
 * The function's code: the uniform numbers splat, then the loop over the
 * tensor (flat, or rows then units where a per-unit mean is read), whose
 * body `c` compiles from `exprs` and which stores every output.
 */
function loopCode(
  c: Compiler,
  exprs: readonly Expr[],
  { inputs, params }: { inputs: number; params: number },
): number[] {
  const I = params, BASE = params + 1, J = params + 2;
  // (a mean's pointer follows every input's, however many are met first)
  const address = (k: number, kind: "in" | "mean") =>
    kind === "in"
      ? [...get(k), ...get(I), ...I32_ADD]
      : [...get(inputs + k), ...get(J), ...I32_ADD];
  const locals = exprs.map((e) => c.vector(e, address));
  const outBase = (k: number) => c.inputs.length + c.means.length + k;
  const TOTAL = outBase(exprs.length), ROW = TOTAL + 1;
  const stores = locals.flatMap((l, k) => [
    ...get(outBase(k)),
    ...get(I),
    ...I32_ADD,
    ...get(l),
    ...STORE,
  ]);
  const splats = splatUniforms(c, ROW + 1);
  const body = [...c.body, ...stores];
  const loop = c.byUnit
    ? rowsThenUnits({ I, BASE, J, TOTAL, ROW }, body)
    : [...i32(0), ...set(I), ...countedLoop(I, TOTAL, i32(16), body)];
  return [...splats, ...loop];
}
