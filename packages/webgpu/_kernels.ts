// Private: runs a step's fused kernels on tfjs-backend-webgpu. Per tensor,
// one kernel writes every output (update or new weight, and each state slot)
// into fresh buffers (`_dispatch.ts`), or, where that cannot be had, one
// `runWebGPUProgram` dispatch per output; reductions (GC's per-unit means,
// norms) and the step's shared scalars are small dispatches of their own.
// Numbers are uniforms and scalar tensors come from one packed buffer, so new
// hyperparameter values never recompile a shader. The WGSL is `_wgsl.ts`'s.
import * as tf from "@tensorflow/tfjs";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { evaluate, type Expr, foldNumber } from "@centra/chain/expr";
import type { Hyper } from "@centra/chain/types";
import { dispatchMulti, fault, multiOutputSupport } from "./_dispatch.ts";
import {
  type AuxPlan,
  type Binding,
  f32Literal,
  gather,
  groupsOf,
  Kernel,
  type KernelHost,
  mainHeader,
  type MultiRecipe,
  type Recipe,
} from "./_wgsl.ts";

/** Per parameter, the tensors computed for each output key. */
export type Values = Record<string, Record<string, tf.Tensor>>;

type Inputs = (param: string, name: string) => tf.Tensor;

const ELEMENTWISE_WG = 64;
const REDUCE_WG = 64;
/** Elements a thread of a reduction reads (see `auxPlan`). */
const ROWS_PER_THREAD = 16;

/** What `fuse` keeps across steps: generated kernels and global-sum plans. */
export type KernelCache = Map<string, unknown>;

/** Everything one step's kernels share. */
export class Runner implements KernelHost {
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
    // Through `unknown`: the backend package's types may come from another
    // tfjs-core patch release than the user's tfjs (same engine at runtime).
    this.backend = tf.backend() as unknown as WebGPUBackend;
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
    const value = k.valueFunction(mean.args[0]!);
    const code = `${k.functions()}
${value}
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
    return this.once(param, plan.mean.id, () => this.aux(plan));
  }

  private aux(plan: AuxPlan): tf.Tensor {
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
      const value = k.valueFunction(e);
      const body = `${k.functions()}
${value}
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

  /** `compute()` for expression `id` of `param`, at most once per step. */
  private once(param: string, id: number, compute: () => tf.Tensor): tf.Tensor {
    const done = this.doneFor(param);
    let t = done.get(id);
    if (t === undefined) {
      t = compute();
      done.set(id, t);
    }
    return t;
  }

  /** One kernel writing `e` for every element of `param`, as a flat tensor. */
  private elementwise(param: string, e: Expr): tf.Tensor {
    return this.once(param, e.id, () => this.elementwiseKernel(param, e));
  }

  private elementwiseKernel(param: string, e: Expr): tf.Tensor {
    const n = tf.util.sizeFromShape([...this.shapeOf(param)]);
    const recipe = this.recipe(`elementwise|${param}|${e.id}`, () => {
      const k = new Kernel(this, param, n % 4 === 0);
      const value = k.valueFunction(e);
      const body = `${k.functions()}
${value}
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
    return this.launch(recipe, null) ?? this.fallback(param, e);
  }

  /** The per-unit mean of `x` over `axes`, flat over the kept axes. */
  reduceMean(param: string, e: Expr): tf.Tensor {
    return this.once(param, e.id, () => this.meanKernel(param, e));
  }

  private meanKernel(param: string, e: Expr): tf.Tensor {
    const g = groupsOf(this.shapeOf(param), e.axes);
    const recipe = this.recipe(`mean|${param}|${e.id}`, () => {
      // units on the last axis, reduced over all before it, four at a time:
      // each thread reads contiguous vec4s
      const wide = g.sizes.length === 2 && !g.kept[0] && g.kept[1] &&
        g.keptSize % 4 === 0;
      const k = new Kernel(this, param, wide);
      const value = k.valueFunction(e.args[0]!);
      const type = wide ? "vec4<f32>" : "f32";
      const loop = wide
        ? `acc += centraValue(r * ${g.keptSize / 4} + index);`
        : `acc += centraValue(base + ${gather(g, "r", false, "sub")});`;
      const body = `${k.functions()}
${value}
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
    return this.launch(recipe, null) ??
      tf.reshape(this.fallback(param, e), [g.keptSize]);
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
        const type = k.vec ? "vec4<f32>" : "f32";
        fns.push(k.valueFunction(x, `centraValue${m}`));
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
    return this.once(param, e.id, () => this.sum(param, e.args[0]!, null));
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
    fault("program");
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
