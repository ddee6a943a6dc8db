// Private: the code generator for tfjs's cpu backend, registered for "cpu".
// Per parameter, one compiled loop reads each input's typed array once and
// writes the update (or new weight) and every state slot: a WebAssembly
// SIMD loop over the parameter's arena where its math has lanes
// (`_cpu_wasm.ts`, `_cpu_simd_step.ts`), else a JavaScript loop
// (`_cpu_codegen.ts`). Reductions run first, each once, in the order their
// readers need them, as SIMD functions over the arena where they can
// (`_cpu_wasm_reduce.ts`); numbers every tensor shares (bias corrections,
// clipping factors) are computed once on the host, in float32 as the
// op-by-op path computes them. Inputs are read from the cpu backend's own
// arrays (no copy, but the gradient's into an arena); no input array is
// ever written. Output tensors are made only once every loop has run, so a
// failure leaves nothing behind.
import "./tfjs_check.ts";
import * as tf from "@tensorflow/tfjs";
import {
  type Kernel,
  type KernelResult,
  type KernelTask,
  makeKernel,
  type UnitMeans,
} from "./_cpu_codegen.ts";
import { columnMean, hoistSharedFactors, meanIndex } from "./_cpu_means.ts";
import { cpuArray, cpuReuse, OutputPool } from "./_cpu_pool.ts";
import { makeSimdKernel, type SimdKernel } from "./_cpu_wasm.ts";
import { SimdRuns } from "./_cpu_simd_step.ts";
import { hostOp } from "./_evaluate.ts";
import { type Expr, type ExprOp, powTwo } from "./_expr.ts";
import {
  type CodeGenerator,
  type GeneratorContext,
  type GeneratorResult,
  registerGenerator,
  type StepOutputs,
} from "./_generators.ts";
import { bitProductHost } from "./_pow_int.ts";

/** Where {@linkcode cpuFaults} can make a fused cpu step throw. */
export type CpuFaultPoint =
  /** Before a kernel (a reduction or a parameter's loop) runs. */
  | "loop"
  /** Every loop run, before an output tensor is made. */
  | "wrap";

/**
 * Test-only: makes the `skip`-th event at `point` from now throw (once; then
 * `point` is reset to `null`), to check that a failed fused step leaves
 * every variable, state tensor and `tf.memory().numTensors` as it was.
 */
export const cpuFaults: { point: CpuFaultPoint | null; skip: number } = {
  point: null,
  skip: 0,
};

export { cpuSimd } from "./_cpu_simd_step.ts";

function fault(point: CpuFaultPoint): void {
  if (cpuFaults.point !== point) return;
  if (cpuFaults.skip-- > 0) return;
  cpuFaults.point = null;
  throw new Error(`@centra/chain: injected fault at "${point}"`);
}

/** A host scalar and whether op by op holds it in a tensor (it rounds alike, but `powTwo` and `sign` differ). */
interface Scalar {
  v: number;
  tensor: boolean;
}

/** tfjs cpu kernels on float32 scalars (see `_cpu_codegen.ts`). */
function tensorOp(op: ExprOp, x: number[]): number {
  const [a, b] = x.map(Math.fround) as [number, number];
  switch (op) {
    case "sign":
      return a < 0 ? -1 : a > 0 ? 1 : 0;
    case "gt":
      return a > b ? 1 : 0;
    default:
      return hostOp(op, [a, b]);
  }
}

const NODES = new WeakMap<readonly Expr[], Map<ExprOp, Expr[]>>();

/**
 * The nodes of an operation (`globalSum`, `mean`) an expression list reads,
 * each once, in the order of a depth-first walk; found once per list and
 * operation, since a fused run hands the same (cached) list every step
 * while the stages' math stays the same.
 */
