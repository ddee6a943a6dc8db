// Private: the one place where WGSL is written (with its operator tables,
// `_wgsl_ops.ts`). `Kernel` turns @centra/chain expressions into WGSL
// statements and records the tensors (bindings) and numbers (uniforms) they
// read; the functions below are the shader skeletons every program of
// `_scalars.ts`, `_step.ts`, `_mean.ts` and `_sum.ts` fills in.
import { type Expr, powTwo } from "./_chain.ts";
import { BINARY, POW4_HELPER, POW_HELPER, UNARY } from "./_wgsl_ops.ts";
import { gather, groupsOf } from "./_groups.ts";
import type { Binding, ProgramHost } from "./_program.ts";

export function f32Literal(x: number): string {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setFloat32(0, x);
  return `bitcast<f32>(${buf.getUint32(0)}u)`;
}

/** The entry point tfjs's shader preamble calls once per thread. */
export function mainHeader(): string {
  return "fn main(index : i32)";
}

/** A tfjs program's `main`: `body` for every thread below `uniforms.size`. */
export function guardedMain(body: string): string {
  return `${mainHeader()} {
  if (index < uniforms.size) {
${body}
  }
}`;
}

/** A program's `main` that writes `centraValue(index)` (see `valueFunction`). */
export function valueMain(): string {
  return guardedMain("    setOutputAtIndex(index, centraValue(index));");
}

/** A `vec4<f32>` or `f32` array element type. */
export function elementType(vec: boolean): string {
  return vec ? "vec4<f32>" : "f32";
}

/**
 * A whole shader that writes `outputs` arrays at once (for `_dispatch.ts`,
 * outside tfjs's preamble): bindings are the outputs, then `k`'s inputs,
 * then the uniforms; `centraOut(i)` runs `k`'s statements and stores
 * `values` at element `i` of each output.
 */
export function multiOutputShader(
  k: Kernel,
  values: readonly string[],
  workgroup: number,
): string {
  const type = elementType(k.vec);
  const n = values.length;
  return [
    ...values.map((_, o) =>
      `@group(0) @binding(${o}) var<storage, read_write> Y${o} : array<${type}>;`
    ),
    ...k.bindings.map((_, b) =>
      `@group(0) @binding(${n + b}) var<storage, read> X${b} : array<${
        elementType(k.components[b] === 4)
      }>;`
    ),
    `struct Uniforms { NAN : f32, INFINITY : f32, size : i32, ${
      k.uniforms.map((_, h) => `h${h} : f32,`).join(" ")
    } };`,
    `@group(0) @binding(${
      n + k.bindings.length
    }) var<uniform> uniforms : Uniforms;`,
    k.functions(),
    `fn centraOut(i : i32) {
${k.lines.join("\n")}
${values.map((v, o) => `  Y${o}[i] = ${type}(${v});`).join("\n")}
}
@compute @workgroup_size(${workgroup})
fn main(@builtin(workgroup_id) wid : vec3<u32>,
        @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let index = i32((wid.y * nwg.x + wid.x) * ${workgroup}u + lid);
  if (index < uniforms.size) { centraOut(index); }
}`,
  ].join("\n");
}

/** One kernel's bindings, uniforms and statements. */
export class Kernel {
  readonly bindings: Binding[];
  /** Components each binding is read with (4 in vec4 kernels for per-element arrays). */
  readonly components: number[];
  /** Number-only subexpressions, folded on the host each step into uniforms. */
  readonly uniforms: Expr[];
  readonly lines: string[] = [];
  private readonly bound: Map<string, string>;
  private readonly names = new Map<number, string>();
  private readonly uniformNames: Map<number, string>;
  private readonly helpers: Set<string>;
  private readonly wideness = new Map<number, boolean>();
  /** Ids of the comparisons computed in this kernel (WGSL bools). */
  private readonly bools = new Set<number>();
  /**
   * Where a multi-output kernel reads its per-unit mean (the `mean` with id
   * `mean`, over all axes but the last, `units` long) and, after it, the
   * packed scalars.
   */
  columns: { mean: number; units: number; binding: Binding } | undefined;

  constructor(
    private readonly host: ProgramHost,
    /** The parameter per-element values are of; `null` for shared scalars. */
    private readonly param: string | null,
    /** Whether `i` counts vec4s and per-parameter values are `vec4<f32>`. */
    readonly vec = false,
    /**
     * Where subexpressions shared by every element that need tensors come
     * from: one `[1]` tensor each, computed per step (`"scalar"`), the step's
     * packed scalars (`"pack"`), or computed in place (`"none"`).
     */
    private readonly hoist: "scalar" | "pack" | "none" = "scalar",
    /** Another member of the same shader, whose bindings and uniforms this one shares. */
    shared?: Kernel,
  ) {
    this.bindings = shared?.bindings ?? [];
    this.components = shared?.components ?? [];
    this.uniforms = shared?.uniforms ?? [];
    this.bound = shared?.bound ?? new Map();
    this.uniformNames = shared?.uniformNames ?? new Map();
    this.helpers = shared?.helpers ?? new Set();
  }

