// Private: the WGSL side of @centra/webgpu's kernels. `Kernel` turns
// @centra/chain expressions into WGSL statements and records the tensors
// (bindings) and numbers (uniforms) they read; `Program` is the shape tfjs's
// `runWebGPUProgram` takes. `_kernels.ts` decides which kernels a step needs
// and runs them.
import type * as tf from "@tensorflow/tfjs";
import { type Expr, powTwo } from "@centra/chain/expr";

/** What a `Kernel` asks of the step it generates code for (`Runner`). */
export interface KernelHost {
  /** A number-only subexpression's value this step, if it has one. */
  fold(e: Expr): number | undefined;
  /** The slot of a shared subexpression in the step's packed scalars. */
  packSlot(e: Expr): number;
  /** The slot of a tensor hyperparameter in the packed scalars buffer. */
  scalarSlot(name: string): number | undefined;
  /** A tensor already computed this step for `param`, by expression. */
  computed(param: string, e: Expr): tf.Tensor | undefined;
  shapeOf(param: string): readonly number[];
}

/** A program in the shape tfjs-backend-webgpu's `runWebGPUProgram` takes. */
export class Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size = true;
  atomic = false;
  uniforms?: string;
  variableComponents: number[];
  outputComponent: number;
  private code: string;

  constructor(
    opts: {
      size: number;
      uniforms: number;
      code: string;
      workgroup: number;
      groups: number;
      components: number[];
      outputComponent: number;
      key: string;
    },
  ) {
    this.variableNames = opts.components.map((_, k) => `X${k}`);
    this.variableComponents = opts.components;
    this.outputComponent = opts.outputComponent;
    this.outputShape = [opts.size];
    this.dispatchLayout = { x: [0] };
    this.workgroupSize = [opts.workgroup, 1, 1];
    this.dispatch = [opts.groups, 1, 1];
    if (opts.uniforms > 0) {
      this.uniforms = Array.from(
        { length: opts.uniforms },
        (_, k) => `h${k} : f32,`,
      )
        .join(" ");
    }
    this.code = opts.code;
    this.shaderKey = opts.key;
  }

  getUserCode(): string {
    return this.code;
  }
}

/** The fused kernels' names, as `tf.time`'s per-kernel profile lists them. */
type KernelName =
  | "CentraScalars"
  | "CentraScalar"
  | "CentraMeanPartials"
  | "CentraMeanTotal"
  | "CentraMean"
  | "CentraSum"
  | "CentraElementwise";

const programClasses = new Map<KernelName, typeof Program>();

/** A subclass of `Program` named `name` (tfjs times programs by class name). */
function programClass(name: KernelName): typeof Program {
  let c = programClasses.get(name);
  if (c === undefined) {
    c = { [name]: class extends Program {} }[name]!;
    programClasses.set(name, c);
  }
  return c;
}

function hash(s: string): string {
  // FNV-1a, twice with different seeds: the key only has to tell shaders apart
  let a = 0x811c9dc5, b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return `${(a >>> 0).toString(36)}${(b >>> 0).toString(36)}_${s.length}`;
}

export function f32Literal(x: number): string {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setFloat32(0, x);
  return `bitcast<f32>(${buf.getUint32(0)}u)`;
}

const POW_HELPER = `
fn centraPow(a : f32, b : f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a == 0.0) { return select(0.0, uniforms.INFINITY, b < 0.0); }
  if (a > 0.0) { return pow(a, b); }
  let r = pow(-a, b);
  if (fract(b) != 0.0) { return uniforms.NAN; }
  return select(r, -r, fract(b * 0.5) != 0.0);
}`;

const POW4_HELPER = `
fn centraPow4(a : vec4<f32>, b : vec4<f32>) -> vec4<f32> {
  return vec4<f32>(centraPow(a.x, b.x), centraPow(a.y, b.y),
                   centraPow(a.z, b.z), centraPow(a.w, b.w));
}`;

/** Axes of a shape merged into alternating kept/reduced groups. */
export interface Groups {
  sizes: number[];
  kept: boolean[];
  strides: number[];
  /** Stride of each group within the kept-only (or reduced-only) index. */
  subStrides: number[];
  keptSize: number;
  reducedSize: number;
}

