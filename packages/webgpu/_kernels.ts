// Private: turns @centra/chain expressions into WGSL programs for
// tfjs-backend-webgpu and runs them. One output per dispatch, always into a
// fresh buffer; numbers are uniforms and scalar tensors come from one small
// packed buffer, so new hyperparameter values never recompile a shader.
import * as tf from "@tensorflow/tfjs";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { evaluate, type Expr, foldNumber } from "@centra/chain/expr";
import type { Hyper } from "@centra/chain/types";
import { dispatchMulti, multiOutputSupport } from "./_dispatch.ts";

/** Per parameter, the tensors computed for each output key. */
export type Values = Record<string, Record<string, tf.Tensor>>;

type Inputs = (param: string, name: string) => tf.Tensor;

const ELEMENTWISE_WG = 64;
const REDUCE_WG = 64;
/** Elements a thread of a reduction reads (see `auxPlan`). */
const ROWS_PER_THREAD = 16;

/** A program in the shape tfjs-backend-webgpu's `runWebGPUProgram` takes. */
class Program {
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

function f32Literal(x: number): string {
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
interface Groups {
  sizes: number[];
  kept: boolean[];
  strides: number[];
  /** Stride of each group within the kept-only (or reduced-only) index. */
  subStrides: number[];
  keptSize: number;
  reducedSize: number;
}

function groupsOf(shape: readonly number[], axes: readonly number[]): Groups {
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
function gather(
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
type Binding =
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

/** What `fuse` keeps across steps: generated kernels and global-sum plans. */
export type KernelCache = Map<string, unknown>;

/** A generated kernel: its inputs, uniforms and program, reusable across steps. */
export interface Recipe {
  bindings: readonly Binding[];
  uniforms: readonly Expr[];
  reduce: boolean;
  /** A fresh program object (tfjs rewrites a program's key on every run). */
  program(): Program;
}

/** A kernel writing every output of one parameter (see `Runner.multiRecipe`). */
interface MultiRecipe {
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
interface AuxPlan {
  mean: Expr;
  rows: number;
  units: number;
  blocks: number;
  partials: Recipe;
}

/** Everything one step's kernels share. */
export class Runner {
  readonly dispatches: { count: number } = { count: 0 };
  private readonly backend: WebGPUBackend;
  private readonly maxInputs: number;
  private scalars: tf.Tensor | null = null;
  private readonly scalarIndex = new Map<string, number>();
  private readonly globals = new Map<string, tf.Tensor>();
  private readonly hoisted = new Map<number, tf.Tensor>();
  private readonly globalParts = new Map<string, [string, Expr][]>();
  private readonly shapes: Record<string, readonly number[]> = {};
  /** Per parameter, tensors already computed, by expression id (flat). */
  private readonly done = new Map<string, Map<number, tf.Tensor>>();

  constructor(
    private readonly outputs: Readonly<
      Record<string, Readonly<Record<string, Expr>>>
    >,
    private readonly inputs: Inputs,
    private readonly hypers: Readonly<Record<string, Hyper>>,
    /** Generated kernels (and plans) by what they compute, kept across steps by `fuse`. */
    private readonly cache: KernelCache = new Map(),
  ) {
    this.backend = tf.backend() as WebGPUBackend;
    this.maxInputs =
      this.backend.device.limits.maxStorageBuffersPerShaderStage -
      1;
    const walked = new Set<string>();
    const tensorHypers = new Set<string>();
    const walk = (param: string, e: Expr) => {
      const key = `${param}|${e.id}`;
      if (walked.has(key)) return;
      walked.add(key);
      if (e.op === "globalSum") {
        const list = this.globalParts.get(e.name) ?? [];
        list.push([param, e.args[0]!]);
        this.globalParts.set(e.name, list);
      }
      if (e.op === "hyper" && typeof this.hypers[e.name] !== "number") {
        tensorHypers.add(e.name);
      }
      for (const a of e.args) walk(param, a);
    };
    for (const [param, outs] of Object.entries(outputs)) {
      for (const e of Object.values(outs)) walk(param, e);
    }
    for (const name of tensorHypers) {
      if (this.hypers[name] === undefined) {
        throw new TypeError(`fuse: no value for hyperparameter "${name}"`);
      }
      this.scalarIndex.set(name, this.scalarIndex.size);
    }
    this.signature = [...this.scalarIndex.keys()].join(",");
  }

  /** Which hypers are tensors, in which order: generated code depends on it. */
  private readonly signature: string;

  /** Whether kernels may write several outputs (see `_dispatch.ts`). */
  private readonly multiOutput = multiOutputSupport();
  private pack: tf.Tensor | null = null;

  /**
   * The slot of a shared subexpression (or tensor hyperparameter) in the
   * step's packed scalars; slots are kept across steps with the kernels.
   */
  packSlot(e: Expr): number {
    const slots = this.packSlots();
    let k = slots.index.get(e.id);
    if (k === undefined) {
      if (this.pack !== null) {
        throw new Error(
          "fuse: a kernel needed a scalar after the pack was built",
        );
      }
      k = slots.list.length;
      slots.list.push(e);
      slots.index.set(e.id, k);
    }
    return k;
  }

  /** Which subexpressions the pack holds, in order; kept with the kernels. */
  private packSlots(): { list: Expr[]; index: Map<number, number> } {
    return this.recipe("packSlots", () => ({
      list: [] as Expr[],
      index: new Map<number, number>(),
    }));
  }

  /** Every packed scalar of this step, computed by one single-thread dispatch. */
  private packed(): tf.Tensor {
    if (this.pack !== null) return this.pack;
    const { list } = this.packSlots();
    const recipe = this.recipe(
      `pack|${list.map((e) => e.id).join(",")}`,
      () => {
        const k = new Kernel(this, "", false, "none");
        const values = list.map((e) => k.emit(e));
        const body = `${k.functions()}
${mainHeader()} {
  if (index < uniforms.size) {
${k.lines.join("\n")}
${values.map((v, j) => `    setOutputAtIndex(${j}, f32(${v}));`).join("\n")}
  }
}`;
        return k.recipe(body, {
          name: "CentraScalars",
          size: list.length,
          workgroup: 1,
          groups: 1,
        });
      },
    );
    this.pack = this.launch(recipe, null) ??
      tf.concat(list.map((e) => this.evaluateScalar(e)));
    return this.pack;
  }

  /**
   * One kernel that writes every output of `param` (its update and state
   * slots) in one pass, or `null` when it would bind more buffers than a
   * shader may. When `param` is centralized over all axes but its last (the
   * layout of every tfjs kernel), its per-unit mean comes from two small
   * passes that read the tensor in memory order (`aux`), and the kernel reads
   * the step's packed scalars from the same buffer, after the means.
   */
  private multiRecipe(param: string): MultiRecipe | null {
    const outs = this.outputs[param]!;
    const keys = Object.keys(outs).filter((k) => outs[k]!.op !== "input");
    if (keys.length === 0) return null;
    const key = `multi|${param}|${keys.map((k) => `${k}:${outs[k]!.id}`)}`;
    return this.recipe<MultiRecipe | null>(key, () => {
      const shape = this.shapeOf(param);
      const n = tf.util.sizeFromShape([...shape]);
      const means = new Map<number, Expr>();
      const walk = (e: Expr) => {
        if (!e.perParam) return;
        if (e.op === "mean") means.set(e.id, e);
        e.args.forEach(walk);
      };
      keys.forEach((k) => walk(outs[k]!));
      let columns: { mean: Expr; rows: number; units: number } | null = null;
      if (means.size === 1) {
        const mean = [...means.values()][0]!;
        const g = groupsOf(shape, mean.axes);
        if (g.sizes.length === 2 && !g.kept[0] && g.kept[1]) {
          columns = { mean, rows: g.sizes[0]!, units: g.sizes[1]! };
        }
      }
      const vec = n % 4 === 0 && (columns === null || columns.units % 4 === 0);
      const type = vec ? "vec4<f32>" : "f32";
      const body = new Kernel(this, param, vec, "pack");
      if (columns !== null) {
        const { mean, rows, units } = columns;
        const plan = this.auxPlan(param, mean, rows, units);
        body.aux = {
          mean: mean.id,
          units,
          binding: { kind: "aux", param, plan },
        };
      }
      const values = keys.map((k) => body.emit(outs[k]!));
      if (body.bindings.length + keys.length > this.maxInputs + 1) return null;
      const threads = vec ? n / 4 : n;
      const code = [
        ...keys.map((_, o) =>
          `@group(0) @binding(${o}) var<storage, read_write> Y${o} : array<${type}>;`
        ),
        ...body.bindings.map((_, b) =>
          `@group(0) @binding(${
            keys.length + b
          }) var<storage, read> X${b} : array<${
            body.components[b] === 4 ? "vec4<f32>" : "f32"
          }>;`
        ),
        `struct Uniforms { NAN : f32, INFINITY : f32, size : i32, ${
          body.uniforms.map((_, h) => `h${h} : f32,`).join(" ")
        } };`,
        `@group(0) @binding(${
          keys.length + body.bindings.length
        }) var<uniform> uniforms : Uniforms;`,
        body.functions(),
        `fn centraOut(i : i32) {
${body.lines.join("\n")}
${values.map((v, o) => `  Y${o}[i] = ${type}(${v});`).join("\n")}
}
@compute @workgroup_size(${ELEMENTWISE_WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>,
        @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let index = i32((wid.y * nwg.x + wid.x) * ${ELEMENTWISE_WG}u + lid);
  if (index < uniforms.size) { centraOut(index); }
}`,
      ].join("\n");
      return {
        keys,
        bindings: body.bindings,
        uniforms: body.uniforms,
        code,
        groups: Math.ceil(threads / ELEMENTWISE_WG),
        threads,
      };
    });
  }

  /**
   * The first of the two passes behind a per-unit mean over all axes but the
   * last (`rows` x `units` in memory): each thread sums one column (four
   * units in vec4 kernels) over a block of rows, so neighbouring threads read
   * neighbouring memory; the second pass (`auxOf`) adds the blocks up.
   */
  private auxPlan(
    param: string,
    mean: Expr,
    rows: number,
    units: number,
  ): AuxPlan {
    const vec = units % 4 === 0;
    const width = vec ? units / 4 : units;
    const type = vec ? "vec4<f32>" : "f32";
    // a thread sums ROWS_PER_THREAD rows: loops that short are unrolled,
    // and llvmpipe runs longer ones several times slower per element
    const per = Math.min(rows, ROWS_PER_THREAD);
    const blocks = Math.ceil(rows / per);
    const k = new Kernel(this, param, vec, "pack");
    const v = k.emit(mean.args[0]!);
    const code = `${k.functions()}
fn centraValue(i : i32) -> ${type} {
${k.lines.join("\n")}
  return ${type}(${v});
}
${mainHeader()} {
  if (index < uniforms.size) {
    let col = index % ${width};
    let first = (index / ${width}) * ${per};
    var acc = ${type}(0.0);
    ${
      rows % per === 0
        ? `for (var r = 0; r < ${per}; r++) {
      acc += centraValue((first + r) * ${width} + col);
    }`
        : `let last = min(first + ${per}, ${rows});
    for (var r = first; r < last; r++) {
      acc += centraValue(r * ${width} + col);
    }`
    }
    setOutputAtIndex(index, acc);
  }
}`;
    const partials = k.recipe(code, {
      name: "CentraMeanPartials",
      size: blocks * units,
      workgroup: ELEMENTWISE_WG,
      groups: Math.ceil((blocks * width) / ELEMENTWISE_WG),
    });
    return { mean, rows, units, blocks, partials };
  }

  /**
   * The per-unit means of `param` (its `aux` plan), followed by the step's
   * packed scalars: the one buffer its multi-output kernel reads both from.
   */
  private auxOf(param: string, plan: AuxPlan): tf.Tensor {
    const done = this.doneFor(param);
    const seen = done.get(plan.mean.id);
    if (seen !== undefined) return seen;
    const partials = this.launch(plan.partials, null)!;
    const { units, blocks, rows } = plan;
    const slots = this.packSlots().list.length;
    const key = `finish|${units}|${blocks}|${rows}|${slots}`;
    const finish = this.recipe(key, () => {
      const k = new Kernel(this, "", false, "none");
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
  }${
        slots > 0
          ? ` else if (index < ${units + slots}) {
    setOutputAtIndex(index, ${packed}[index - ${units}]);
  }`
          : ""
      }
}`;
      // whole vec4s, for kernels that read it as vec4s
      const size = Math.ceil((units + slots) / 4) * 4;
      return k.recipe(code, {
        name: "CentraMeanTotal",
        size,
        workgroup: ELEMENTWISE_WG,
        groups: Math.ceil(size / ELEMENTWISE_WG),
      });
    });
    const t = this.launch(finish, partials)!;
    partials.dispose();
    done.set(plan.mean.id, t);
    return t;
  }

  /** Runs a multi-output kernel: flat outputs in the order of its keys. */
  private launchMulti(param: string, m: MultiRecipe): tf.Tensor[] {
    const n = tf.util.sizeFromShape([...this.shapeOf(param)]);
    this.dispatches.count++;
    return dispatchMulti({
      name: "CentraFusedStep",
      code: m.code,
      outputSizes: m.keys.map(() => n),
      inputs: m.bindings.map((b) => this.resolve(b, null)),
      uniforms: [
        { type: "float32", data: [NaN] },
        { type: "float32", data: [Infinity] },
        { type: "int32", data: [m.threads] },
        ...m.uniforms.map((e) => ({
          type: "float32" as const,
          data: [this.fold(e)!],
        })),
      ],
      groups: m.groups,
    });
  }

  /** The cached value for `key`, built once. */
  private recipe<T = Recipe>(key: string, build: () => T): T {
    const full = `${key}|${this.signature}`;
    if (!this.cache.has(full)) this.cache.set(full, build());
    return this.cache.get(full) as T;
  }

  /** The tensor a binding stands for, this step. */
  private resolve(b: Binding, acc: tf.Tensor | null): tf.Tensor {
    switch (b.kind) {
      case "input":
        return this.input(b.param, b.name);
      case "done":
        return this.computed(b.param, b.e)!;
      case "scalars":
        return this.packedScalars();
      case "global":
        return this.global(b.tag);
      case "sumAll":
        return this.reduceAll(b.param, b.e);
      case "mean":
        return this.reduceMean(b.param, b.e);
      case "hoisted":
        return this.scalar(b.e);
      case "acc":
        return acc!;
      case "pack":
        return this.packed();
      case "aux":
        return this.auxOf(b.param, b.plan);
    }
  }

  /** Tensor-valued hyperparameters read directly, packed into one buffer. */
  private packedScalars(): tf.Tensor {
    if (this.scalars === null) {
      const packed = [...this.scalarIndex.keys()].map((name) =>
        tf.reshape(tf.cast(this.hypers[name] as tf.Tensor, "float32"), [1])
      );
      this.scalars = packed.length === 1 ? packed[0]! : tf.concat(packed);
    }
    return this.scalars;
  }

  /**
   * A subexpression that is the same for every parameter but needs tensors
   * (a bias correction, a clipping factor): computed once per step with tf
   * ops, as the op-by-op path does, instead of once per element.
   */
  scalar(e: Expr): tf.Tensor {
    const known = this.hoisted.get(e.id);
    if (known !== undefined) return known;
    const recipe = this.recipe(`scalar|${e.id}`, () => {
      // one thread: every element of every parameter then reads the result
      const k = new Kernel(this, "", false, "none");
      const v = k.emit(e);
      const body = `${k.functions()}
fn centraValue(i : i32) -> f32 {
${k.lines.join("\n")}
  return f32(${v});
}
${mainHeader()} {
  if (index < uniforms.size) {
    setOutputAtIndex(index, centraValue(index));
  }
}`;
      return k.recipe(body, {
        name: "CentraScalar",
        size: 1,
        workgroup: 1,
        groups: 1,
      });
    });
    const t = this.launch(recipe, null) ?? this.evaluateScalar(e);
    this.hoisted.set(e.id, t);
    return t;
  }

  private evaluateScalar(e: Expr): tf.Tensor {
    const globals = new Map<string, tf.Tensor>();
    const walk = (x: Expr) => {
      if (x.op === "globalSum") {
        globals.set(x.name, tf.reshape(this.global(x.name), []));
      }
      x.args.forEach(walk);
    };
    walk(e);
    const v = evaluate(
      { "": { v: e } },
      () => {
        throw new TypeError("fuse: a shared subexpression read a tensor input");
      },
      this.hypers,
      { globals },
    )[""]!.v!;
    return tf.reshape(tf.cast(v, "float32"), [1]);
  }

  /** Computes every output of every parameter. */
  run(): Values {
    const result: Values = {};
    // every kernel is generated before the first runs: they share one pack
    const multi = new Map<string, MultiRecipe | null>();
    if (this.multiOutput) {
      for (const param of Object.keys(this.outputs)) {
        multi.set(param, this.multiRecipe(param));
      }
    }
    for (const [param, outs] of Object.entries(this.outputs)) {
      const r: Record<string, tf.Tensor> = {};
      const shape = this.shapeOf(param);
      const m = multi.get(param);
      if (m != null) {
        const flat = this.launchMulti(param, m);
        for (const [key, e] of Object.entries(outs)) {
          r[key] = e.op === "input"
            ? this.inputs(param, e.name)
            : tf.reshape(flat[m.keys.indexOf(key)]!, [...shape]);
        }
        result[param] = r;
        continue;
      }
      // state slots first, so that the update can read them instead of recomputing
      const keys = Object.keys(outs).sort((a, b) =>
        (a === "" ? 1 : 0) - (b === "" ? 1 : 0)
      );
      for (const key of keys) {
        const e = outs[key]!;
        if (e.op === "input") {
          r[key] = this.inputs(param, e.name);
          continue;
        }
        r[key] = tf.reshape(this.elementwise(param, e), [...shape]);
      }
      result[param] = r;
    }
    return result;
  }

  shapeOf(param: string): readonly number[] {
    const known = this.shapes[param];
    if (known !== undefined) return known;
    const g = this.inputs(param, "g");
    this.shapes[param] = g.shape;
    return g.shape;
  }

  private doneFor(param: string): Map<number, tf.Tensor> {
    let m = this.done.get(param);
    if (m === undefined) {
      m = new Map();
      this.done.set(param, m);
    }
    return m;
  }

  /** One kernel writing `e` for every element of `param`, as a flat tensor. */
  private elementwise(param: string, e: Expr): tf.Tensor {
    const done = this.doneFor(param);
    const seen = done.get(e.id);
    if (seen !== undefined) return seen;
    const n = tf.util.sizeFromShape([...this.shapeOf(param)]);
    const recipe = this.recipe(`elementwise|${param}|${e.id}`, () => {
      const k = new Kernel(this, param, n % 4 === 0);
      const v = k.emit(e);
      const type = k.vec ? "vec4<f32>" : "f32";
      const body = `${k.functions()}
fn centraValue(i : i32) -> ${type} {
${k.lines.join("\n")}
  return ${type}(${v});
}
${mainHeader()} {
  if (index < uniforms.size) {
    setOutputAtIndex(index, centraValue(index));
  }
}`;
      const threads = k.vec ? n / 4 : n;
      return k.recipe(body, {
        name: "CentraElementwise",
        size: n,
        workgroup: ELEMENTWISE_WG,
        groups: Math.ceil(threads / ELEMENTWISE_WG),
      });
    });
    const t = this.launch(recipe, null) ?? this.fallback(param, e);
    done.set(e.id, t);
    return t;
  }

  /** The per-unit mean of `x` over `axes`, flat over the kept axes. */
  reduceMean(param: string, e: Expr): tf.Tensor {
    const done = this.doneFor(param);
    const seen = done.get(e.id);
    if (seen !== undefined) return seen;
    const g = groupsOf(this.shapeOf(param), e.axes);
    const recipe = this.recipe(`mean|${param}|${e.id}`, () => {
      // units on the last axis, reduced over all before it, four at a time:
      // each thread reads contiguous vec4s
      const wide = g.sizes.length === 2 && !g.kept[0] && g.kept[1] &&
        g.keptSize % 4 === 0;
      const k = new Kernel(this, param, wide);
      const v = k.emit(e.args[0]!);
      const type = wide ? "vec4<f32>" : "f32";
      const loop = wide
        ? `acc += centraValue(r * ${g.keptSize / 4} + index);`
        : `acc += centraValue(base + ${gather(g, "r", false, "sub")});`;
      const body = `${k.functions()}
fn centraValue(i : i32) -> ${type} {
${k.lines.join("\n")}
  return ${type}(${v});
}
${mainHeader()} {
  if (index < uniforms.size) {
    let base = ${wide ? "0" : gather(g, "index", true, "sub")};
    var acc = ${type}(0.0);
    for (var r = 0; r < ${g.reducedSize}; r++) {
      ${loop}
    }
    setOutputAtIndex(index, acc / ${f32Literal(g.reducedSize)});
  }
}`;
      const threads = wide ? g.keptSize / 4 : g.keptSize;
      return k.recipe(body, {
        name: "CentraMean",
        size: g.keptSize,
        workgroup: ELEMENTWISE_WG,
        groups: Math.ceil(threads / ELEMENTWISE_WG),
      });
    });
    const t = this.launch(recipe, null) ??
      tf.reshape(this.fallback(param, e), [g.keptSize]);
    done.set(e.id, t);
    return t;
  }

  /** `Σ x` over one tensor, plus `acc` when given: a [1] tensor. */
  private sum(param: string, x: Expr, acc: tf.Tensor | null): tf.Tensor {
    const out = this.sumOf([[param, x]], acc);
    if (out !== null) return out;
    const s = tf.reshape(this.fallback(param, x, "sum"), [1]);
    return acc === null ? s : tf.add(s, acc);
  }

  /**
   * `Σ x` over several tensors in one dispatch (the members' expressions read
   * at most as many tensors as one shader binds), plus `acc`; `null` if they
   * need more.
   */
  private sumOf(
    members: readonly [string, Expr][],
    acc: tf.Tensor | null,
  ): tf.Tensor | null {
    const key = `sum|${members.map(([p, x]) => `${p}:${x.id}`).join(";")}|${
      acc === null ? 0 : 1
    }`;
    const recipe = this.recipe(key, () => {
      const lengths = members.map(([p]) => {
        const n = tf.util.sizeFromShape([...this.shapeOf(p)]);
        return n % 4 === 0 ? n / 4 : n;
      });
      // enough workgroups that a thread reads at most ROWS_PER_THREAD
      // elements (vec4s) of each member, in a loop short enough to unroll
      const groups = Math.max(
        1,
        Math.ceil(Math.max(...lengths) / (REDUCE_WG * ROWS_PER_THREAD)),
      );
      const stride = groups * REDUCE_WG;
      let first: Kernel | undefined;
      const fns: string[] = [], loops: string[] = [];
      members.forEach(([param, x], m) => {
        const n = tf.util.sizeFromShape([...this.shapeOf(param)]);
        const k: Kernel = new Kernel(
          this,
          param,
          n % 4 === 0,
          "scalar",
          first,
        );
        first ??= k;
        const v = k.emit(x);
        const type = k.vec ? "vec4<f32>" : "f32";
        fns.push(`fn centraValue${m}(i : i32) -> ${type} {
${k.lines.join("\n")}
  return ${type}(${v});
}`);
        const length = lengths[m]!;
        loops.push(`  {
    var acc = ${type}(0.0);
    for (var k = 0; k < ${Math.ceil(length / stride)}; k++) {
      let i = index + k * ${stride};
      if (i < ${length}) { acc += centraValue${m}(i); }
    }
    part += ${k.vec ? "acc.x + acc.y + acc.z + acc.w" : "acc"};
  }`);
      });
      const k = first!;
      const accRead = acc === null
        ? ""
        : `if (workgroupId.x == 0u) { total += ${
          k.bind("acc", { kind: "acc" })
        }[0]; }`;
      const body = `${k.functions()}
var<workgroup> centraPartial : array<f32, ${REDUCE_WG}>;
${fns.join("\n")}
${mainHeader()} {
  // 'auto' layouts drop unused bindings; tfjs always binds the uniforms
  _ = uniforms.NAN;
  let lid = i32(localIndex);
  var part = 0.0;
${loops.join("\n")}
  centraPartial[lid] = part;
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
  }
}`;
      return k.recipe(body, {
        name: "CentraSum",
        size: 1,
        workgroup: REDUCE_WG,
        groups,
        reduce: true,
      });
    });
    return this.launch(recipe, acc);
  }

  /** A per-tensor `sumAll`, as a [1] tensor. */
  reduceAll(param: string, e: Expr): tf.Tensor {
    const done = this.doneFor(param);
    const seen = done.get(e.id);
    if (seen !== undefined) return seen;
    const t = this.sum(param, e.args[0]!, null);
    done.set(e.id, t);
    return t;
  }

  /** A global sum over every parameter: one chained dispatch per parameter. */
  global(tag: string): tf.Tensor {
    const known = this.globals.get(tag);
    if (known !== undefined) return known;
    const parts = this.globalParts.get(tag) ?? [];
    // many tensors per dispatch, as far as one shader's inputs allow
    const batches = this.recipe(
      `batches|${tag}|${parts.map(([p, x]) => `${p}:${x.id}`).join(";")}`,
      () => {
        const out: [string, Expr][][] = [];
        let batch: [string, Expr][] = [];
        let keys = new Set<string>();
        for (const part of parts) {
          const trial = new Kernel(this, part[0], false);
          trial.emit(part[1]);
          const union = new Set([...keys, ...trial.keys()]);
          // one input is left for the running total
          if (batch.length > 0 && union.size + 1 > this.maxInputs) {
            out.push(batch);
            batch = [];
            keys = new Set(trial.keys());
          } else keys = union;
          batch.push(part);
        }
        if (batch.length > 0) out.push(batch);
        return out;
      },
    );
    let acc: tf.Tensor | null = null;
    for (const batch of batches) {
      const next: tf.Tensor | null = batch.length === 1
        ? this.sum(batch[0]![0], batch[0]![1], acc)
        : this.sumOf(batch, acc);
      acc = next ?? batch.reduce<tf.Tensor | null>(
        (a, [p, x]) => this.sum(p, x, a),
        acc,
      );
    }
    const total = acc ?? tf.zeros([1]);
    this.globals.set(tag, total);
    return total;
  }

  scalarSlot(name: string): number | undefined {
    return this.scalarIndex.get(name);
  }

  fold(e: Expr): number | undefined {
    return foldNumber(e, this.hypers);
  }

  input(param: string, name: string): tf.Tensor {
    const t = this.inputs(param, name);
    return t.rank === 1 ? t : tf.reshape(t, [t.size]);
  }

  computed(param: string, e: Expr): tf.Tensor | undefined {
    return this.done.get(param)?.get(e.id);
  }

  /** Runs a recipe for `param`; `null` when it needs more inputs than a shader binds. */
  private launch(recipe: Recipe, acc: tf.Tensor | null): tf.Tensor | null {
    if (recipe.bindings.length > this.maxInputs) return null;
    const tensors = recipe.bindings.map((b) => this.resolve(b, acc));
    const uniforms = recipe.uniforms.map((e) => ({
      type: "float32",
      data: [this.fold(e)!],
    }));
    const program = recipe.program();
    this.dispatches.count++;
    if (recipe.reduce) {
      // workgroups add into a fresh zero (written on upload, no dispatch)
      const out = tf.zeros([1]);
      this.backend.runWebGPUProgram(program, tensors, "float32", uniforms, out);
      return out;
    }
    const info = this.backend.runWebGPUProgram(
      program,
      tensors,
      "float32",
      uniforms,
    );
    return tf.engine().makeTensorFromTensorInfo(info);
  }

  /** Too many inputs for one shader: compute `e` with tf ops instead. */
  private fallback(param: string, e: Expr, reduce?: "sum"): tf.Tensor {
    const globals = new Map<string, tf.Tensor>();
    for (const tag of this.globalParts.keys()) {
      globals.set(tag, tf.reshape(this.global(tag), []));
    }
    const out = evaluate(
      { [param]: { v: e } },
      (p, name) => this.inputs(p, name),
      this.hypers,
      { globals },
    )[param]!.v!;
    const flat = tf.reshape(out, [out.size]);
    return reduce === "sum" ? tf.sum(flat) : flat;
  }
}

function mainHeader(): string {
  return "fn main(index : i32)";
}

/** One kernel's bindings, uniforms and statements. */
class Kernel {
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
    private readonly runner: Runner,
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
      case "select": {
        // a scalar condition may pick between vectors: no splat for it
        const c = this.emit(e.args[0]!), t = b(), f = arg(2);
        return `select(${f}, ${t}, ${c})`;
      }
    }
  }
}