function nodesOf(exprs: readonly Expr[], op: ExprOp): Expr[] {
  let byOp = NODES.get(exprs);
  if (byOp === undefined) NODES.set(exprs, byOp = new Map());
  let found = byOp.get(op);
  if (found !== undefined) return found;
  const list: Expr[] = [];
  const seen = new Set<number>();
  const walk = (e: Expr) => {
    if (seen.has(e.id)) return;
    seen.add(e.id);
    if (e.op === op) list.push(e);
    e.args.forEach(walk);
  };
  exprs.forEach(walk);
  byOp.set(op, found = list);
  return found;
}

const COMPUTED = new WeakMap<readonly Expr[], readonly Expr[]>();

/** The outputs of a (cached) list a loop computes: all but stage inputs. */
function computedOf(exprs: readonly Expr[]): readonly Expr[] {
  let c = COMPUTED.get(exprs);
  if (c === undefined) {
    COMPUTED.set(exprs, c = exprs.filter((e) => e.op !== "input"));
  }
  return c;
}

/**
 * `make()`'s value for an expression list (a cached list: the same object
 * every step while the math stays the same) and `key`, made once: a loop's
 * source depends on the list and the shape only, so one serves every
 * `fuse(...)` result, and no key is built from the expressions' ids.
 */
function perList<T>(
  memo: WeakMap<readonly Expr[], Map<string, T>>,
  exprs: readonly Expr[],
  key: string,
  make: () => T,
): T {
  let byKey = memo.get(exprs);
  if (byKey === undefined) memo.set(exprs, byKey = new Map());
  if (byKey.has(key)) return byKey.get(key)!;
  const made = make();
  byKey.set(key, made);
  return made;
}

const KERNELS = new WeakMap<readonly Expr[], Map<string, Kernel>>();
const SIMD_KERNELS = new WeakMap<
  readonly Expr[],
  Map<string, SimdKernel | null>
>();

const UNREDUCED = new Map<number, boolean>();

/** Whether `e` reads no reduction (`mean`, `sumAll`, `globalSum`). */
function unreduced(e: Expr): boolean {
  let u = UNREDUCED.get(e.id);
  if (u === undefined) {
    u = e.op !== "mean" && e.op !== "sumAll" && e.op !== "globalSum" &&
      e.args.every(unreduced);
    UNREDUCED.set(e.id, u);
  }
  return u;
}

/**
 * Whether `e` is per element and computed from inputs and step-wide numbers
 * alone, so that it can be summed in any pass over its tensor.
 */
const direct = (e: Expr): boolean => e.perParam && unreduced(e);

/** Where a step keeps `param`'s value of the reduction `e`. */
const reductionKey = (param: string, e: Expr): string =>
  `${param}\u0000${e.id}`;

/** A reduction's kind, shape and expressions, as a cache key. */
function taskKey(
  task: Exclude<KernelTask, { kind: "outputs" }>,
  shape: readonly number[],
): string {
  const ids = task.kind === "sumAndMeans"
    ? [task.arg.id, ...task.means.map((m) => m.id)].join()
    : `${task.kind === "sum" ? task.arg.id : task.node.id}`;
  return `${task.kind}|${shape}|${ids}`;
}

/** A shared value of hyperparameters alone, and theirs it was computed from. */
interface Kept {
  hypers: readonly Scalar[];
  s: Scalar;
}

const HYPERS_READ = new Map<number, readonly string[] | null>();

/**
 * The hyperparameters a shared value reads, each once; `null` when it reads
 * a global sum (a number of this step's gradients).
 */
function hypersRead(e: Expr): readonly string[] | null {
  let found = HYPERS_READ.get(e.id);
  if (found !== undefined) return found;
  if (e.op === "globalSum") found = null;
  else if (e.op === "hyper") found = [e.name];
  else {
    const names = new Set<string>();
    for (const a of e.args) {
      const r = hypersRead(a);
      if (r === null) {
        HYPERS_READ.set(e.id, null);
        return null;
      }
      r.forEach((n) => names.add(n));
    }
    found = [...names];
  }
  HYPERS_READ.set(e.id, found);
  return found;
}

