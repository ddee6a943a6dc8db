// Private: the cpu code generator's kernels. From a parameter's composed
// expressions it writes one JavaScript function (`new Function`) that walks
// the tensor once, reading each input array once per element and writing
// every output; reductions (`mean`, `sumAll`, a parameter's part of a
// `globalSum`) are kernels of their own, run before the loops that read
// them (`_cpu_generator.ts` orders them).
//
// Two roundings. By default (`exact` false) each element's arithmetic runs
// in float64 and is rounded to float32 once, when the Float32Array stores
// it, a division by a number the whole tensor shares is a multiplication
// by its reciprocal (computed once), and GC's per-unit means stay in float64:
// the fastest loop, and never less accurate than op by op. With `exact`, every intermediate is
// rounded to float32 (`Math.fround`) exactly where tfjs's cpu kernels round,
// so that a fused step gives the op-by-op step's numbers bit for bit:
//
// - elementwise ops: `fround(op(a, b))` of float32 operands, as the cpu
//   backend computes in float64 and stores into a Float32Array;
// - `sign` as tfjs's cpu `Sign` (0 for NaN), `select` as `Select`;
// - `powTwo` of a tensor by squarings, `bitProduct` by `bitProductHost`,
//   as `_evaluate.ts` and `_pow_int.ts` do on cpu;
// - sums in float64, in tfjs's order, rounded once (`Sum`); GC's per-unit
//   mean over every axis but the last as `unitMean` computes it on cpu (a
//   `matMul` with a row of ones, in blocks of `blockSize` rows, then a
//   division by the row count), other means as tfjs's `Mean` (each value
//   divided by the count, then summed).
//
// Everything that does not change with the numbers is in the source; every
// number that does (hyperparameters, step counts, norms, shapes) is an
// argument, so schedules never recompile. The source depends on the
// expressions' structure only: one compiled function serves every shape.
import { type Expr, powTwo } from "./_expr.ts";
import { columnMean, meanAxes } from "./_cpu_means.ts";
import { bitProductHost } from "./_pow_int.ts";
import {
  BINARY,
  literal,
  pairwise,
  type Round,
  ROWS,
  UNARY,
} from "./_cpu_source_parts.ts";

/** What a kernel computes. */
export type KernelTask =
  /** Each expression for every element, into fresh Float32Arrays. */
  | { kind: "outputs"; exprs: readonly Expr[] }
  /** `Σ arg` over the tensor, in float64, rounded once (tf.sum on cpu). */
  | { kind: "sum"; arg: Expr }
  /** A `mean` node: its argument averaged over `axes`, kept shape. */
  | { kind: "mean"; node: Expr }
  /**
   * Default rounding only: a `sum` and per-unit `mean` nodes (over every
   * axis but the last) of the same tensor in one pass, as the two kernels
   * compute them apart; the kernel gives `[sum, ...means]`.
   */
  | { kind: "sumAndMeans"; arg: Expr; means: readonly Expr[] };

/** A compiled kernel for one task, with what it reads. */
export interface Kernel {
  /** Input names read, in argument order. */
  readonly inputs: readonly string[];
  /** Shared scalars (not per parameter: hypers, bias corrections, global norms), in order. */
  readonly shared: readonly Expr[];
  /** Per-parameter scalar reductions (`sumAll`) read, in order. */
  readonly sums: readonly Expr[];
  /** Per-unit reductions (`mean`) read, in order. */
  readonly means: readonly Expr[];
  /** Runs the kernel (see `KernelArgs`). */
  readonly fn: (a: KernelArgs) => KernelResult;
}

/** Everything a kernel reads at run time. */
export interface KernelArgs {
  ins: readonly ArrayLike<number>[];
  sc: readonly number[];
  rs: readonly number[];
  ms: readonly UnitMeans[];
  /** Per mean of `ms`: element index to mean index, or null for `j` (per unit). */
  maps: readonly (Int32Array | null)[];
  rows: number;
  units: number;
  /** For "outputs": the arrays to write; for "mean": the mean's shape data. */
  outs: readonly Float32Array[];
  /** tfjs cpu's `blockSize` (rows per block of its matMul). */
  block: number;
  /** For a general "mean": the tensor's shape. */
  shape: readonly number[];
}

/**
 * A mean's values: float32 as tfjs rounds them (`exact`, and means over
 * other axes), or float64 where the default rounding keeps them unrounded.
 */
export type UnitMeans = Float32Array | Float64Array;

/** A sum, a mean, both (`sumAndMeans`), or nothing (outputs are written). */
export type KernelResult =
  | number
  | UnitMeans
  | (number | UnitMeans)[]
  | void;

type KernelFn = (H: Helpers, a: KernelArgs) => KernelResult;