export function groupsOf(
  shape: readonly number[],
  axes: readonly number[],
): Groups {
  const sizes: number[] = [], kept: boolean[] = [];
  shape.forEach((d, a) => {
    if (d === 1) return;
    const k = !axes.includes(a);
    if (kept.length > 0 && kept[kept.length - 1] === k) {
      sizes[sizes.length - 1]! *= d;
    } else {
      sizes.push(d);
      kept.push(k);
    }
  });
  const strides = sizes.map(() => 1);
  for (let g = sizes.length - 2; g >= 0; g--) {
    strides[g] = strides[g + 1]! * sizes[g + 1]!;
  }
  const subStrides = sizes.map(() => 1);
  let ks = 1, rs = 1;
  for (let g = sizes.length - 1; g >= 0; g--) {
    if (kept[g]) {
      subStrides[g] = ks;
      ks *= sizes[g]!;
    } else {
      subStrides[g] = rs;
      rs *= sizes[g]!;
    }
  }
  return { sizes, kept, strides, subStrides, keptSize: ks, reducedSize: rs };
}

/** `Σ ((x / sub_g) % size_g) * stride_g` over the groups `which` selects. */
export function gather(
  g: Groups,
  x: string,
  which: boolean,
  from: "flat" | "sub",
): string {
  const terms: string[] = [];
  g.sizes.forEach((size, k) => {
    if (g.kept[k] !== which) return;
    const [div, mul] = from === "flat"
      ? [g.strides[k]!, g.subStrides[k]!]
      : [g.subStrides[k]!, g.strides[k]!];
    const total = from === "flat"
      ? g.sizes.reduce((a, b) => a * b, 1)
      : which
      ? g.keptSize
      : g.reducedSize;
    let t = div === 1 ? x : `(${x} / ${div})`;
    if (div * size < total) t = `(${t} % ${size})`;
    terms.push(mul === 1 ? t : `${t} * ${mul}`);
  });
  return terms.length === 0 ? "0" : terms.join(" + ");
}

/** Where a kernel's input comes from, resolved anew at every step. */
export type Binding =
  | { kind: "input"; param: string; name: string }
  | { kind: "done"; param: string; e: Expr }
  | { kind: "scalars" }
  | { kind: "global"; tag: string }
  | { kind: "sumAll"; param: string; e: Expr }
  | { kind: "mean"; param: string; e: Expr }
  | { kind: "hoisted"; e: Expr }
  | { kind: "pack" }
  | { kind: "aux"; param: string; plan: AuxPlan }
  | { kind: "acc" };

/** A generated kernel: its inputs, uniforms and program, reusable across steps. */
export interface Recipe {
  bindings: readonly Binding[];
  uniforms: readonly Expr[];
  reduce: boolean;
  /** A fresh program object (tfjs rewrites a program's key on every run). */
  program(): Program;
}

/** A kernel writing every output of one parameter (see `Runner.multiRecipe`). */
export interface MultiRecipe {
  /** Output keys, in binding order. */
  keys: string[];
  bindings: readonly Binding[];
  uniforms: readonly Expr[];
  code: string;
  groups: number;
  /** `uniforms.size`: the elementwise kernel's thread count. */
  threads: number;
}

/** How a multi-output kernel gets a per-unit mean (see `Runner.auxPlan`). */
export interface AuxPlan {
  mean: Expr;
  rows: number;
  units: number;
  blocks: number;
  partials: Recipe;
}