/** A finished step's context: it reads nothing more (see `retire`). */
const RETIRED: GeneratorContext = {
  inputs: () => {
    throw new Error("@centra/chain: a finished fused cpu step was run");
  },
  hypers: {},
  cache: new Map(),
  exact: false,
};

/** One fused run on cpu: its memos of scalars and reductions. */
class CpuStep {
  private readonly scalars = new Map<number, Scalar>();
  private readonly hypers = new Map<string, Scalar>();
  /** Values of hyperparameters alone, from earlier steps (see `scalar`). */
  private readonly kept: Map<number, Kept>;
  private readonly globals = new Map<string, number>();
  private readonly parts = new Map<string, [string, Expr][]>();
  private readonly reductions = new Map<string, number | UnitMeans>();
  private readonly block: number;
  private readonly pool: OutputPool;
  private readonly simd: SimdRuns;
  loops = 0;

  private readonly outputs: StepOutputs;

  constructor(outputs: StepOutputs, private ctx: GeneratorContext) {
    // default rounding: means taken out of step-wide factors, so that they
    // can share a pass with the global sums (`sumWithMeans`)
    this.outputs = ctx.exact ? outputs : new Map(
      [...outputs].map(([param, exprs]) => [param, hoistSharedFactors(exprs)]),
    );
    const backend = tf.backend();
    const b = (backend as unknown as { blockSize?: unknown }).blockSize;
    this.block = typeof b === "number" && b >= 1 ? b : 48;
    // one pool per fuse(...) result and backend (tfjs's data ids are the
    // backend's own)
    let pool = ctx.cache.get("cpu|pool") as OutputPool | undefined;
    if (pool?.backend !== backend) {
      ctx.cache.set("cpu|pool", pool = new OutputPool(backend));
    }
    this.pool = pool;
    this.simd = new SimdRuns({
      shapeOf: (param) => this.shapeOf(param),
      read: (param, name) => this.read(param, name),
      scalarsOf: (param, k) => this.scalarsOf(param, k),
      reduction: (param, e) => this.reduction(param, e),
      starting: () => {
        fault("loop");
        this.loops++;
      },
    });
    let kept = ctx.cache.get("cpu|kept") as Map<number, Kept> | undefined;
    if (kept === undefined) ctx.cache.set("cpu|kept", kept = new Map());
    this.kept = kept;
    // every parameter's part of each global sum, in the order op by op
    // (`evaluate`) adds them
    for (const [param, exprs] of this.outputs) {
      for (const g of nodesOf(exprs, "globalSum")) {
        const list = this.parts.get(g.name) ?? [];
        list.push([param, g.args[0]!]);
        this.parts.set(g.name, list);
      }
    }
  }

  run(): Map<string, tf.Tensor[]> {
    this.pool.collect();
    const arrays = new Map<string, (Float32Array | null)[]>();
    const borrowed: Float32Array[] = [];
    try {
      // every parameter's outputs taken first, so that the reductions
      // (which a loop may need of any parameter) find each parameter's
      // arena
      const loops: [string, readonly Expr[], Float32Array[]][] = [];
      for (const [param, exprs] of this.outputs) {
        const computed = computedOf(exprs);
        const shape = this.shapeOf(param);
        const n = shape.reduce((p, d) => p * d, 1);
        const simd = this.simdKernel(computed, shape);
        const arena = simd === null ? undefined : this.pool.arenaFor(param, n, {
          outputs: computed.length,
          inputs: simd.inputs.map((name) => this.read(param, name)),
          means: simd.means.length,
          units: shape[shape.length - 1] ?? 1,
        });
        const outs = computed.map(() => this.pool.take(n, arena));
        let k = 0;
        arrays.set(
          param,
          exprs.map((e) => e.op === "input" ? null : outs[k++]!),
        );
        if (simd !== null && arena !== undefined) {
          this.simd.prepare(param, simd, arena, outs, borrowed);
        }
        loops.push([param, computed, outs]);
      }
      for (const [param, computed, outs] of loops) {
        if (!this.simd.loop(param)) {
          this.exec(param, { kind: "outputs", exprs: computed }, outs);
        }
      }
    } catch (e) {
      for (const list of arrays.values()) {
        this.pool.giveBack(list.filter((a) => a !== null));
      }
      throw e;
    } finally {
      this.pool.giveBack(borrowed);
    }
    return this.wrap(arrays);
  }