/** Functions the generated code calls. */
interface Helpers {
  bp(n: number, factors: number[]): number;
  meanAxes(
    x: Float32Array,
    shape: readonly number[],
    axes: readonly number[],
  ): Float32Array;
}

const HELPERS: Helpers = { bp: bitProductHost, meanAxes };

const compiled = new Map<string, KernelFn>();
let compileCount = 0;

/** How many kernel functions this module has compiled (for tests). */
export function kernelsCompiled(): number {
  return compileCount;
}

/** The kernel for `task`, its source compiled once per structure. */
export function makeKernel(
  task: KernelTask,
  shape: readonly number[],
  exact = true,
): Kernel {
  const g = new Source(shape, exact);
  const body = g.task(task);
  const code = `"use strict";
const F = Math.fround;
const ins = a.ins, sc = a.sc, rs = a.rs, ms = a.ms, maps = a.maps;
const rows = a.rows, units = a.units;
${g.decls()}
${body}`;
  let fn = compiled.get(code);
  if (fn === undefined) {
    fn = new Function("H", "a", code) as KernelFn;
    compileCount++;
    compiled.set(code, fn);
  }
  return {
    inputs: g.inputs,
    shared: g.shared,
    sums: g.sums,
    means: g.means,
    fn: (a) => fn(HELPERS, a),
  };
}

const UNIFORM = new Map<number, boolean>();

/**
 * Whether `e` is one number per parameter (no input, no per-unit mean): a
 * loop computes it once, before its elements. Also the SIMD loops' test
 * (`_cpu_wasm.ts`).
 */
export function uniform(e: Expr): boolean {
  let u = UNIFORM.get(e.id);
  if (u !== undefined) return u;
  if (!e.perParam || e.op === "sumAll") u = true;
  else if (e.op === "input" || e.op === "mean") u = false;
  else u = e.args.every(uniform);
  UNIFORM.set(e.id, u);
  return u;
}

/** The source of one kernel: declarations, a prologue and a loop body. */
class Source {
  readonly inputs: string[] = [];
  readonly shared: Expr[] = [];
  readonly sums: Expr[] = [];
  readonly means: Expr[] = [];
  private readonly vars = new Map<number, string>();
  private readonly head: string[] = [];
  private pre: string[] = [];
  private body: string[] = [];
  private n = 0;
  /** Whether the body reads a per-unit mean by its unit `j`. */
  private byUnit = false;

  /** Rounds an operation's result (see `Round`). */
  private readonly R: Round;

  constructor(
    private readonly shape: readonly number[],
    private readonly exact: boolean,
  ) {
    this.R = exact ? (c) => `F(${c})` : (c) => `(${c})`;
  }

  decls(): string {
    return this.head.join("\n");
  }

  task(t: KernelTask): string {
    if (t.kind === "outputs") return this.outputs(t.exprs);
    if (t.kind === "sum") return this.sum(t.arg);
    if (t.kind === "sumAndMeans") return this.sumAndMeans(t.arg, t.means);
    return this.mean(t.node);
  }

  private outputs(exprs: readonly Expr[]): string {
    const loop: string[] = [];
    const fills: string[] = [];
    exprs.forEach((e, k) => {
      this.head.push(`const o${k} = a.outs[${k}];`);
      const v = this.value(e);
      if (this.uniform(e)) fills.push(`o${k}.fill(${v});`);
      else loop.push(`o${k}[i] = ${v};`);
    });
    return this.assemble(this.loop([...this.body, ...loop]), fills);
  }

  private sum(arg: Expr): string {
    const v = this.value(arg);
    if (this.uniform(arg)) {
      // tf.sum of a scalar is that scalar
      return this.assemble([], [`return F(${v});`]);
    }
    if (!this.exact) return this.sumPass(v, [], (total) => `return ${total};`);
    const loop = this.loop([...this.body, `s += ${v};`]);
    return this.assemble(["let s = 0;", ...loop], ["return F(s);"]);
  }

  /**
   * A sum and per-unit means in one pass: each accumulated exactly as
   * `sum` and the default `mean` accumulate it alone (the same float64
   * sums in the same order), so only the reads are shared.
   */
  private sumAndMeans(arg: Expr, means: readonly Expr[]): string {
    const args = means.map((m) => m.args[0]!);
    if (
      this.exact || [arg, ...args].some((e) => this.uniform(e)) ||
      !means.every((m) => columnMean(this.shape, m.axes))
    ) {
      throw new Error("sumAndMeans: per-element values, default rounding");
    }
    return this.sumPass(
      this.value(arg),
      args.map((e) => this.value(e)),
      (total, bs) => `return [${total}, ${bs.join(", ")}];`,
    );
  }