  functions(): string {
    return [...this.helpers].join("\n");
  }

  /**
   * A WGSL function `name(i)` that returns `e` at element `i` (a `vec4<f32>`
   * in vec4 kernels); call `functions()` after it, for the helpers it needs.
   */
  valueFunction(e: Expr, name = "centraValue"): string {
    const v = this.emit(e);
    const type = this.vec ? "vec4<f32>" : "f32";
    return `fn ${name}(i : i32) -> ${type} {
${this.lines.join("\n")}
  return ${type}(${v});
}`;
  }

  /** The keys of the tensors bound so far. */
  keys(): string[] {
    return [...this.bound.keys()];
  }

  /** Binds a tensor once; returns its WGSL array name. */
  bind(key: string, b: Binding, components = 1): string {
    const found = this.bound.get(key);
    if (found !== undefined) return found;
    const name = `X${this.bindings.length}`;
    this.bindings.push(b);
    this.components.push(components);
    this.bound.set(key, name);
    return name;
  }

  private uniform(e: Expr): string {
    const found = this.uniformNames.get(e.id);
    if (found !== undefined) return found;
    const name = `uniforms.h${this.uniforms.length}`;
    this.uniforms.push(e);
    this.uniformNames.set(e.id, name);
    return name;
  }

  /** Whether `e` is a `vec4<f32>` here: it varies per element, in a vec4 kernel. */
  private wide(e: Expr): boolean {
    if (!this.vec) return false;
    if (e.op === "input" || e.op === "mean") return true;
    if (e.op === "sumAll" || e.op === "globalSum" || !e.perParam) return false;
    const known = this.wideness.get(e.id);
    if (known !== undefined) return known;
    const w = e.args.some((a) => this.wide(a));
    this.wideness.set(e.id, w);
    return w;
  }

  /** WGSL for `e` at element `i`; statements go to `lines`. */
  emit(e: Expr): string {
    const known = this.names.get(e.id);
    if (known !== undefined) return known;
    const code = this.code(e);
    if (/^[A-Za-z_][\w.]*$/.test(code) || /^bitcast/.test(code)) {
      this.names.set(e.id, code);
      return code;
    }
    const name = `v${this.names.size}`;
    this.lines.push(`  let ${name} = ${code};`);
    this.names.set(e.id, name);
    return name;
  }

  /**
   * `@centra/chain`'s `powInt`: the factors for the set bits of a whole
   * exponent, multiplied pairwise in the order the tf ops use.
   */
  private bitProduct(e: Expr): string {
    const n = this.emit(e.args[0]!);
    const factors = e.args.slice(1).map((x) => this.emit(x));
    const id = `b${e.id}`;
    this.lines.push(
      `  let ${id}n = u32(min(select(0.0, f32(${n}), f32(${n}) > 0.0), 33554431.0));`,
    );
    let f = Array.from(
      { length: 32 },
      (_, k) =>
        k < factors.length
          ? `select(1.0, f32(${factors[k]}), ((${id}n >> ${k}u) & 1u) == 1u)`
          : "1.0",
    );
    for (let m = 16, level = 0; m >= 1; m /= 2, level++) {
      f = f.slice(0, m).map((x, j) => {
        const name = `${id}_${level}_${j}`;
        this.lines.push(`  let ${name} = ${x} * ${f[j + m]};`);
        return name;
      });
    }
    return f[0]!;
  }

  private code(e: Expr): string {
    if (e.op === "const") return f32Literal(e.value);
    const shared = this.sharedCode(e);
    if (shared !== undefined) return shared;
    if (e.perParam && e.op !== "mean" && e.op !== "sumAll") {
      const p = this.paramOf();
      if (this.host.planned(p, e)) {
        const b: Binding = { kind: "done", param: p, e };
        return `${this.bind(`${p}|e${e.id}`, b, this.vec ? 4 : 1)}[i]`;
      }
    }
    // only a comparison computed here is a WGSL bool; one read from memory
    // (a hoisted scalar, a uniform, a planned tensor) is a float, 1 or 0
    if (e.op === "gt") this.bools.add(e.id);
    return this.opCode(e);
  }

  /** The kernel's parameter, which only per-parameter expressions need. */
  private paramOf(): string {
    if (this.param === null) {
      throw new TypeError("fuse: a shared subexpression read a tensor input");
    }
    return this.param;
  }

  /** Where a subexpression shared by every element is read, if it is. */
  private sharedCode(e: Expr): string | undefined {
    if (e.perParam || e.op === "globalSum") return undefined;
    const r = this.host;
    if (r.fold(e) !== undefined) return this.uniform(e);
    if (this.hoist === "pack") {
      const slot = r.packSlot(e);
      if (this.columns !== undefined) {
        const at = this.columns.units + slot;
        return this.vec
          ? `${this.bind("columns", this.columns.binding, 4)}[${at >> 2}][${
            at & 3
          }]`
          : `${this.bind("columns", this.columns.binding)}[${at}]`;
      }
      return `${this.bind("pack", { kind: "pack" })}[${slot}]`;
    }
    if (e.op !== "hyper" && this.hoist === "scalar") {
      return `${this.bind(`s${e.id}`, { kind: "scalar", e })}[0]`;
    }
    return undefined;
  }