  /**
   * Lets go of everything this step read (its context: the step's tensors
   * and hyperparameters; its memos; what it staged), so that it can be kept
   * once finished. The generator keeps the last finished step of each
   * `fuse(...)` result: V8 optimizes this class's methods against the
   * hidden classes (maps) of its instances, and a full garbage collection
   * frees a map no live object uses, which deoptimizes every function
   * compiled against it. With no step alive between steps, V8 reported
   * such deoptimizations after each full collection (`--trace-deopt`);
   * `bench/cpu_after_gc.ts` times steps after one with and without the kept
   * step (docs/fuse.md gives its figures).
   */
  retire(): void {
    this.ctx = RETIRED;
    this.scalars.clear();
    this.hypers.clear();
    this.globals.clear();
    this.parts.clear();
    this.reductions.clear();
    this.simd.retire();
  }

  /** Output tensors over the arrays; none left behind if one fails. */
  private wrap(
    arrays: ReadonlyMap<string, (Float32Array | null)[]>,
  ): Map<string, tf.Tensor[]> {
    const made: tf.Tensor[] = [];
    // each output's place (parameter and expression); every output but the
    // last (the update or new weight) is a state slot
    const places: { t: tf.Tensor; key: string; slot: boolean }[] = [];
    try {
      const values = new Map<string, tf.Tensor[]>();
      for (const [param, list] of arrays) {
        const exprs = this.outputs.get(param)!;
        const shape = [...this.shapeOf(param)];
        values.set(
          param,
          list.map((a, k) => {
            if (a === null) return this.ctx.inputs(param, exprs[k]!.name);
            fault("wrap");
            const key = `${param}\u0000${exprs[k]!.id}`;
            const t = this.pool.store(
              (x) => tf.tensor(x, shape, "float32"),
              a,
              key,
            );
            made.push(t);
            places.push({ t, key, slot: k < list.length - 1 });
            return t;
          }),
        );
      }
      this.pool.newValues(places);
      return values;
    } catch (e) {
      tf.dispose(made);
      throw e;
    }
  }

  private shapeOf(param: string): readonly number[] {
    return this.ctx.inputs(param, "g").shape;
  }

  /** Runs `task` for `param`, after whatever it reads. */
  private exec(
    param: string,
    task: KernelTask,
    outs: Float32Array[] = [],
  ): KernelResult {
    const shape = this.shapeOf(param);
    if (task.kind !== "outputs") {
      const done = this.simd.reduce(param, task, taskKey(task, shape));
      if (done !== undefined) return done;
    }
    const kernel = this.kernel(task, shape);
    const args = {
      ins: kernel.inputs.map((name) => this.read(param, name)),
      ...this.scalarsOf(param, kernel),
      ms: kernel.means.map((e) => this.reduction(param, e) as UnitMeans),
      maps: kernel.means.map((e) => this.indexOf(shape, e.axes)),
      rows: shape.length === 0 ? 1 : shape.slice(0, -1).reduce(
        (p, d) => p * d,
        1,
      ),
      units: shape.length === 0 ? 1 : shape[shape.length - 1]!,
      outs,
      block: this.block,
      shape,
    };
    fault("loop");
    this.loops++;
    return kernel.fn(args);
  }