  /**
   * The default rounding's pass behind `sum` and `sumAndMeans`: the float64
   * sum of `v`, ROWS rows at a time into as many sums so that no add waits
   * for the one before it (named `acc…`, apart from the shared scalars
   * `s…`), and each unit's float64 sum of each of `ws` divided by `rows`;
   * then the line `done` makes of the total and the means' names.
   */
  private sumPass(
    v: string,
    ws: readonly string[],
    done: (total: string, means: string[]) => string,
  ): string {
    const sums = Array.from({ length: ROWS }, (_, k) => `acc${k}`);
    const bs = ws.map((_, q) => `mb${q}`);
    const loop = this.rowsAtOnce([v, ...ws], (rs) => [
      ...rs.map(([x], k) => `${sums[k]} += ${x};`),
      ...bs.map((b, q) => `${b}[j] += ${pairwise(rs.map((r) => r[q + 1]!))};`),
    ]);
    return this.assemble([
      `let ${sums.map((x) => `${x} = 0`).join(", ")};`,
      ...bs.map((b) => `const ${b} = new Float64Array(units);`),
      ...loop,
    ], [
      ...bs.map((b) => `for (let j = 0; j < units; j++) ${b}[j] /= rows;`),
      done(`F(${pairwise(sums)})`, bs),
    ]);
  }

  private mean(node: Expr): string {
    const arg = node.args[0]!;
    const v = this.value(arg);
    if (columnMean(this.shape, node.axes) && !this.exact) {
      // each unit's float64 sum over the rows, ROWS rows at a time, divided
      // by the row count
      const loop = this.rowsAtOnce(
        [v],
        (rs) => [`b[j] += ${pairwise(rs.map((r) => r[0]!))};`],
      );
      return this.assemble([
        "const b = new Float64Array(units);",
        ...loop,
      ], [
        "for (let j = 0; j < units; j++) b[j] /= rows;",
        "return b;",
      ]);
    }
    if (columnMean(this.shape, node.axes)) {
      // unitMean on cpu: matMul(ones[1, rows], x[rows, units]) / rows; the
      // matMul sums each block of rows in float64 into a float32 total
      const inner = [...this.body, `b[j] += ${v};`];
      return this.assemble([
        "const m = new Float32Array(units), b = new Float64Array(units);",
        "for (let r0 = 0; r0 < rows; r0 += a.block) {",
        "  const r1 = Math.min(r0 + a.block, rows);",
        "  b.fill(0);",
        "  for (let r = r0; r < r1; r++) {",
        "    const base = r * units;",
        "    for (let j = 0; j < units; j++) {",
        "      const i = base + j;",
        ...inner.map((l) => `      ${l}`),
        "    }",
        "  }",
        "  for (let j = 0; j < units; j++) m[j] += b[j];",
        "}",
      ], [
        "const d = F(rows);",
        "for (let j = 0; j < units; j++) m[j] = m[j] / d;",
        "return m;",
      ]);
    }
    // tf.mean: the values, then tfjs's Mean over the axes
    const axes = JSON.stringify(node.axes);
    if (this.uniform(arg)) {
      return this.assemble([], [
        `return H.meanAxes(new Float32Array([${v}]), [], ${axes});`,
      ]);
    }
    const loop = this.loop([...this.body, `x[i] = ${v};`]);
    return this.assemble(
      ["const x = new Float32Array(rows * units);", ...loop],
      [`return H.meanAxes(x, a.shape, ${axes});`],
    );
  }

  /** The prologue (uniform values), then `main`, then `after`. */
  private assemble(main: string[], after: string[]): string {
    return [...this.pre, ...main, ...after].join("\n");
  }

  /**
   * `lines` for every element `i` (row `r`, unit `j`): one flat loop over
   * `i` where no line reads a per-unit mean by its unit (a loop fewer,
   * about 5% off an Adam step's loop), else rows, then units.
   */
  private loop(lines: string[]): string[] {
    if (!this.byUnit) {
      return [
        "for (let i = 0, n = rows * units; i < n; i++) {",
        ...lines.map((l) => `  ${l}`),
        "}",
      ];
    }
    return [
      "for (let r = 0; r < rows; r++) {",
      "  const base = r * units;",
      "  for (let j = 0; j < units; j++) {",
      "    const i = base + j;",
      ...lines.map((l) => `    ${l}`),
      "  }",
      "}",
    ];
  }