  /** WGSL for the operator of `e` applied to its operands. */
  private opCode(e: Expr): string {
    // in vec4 kernels, functions need both operands as vectors
    const wide = this.wide(e);
    const arg = (k: number) => {
      const x = e.args[k]!, v = this.emit(x);
      return wide && !this.wide(x) ? `vec4<f32>(${v})` : v;
    };
    const binary = BINARY[e.op];
    if (binary !== undefined) return binary(arg(0), arg(1));
    const unary = UNARY[e.op];
    if (unary !== undefined) return unary(arg(0));
    switch (e.op) {
      case "input":
      case "hyper":
      case "globalSum":
      case "sumAll":
        return this.readCode(e);
      case "mean":
        return this.meanCode(e);
      case "pow":
        // a helper function: WGSL's pow is undefined for negative bases
        this.helpers.add(POW_HELPER);
        if (wide) this.helpers.add(POW4_HELPER);
        return `${wide ? "centraPow4" : "centraPow"}(${arg(0)}, ${arg(1)})`;
      case "powTwo": {
        if (e.value === 0) return arg(0);
        const x = this.emit(powTwo(e.args[0]!, e.value - 1));
        return `(${x} * ${x})`;
      }
      case "square": {
        const x = arg(0);
        return `(${x} * ${x})`;
      }
      case "bitProduct":
        return this.bitProduct(e);
      case "select":
        return this.selectCode(e.args[0]!, arg(1), arg(2));
    }
    throw new TypeError(`fuse: no WGSL for the operator "${e.op}"`);
  }

  /** WGSL that reads a leaf from memory: an input, a hyperparameter, a sum. */
  private readCode(e: Expr): string {
    if (e.op === "hyper") {
      const slot = this.host.scalarSlot(e.name);
      if (slot === undefined) {
        throw new TypeError(`fuse: no value for hyperparameter "${e.name}"`);
      }
      return `${this.bind("hypers", { kind: "hypers" })}[${slot}]`;
    }
    if (e.op === "globalSum") {
      return `${this.bind(`g:${e.name}`, { kind: "global", tag: e.name })}[0]`;
    }
    const p = this.paramOf();
    if (e.op === "sumAll") {
      return `${
        this.bind(`${p}|e${e.id}`, { kind: "sumAll", param: p, e })
      }[0]`;
    }
    const b: Binding = { kind: "input", param: p, name: e.name };
    return `${this.bind(`${p}|in:${e.name}`, b, this.vec ? 4 : 1)}[i]`;
  }

  /**
   * `select(f, t, cond)`: a scalar condition may pick between vectors (no
   * splat for it); a condition that is a float (read from memory) is true
   * where nonzero.
   */
  private selectCode(cond: Expr, t: string, f: string): string {
    const c0 = this.emit(cond);
    const c = this.bools.has(cond.id)
      ? c0
      : this.wide(cond)
      ? `(${c0} != vec4<f32>(0.0))`
      : `(${c0} != 0.0)`;
    return `select(${f}, ${t}, ${c})`;
  }

  /** A per-unit mean of `e`'s argument, read at element `i`. */
  private meanCode(e: Expr): string {
    const p = this.paramOf();
    if (e.id === this.columns?.mean) {
      const { units, binding } = this.columns;
      // a vec4 kernel (units % 4 == 0) reads four neighbouring units
      const a = this.bind("columns", binding, this.vec ? 4 : 1);
      return `${a}[u32(i) % ${this.vec ? units / 4 : units}u]`;
    }
    const t: Binding = { kind: "mean", param: p, e };
    const groups = groupsOf(this.host.shapeOf(p), e.axes);
    const last = groups.kept.length - 1;
    if (this.vec && groups.kept[last] && groups.sizes[last]! % 4 === 0) {
      // units on the last axis: four neighbours are four neighbouring units
      const m4 = this.bind(`${p}|e${e.id}`, t, 4);
      const units = groups.sizes[last]! / 4;
      return groups.keptSize === groups.sizes[last]!
        ? `${m4}[u32(i) % ${units}u]`
        : `${m4}[${gather(groups, "(4 * i)", true, "flat")} / 4]`;
    }
    const m = this.bind(`${p}|e${e.id}`, t);
    if (!this.vec) return `${m}[${gather(groups, "i", true, "flat")}]`;
    const lanes = [0, 1, 2, 3].map((l) =>
      `${m}[${gather(groups, `(4 * i + ${l})`, true, "flat")}]`
    );
    return `vec4<f32>(${lanes.join(", ")})`;
  }
}