  /** A kernel's shared scalars (float32) and `param`'s sums it reads. */
  private scalarsOf(
    param: string,
    k: { shared: readonly Expr[]; sums: readonly Expr[] },
  ): { sc: number[]; rs: number[] } {
    return {
      sc: k.shared.map((e) => Math.fround(this.scalar(e).v)),
      rs: k.sums.map((e) => this.reduction(param, e) as number),
    };
  }

  /**
   * The SIMD loop of `exprs` over `shape` (`_cpu_wasm.ts`), with the
   * default rounding only; `null` where there is none.
   */
  private simdKernel(
    exprs: readonly Expr[],
    shape: readonly number[],
  ): SimdKernel | null {
    if (this.ctx.exact) return null;
    return perList(
      SIMD_KERNELS,
      exprs,
      `${shape}`,
      () => makeSimdKernel(exprs, shape),
    );
  }

  private kernel(task: KernelTask, shape: readonly number[]): Kernel {
    if (task.kind === "outputs") {
      const exact = this.ctx.exact;
      return perList(
        KERNELS,
        task.exprs,
        `${shape}|${exact}`,
        () => makeKernel(task, shape, exact),
      );
    }
    const key = `cpu|${taskKey(task, shape)}|${this.ctx.exact}`;
    let k = this.ctx.cache.get(key) as Kernel | undefined;
    if (k === undefined) {
      k = makeKernel(task, shape, this.ctx.exact);
      this.ctx.cache.set(key, k);
    }
    return k;
  }

  private indexOf(
    shape: readonly number[],
    axes: readonly number[],
  ): Int32Array | null {
    const key = `cpu|index|${shape}|${axes}`;
    if (!this.ctx.cache.has(key)) {
      this.ctx.cache.set(key, meanIndex(shape, axes));
    }
    return this.ctx.cache.get(key) as Int32Array | null;
  }

  private read(param: string, name: string): ArrayLike<number> {
    // the cpu backend's own array of the tensor: read, never written
    return cpuArray(this.pool.backend, this.ctx.inputs(param, name));
  }

  /** A `sumAll` (a number) or `mean` (per unit) of `param`, computed once. */
  private reduction(param: string, e: Expr): number | UnitMeans {
    const key = reductionKey(param, e);
    let v = this.reductions.get(key);
    if (v === undefined) {
      v = e.op === "sumAll"
        ? this.exec(param, { kind: "sum", arg: e.args[0]! }) as number
        : this.exec(param, { kind: "mean", node: e }) as UnitMeans;
      this.reductions.set(key, v);
    }
    return v;
  }

  /** A global sum: each parameter's float32 sum, added as `tf.addN` does. */
  private global(tag: string): number {
    let total = this.globals.get(tag);
    if (total !== undefined) return total;
    const sums = (this.parts.get(tag) ?? []).map(([param, x]) =>
      x.perParam ? this.sumWithMeans(param, x) : Math.fround(this.scalar(x).v)
    );
    total = 0;
    for (const s of sums) total = Math.fround(total + s);
    this.globals.set(tag, total);
    return total;
  }

  /**
   * `param`'s part of a global sum; with the default rounding, in the same
   * pass as those of its per-unit means that read nothing else to be
   * reduced first (GC after `clipByGlobalNorm`: one read of the gradient
   * for both), each kept for the loops that read it.
   */
  private sumWithMeans(param: string, x: Expr): number {
    const shape = this.shapeOf(param);
    const means = this.ctx.exact || !direct(x)
      ? []
      : nodesOf(this.outputs.get(param)!, "mean").filter((m) =>
        columnMean(shape, m.axes) && direct(m.args[0]!) &&
        !this.reductions.has(reductionKey(param, m))
      );
    if (means.length === 0) {
      return this.exec(param, { kind: "sum", arg: x }) as number;
    }
    const [sum, ...found] = this.exec(param, {
      kind: "sumAndMeans",
      arg: x,
      means,
    }) as [number, ...UnitMeans[]];
    means.forEach((m, q) =>
      this.reductions.set(reductionKey(param, m), found[q]!)
    );
    return sum;
  }