export function mainHeader(): string {
  return "fn main(index : i32)";
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
  /**
   * Where a multi-output kernel reads its per-unit mean (the `mean` with id
   * `mean`, over all axes but the last, `units` long) and, after it, the
   * packed scalars.
   */
  aux: { mean: number; units: number; binding: Binding } | undefined;

  constructor(
    private readonly runner: KernelHost,
    private readonly param: string,
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

  /** The finished kernel, for the cache. */
  recipe(
    body: string,
    shape: {
      /** What `tf.time` calls the kernel (tfjs reports a program's class name). */
      name: KernelName;
      size: number;
      workgroup: number;
      groups: number;
      reduce?: boolean;
    },
  ): Recipe {
    const components = this.components;
    const outputComponent = this.vec && !shape.reduce ? 4 : 1;
    const uniforms = this.uniforms.length;
    const reduce = shape.reduce ?? false;
    const key = `centra_${hash(body)}_${uniforms}_${
      components.join("")
    }${outputComponent}`;
    return {
      bindings: this.bindings,
      uniforms: this.uniforms,
      reduce,
      program: () => {
        const p = new (programClass(shape.name))({
          components,
          outputComponent,
          size: shape.size,
          uniforms,
          code: body,
          workgroup: shape.workgroup,
          groups: shape.groups,
          key,
        });
        if (reduce) {
          p.size = false;
          p.atomic = true;
        }
        return p;
      },
    };
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
    const r = this.runner, p = this.param;
    if (e.op === "const") return f32Literal(e.value);
    if (!e.perParam && e.op !== "globalSum") {
      if (r.fold(e) !== undefined) return this.uniform(e);
      if (this.hoist === "pack") {
        const slot = r.packSlot(e);
        if (this.aux !== undefined) {
          const at = this.aux.units + slot;
          return this.vec
            ? `${this.bind("aux", this.aux.binding, 4)}[${at >> 2}][${at & 3}]`
            : `${this.bind("aux", this.aux.binding)}[${at}]`;
        }
        return `${this.bind("pack", { kind: "pack" })}[${slot}]`;
      }
      if (e.op !== "hyper" && this.hoist === "scalar") {
        return `${this.bind(`s${e.id}`, { kind: "hoisted", e })}[0]`;
      }
    }
    const comp = this.vec ? 4 : 1;
    const done = e.perParam && e.op !== "mean" && e.op !== "sumAll" &&
      r.computed(p, e) !== undefined;
    if (done) {
      return `${
        this.bind(`${p}|e${e.id}`, { kind: "done", param: p, e }, comp)
      }[i]`;
    }
    // in vec4 kernels, functions need both operands as vectors
    const wide = this.wide(e);
    const arg = (k: number) => {
      const x = e.args[k]!, v = this.emit(x);
      return wide && !this.wide(x) ? `vec4<f32>(${v})` : v;
    };
    const a = () => arg(0);
    const b = () => arg(1);
    switch (e.op) {
      case "input":
        return `${
          this.bind(`${p}|in:${e.name}`, {
            kind: "input",
            param: p,
            name: e.name,
          }, comp)
        }[i]`;
      case "hyper": {
        const slot = r.scalarSlot(e.name);
        if (slot === undefined) {
          throw new TypeError(`fuse: no value for hyperparameter "${e.name}"`);
        }
        return `${this.bind("scalars", { kind: "scalars" })}[${slot}]`;
      }
      case "globalSum":
        return `${
          this.bind(`g:${e.name}`, { kind: "global", tag: e.name })
        }[0]`;
      case "sumAll":
        return `${
          this.bind(`${p}|e${e.id}`, { kind: "sumAll", param: p, e })
        }[0]`;
      case "mean": {
        if (e.id === this.aux?.mean) {
          const { units, binding } = this.aux;
          // a vec4 kernel (units % 4 == 0) reads four neighbouring units
          const a = this.bind("aux", binding, this.vec ? 4 : 1);
          return `${a}[u32(i) % ${this.vec ? units / 4 : units}u]`;
        }
        const t: Binding = { kind: "mean", param: p, e };
        const groups = groupsOf(r.shapeOf(p), e.axes);
        const last = groups.kept.length - 1;
        if (
          this.vec && groups.kept[last] && groups.sizes[last]! % 4 === 0
        ) {
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
      case "add":
        return `(${a()} + ${b()})`;
      case "sub":
        return `(${a()} - ${b()})`;
      case "mul":
        return `(${a()} * ${b()})`;
      case "div":
        return `(${a()} / ${b()})`;
      case "max":
        return `max(${a()}, ${b()})`;
      case "min":
        return `min(${a()}, ${b()})`;
      case "pow":
        this.helpers.add(POW_HELPER);
        if (wide) {
          this.helpers.add(POW4_HELPER);
          return `centraPow4(${a()}, ${b()})`;
        }
        return `centraPow(${a()}, ${b()})`;
      case "gt":
        return `(${a()} > ${b()})`;
      case "neg":
        return `(-${a()})`;
      case "sqrt":
        return `sqrt(${a()})`;
      case "square": {
        const x = a();
        return `(${x} * ${x})`;
      }
      case "abs":
        return `abs(${a()})`;
      case "sign":
        return `sign(${a()})`;
      case "powTwo": {
        if (e.value === 0) return a();
        const x = this.emit(powTwo(e.args[0]!, e.value - 1));
        return `(${x} * ${x})`;
      }
      case "bitProduct":
        return this.bitProduct(e);
      case "select": {
        // a scalar condition may pick between vectors: no splat for it
        const c = this.emit(e.args[0]!), t = b(), f = arg(2);
        return `select(${f}, ${t}, ${c})`;
      }
    }
  }
}