  /**
   * A loop over every element that takes `ROWS` rows per pass, one from
   * each of `ROWS` equal parts of the tensor (so that it reads as many
   * streams from memory at once, which a single stream does not keep busy):
   * the body once per row (row `k`'s values renamed `v…_k`, its index `ik`),
   * then `use` of each row's `values` (one list per row, in row order); the
   * rows left over one at a time (`use` of one list).
   */
  private rowsAtOnce(
    values: readonly string[],
    use: (rows: string[][]) => string[],
  ): string[] {
    // only what the body declares is per row (uniform values are in `pre`)
    const local = new Set(
      this.body.map((l) => /^const (v\d+) =/.exec(l)?.[1]).filter((x) =>
        x !== undefined
      ),
    );
    const rename = (k: number) => (code: string) =>
      k === 0
        ? code
        : code.replace(/\bv\d+\b/g, (x) => local.has(x) ? `${x}_${k}` : x)
          .replace(/\bi\b/g, `i${k}`);
    const copy = (k: number) =>
      k === 0
        ? this.body
        : [`const i${k} = i + ${k} * span;`, ...this.body.map(rename(k))];
    const ks = Array.from({ length: ROWS }, (_, k) => k);
    const inner = [
      ...ks.flatMap(copy),
      ...use(ks.map((k) => values.map(rename(k)))),
    ];
    return [
      `const part = Math.floor(rows / ${ROWS}), span = part * units;`,
      "let r = 0;",
      "for (; r < part; r++) {",
      "  const base = r * units;",
      "  for (let j = 0; j < units; j++) {",
      "    const i = base + j;",
      ...inner.map((l) => `    ${l}`),
      "  }",
      "}",
      `for (r = ${ROWS} * part; r < rows; r++) {`,
      "  const base = r * units;",
      "  for (let j = 0; j < units; j++) {",
      "    const i = base + j;",
      ...[...this.body, ...use([[...values]])].map((l) => `    ${l}`),
      "  }",
      "}",
    ];
  }

  private uniform(e: Expr): boolean {
    return uniform(e);
  }

  /** The source of `e`'s value, declared once (in the prologue if uniform). */
  private value(e: Expr): string {
    const known = this.vars.get(e.id);
    if (known !== undefined) return known;
    if (e.op === "const") return `${literal(Math.fround(e.value))}`;
    let v: string;
    if (!e.perParam) {
      v = `s${this.shared.length}`;
      this.head.push(`const ${v} = sc[${this.shared.length}];`);
      this.shared.push(e);
    } else if (e.op === "sumAll") {
      v = `t${this.sums.length}`;
      this.head.push(`const ${v} = rs[${this.sums.length}];`);
      this.sums.push(e);
    } else if (e.op === "mean") {
      const k = this.means.length;
      this.means.push(e);
      this.head.push(`const m${k} = ms[${k}], q${k} = maps[${k}];`);
      const index = columnMean(this.shape, e.axes) ? "j" : `q${k}[i]`;
      if (index === "j") this.byUnit = true;
      v = this.emit(e, `m${k}[${index}]`);
    } else if (e.op === "input") {
      let k = this.inputs.indexOf(e.name);
      if (k < 0) {
        k = this.inputs.length;
        this.inputs.push(e.name);
        this.head.push(`const x${k} = ins[${k}];`);
      }
      v = this.emit(e, `x${k}[i]`);
    } else {
      v = this.emit(e, this.op(e));
    }
    this.vars.set(e.id, v);
    return v;
  }

  private emit(e: Expr, code: string): string {
    const v = `v${this.n++}`;
    (this.uniform(e) ? this.pre : this.body).push(`const ${v} = ${code};`);
    return v;
  }

  private op(e: Expr): string {
    if (e.op === "powTwo") {
      // k float32 squarings, each shared with the other factors
      const base = this.value(e.args[0]!);
      if (e.value === 0) return base;
      const half = this.value(powTwo(e.args[0]!, e.value - 1));
      return this.R(`${half} * ${half}`);
    }
    if (
      e.op === "div" && !this.exact && !this.uniform(e.args[0]!) &&
      this.uniform(e.args[1]!)
    ) {
      // by a number the tensor shares: its reciprocal, computed once
      const r = `rc${this.n++}`;
      this.pre.push(`const ${r} = 1 / ${this.value(e.args[1]!)};`);
      return `(${this.value(e.args[0]!)} * ${r})`;
    }
    const args = e.args.map((a) => this.value(a));
    if (e.op === "bitProduct") {
      return `H.bp(${args[0]}, [${args.slice(1).join(", ")}])`;
    }
    if (e.op === "select") return `(${args[0]} ? ${args[1]} : ${args[2]})`;
    const b = BINARY[e.op];
    if (b !== undefined) return b(args[0]!, args[1]!, this.R);
    const u = UNARY[e.op];
    if (u !== undefined) return u(args[0]!, this.R);
    throw new TypeError(`fuse: the cpu generator has no code for "${e.op}"`);
  }
}