  /**
   * A value shared by every parameter, as op by op computes it; one of
   * hyperparameters alone (the powers of `b1` behind a bias correction) is
   * computed again only when one of them has changed since it last was.
   */
  private scalar(e: Expr): Scalar {
    let s = this.scalars.get(e.id);
    if (s !== undefined) return s;
    const reads = hypersRead(e);
    if (reads === null) s = this.computeScalar(e);
    else {
      const now = reads.map((name) => this.hyper(name));
      const before = this.kept.get(e.id);
      if (
        before !== undefined &&
        before.hypers.every((h, k) =>
          Object.is(h.v, now[k]!.v) && h.tensor === now[k]!.tensor
        )
      ) {
        s = before.s;
      } else {
        s = this.computeScalar(e);
        this.kept.set(e.id, { hypers: now, s });
      }
    }
    this.scalars.set(e.id, s);
    return s;
  }

  private computeScalar(e: Expr): Scalar {
    switch (e.op) {
      case "const":
        return { v: e.value, tensor: false };
      case "hyper":
        return this.hyper(e.name);
      case "globalSum":
        return { v: this.global(e.name), tensor: true };
      case "powTwo": {
        const base = this.scalar(e.args[0]!);
        if (!base.tensor) {
          return { v: hostOp("powTwo", [base.v], e), tensor: false };
        }
        if (e.value === 0) return base;
        const half = this.scalar(powTwo(e.args[0]!, e.value - 1)).v;
        return { v: Math.fround(half * half), tensor: true };
      }
      case "bitProduct": {
        // on cpu, op by op reads the numbers and multiplies on the host
        const [n, ...f] = e.args.map((a) => this.scalar(a).v);
        return { v: bitProductHost(n!, f), tensor: false };
      }
      case "select": {
        const [c, a, b] = e.args.map((x) => this.scalar(x)) as [
          Scalar,
          Scalar,
          Scalar,
        ];
        if (!c.tensor) return c.v ? a : b;
        return { v: c.v ? a.v : b.v, tensor: true };
      }
      default: {
        const args = e.args.map((a) => this.scalar(a));
        const vals = args.map((a) => a.v);
        if (args.every((a) => !a.tensor)) {
          return { v: hostOp(e.op, vals, e), tensor: false };
        }
        return { v: tensorOp(e.op, vals), tensor: true };
      }
    }
  }

  private hyper(name: string): Scalar {
    let s = this.hypers.get(name);
    if (s !== undefined) return s;
    const h = this.ctx.hypers[name];
    if (h === undefined) {
      throw new TypeError(`fuse: no value for hyperparameter "${name}"`);
    }
    s = typeof h === "number"
      ? { v: h, tensor: false }
      : { v: h.dataSync()[0]!, tensor: true };
    this.hypers.set(name, s);
    return s;
  }
}

/** The cpu code generator: one JavaScript loop per tensor. */
export const cpuGenerator: CodeGenerator = {
  name: "cpu",
  run(outputs: StepOutputs, context: GeneratorContext): GeneratorResult {
    const step = new CpuStep(outputs, context);
    try {
      const values = step.run();
      return { values, dispatches: step.loops };
    } finally {
      step.retire();
      if (cpuReuse.keepLastStep) context.cache.set("cpu|last", step);
      else context.cache.delete("cpu|last");
    }
  },
};

/**
 * Whether this runtime compiles code at run time: a page whose Content
 * Security Policy forbids `unsafe-eval` does not, and there `fuse` stays op
 * by op on cpu (the same numbers).
 */
function canCompile(): boolean {
  try {
    return new Function("return 1")() === 1;
  } catch {
    return false;
  }
}

if (canCompile()) registerGenerator("cpu", cpuGenerator);
