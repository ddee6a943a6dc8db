// Private: the interface every fused program implements, and what the
// planner (`_planner.ts`) and the launcher (`_launch.ts`) know of programs.
//
// A new fused program goes in a file of its own, `_<kind>.ts`: copy
// `_scalars.ts` (single-output programs, run by tfjs's `runWebGPUProgram`)
// or `_step.ts` (a program writing several outputs, run by `_dispatch.ts`).
// Its builder takes a `ProgramHost` and returns a `Recipe` (`makeRecipe`)
// or a `MultiRecipe`; it fills one of the shader skeletons of `_wgsl.ts`
// (`valueMain`, `guardedMain`, `multiOutputShader`: all WGSL is written
// there) around a `Kernel`, which turns expressions into WGSL and records
// what the program reads as `Binding`s. Then: add its `tf.time` name to
// `KernelName` below; if it reads a tensor that no `Binding` kind names
// yet, add one and map it to the node that computes it in
// `Planner.source`; and call the builder from `_planner.ts`, which places
// its launch after the launches of everything it reads. `_launch.ts`
// changes only for a new kind of node.
import * as tf from "@tensorflow/tfjs";
import type { Expr } from "./_chain.ts";

/** Threads per workgroup of the per-element programs. */
export const ELEMENTWISE_WG = 64;
/** Threads per workgroup of the sums. */
export const REDUCE_WG = 64;
/** Elements a thread of a reduction reads (`_mean.ts`, `_sum.ts`). */
export const ROWS_PER_THREAD = 16;
/**
 * GC's per-unit mean takes one pass (`CentraMeanColumns`: a thread sums a
 * whole column) instead of two when the tensor has at most this many rows
 * and `ONE_PASS_ELEMENTS` elements: then a second dispatch would cost more
 * than the one pass's longer loops (docs/fuse.md, "The webgpu generator's GC
 * means").
 */
export const ONE_PASS_ROWS = 256;
/** See `ONE_PASS_ROWS`: the one pass's limit on the tensor's size. */
export const ONE_PASS_ELEMENTS = 16384;

/** The fused programs' names, as `tf.time`'s per-kernel profile lists them. */
export type KernelName =
  | "CentraScalars"
  | "CentraScalar"
  | "CentraMeanColumns"
  | "CentraMeanPartials"
  | "CentraMeanTotal"
  | "CentraMean"
  | "CentraSum"
  | "CentraElementwise"
  | "CentraFusedStep";

/** What a program's builder asks of the step it is planned for. */
export interface ProgramHost {
  /** A number-only subexpression's value this step, if it has one. */
  fold(e: Expr): number | undefined;
  /** The slot of a shared subexpression in the step's packed scalars. */
  packSlot(e: Expr): number;
  /** The slot of a tensor hyperparameter in the packed hyperparameters. */
  scalarSlot(name: string): number | undefined;
  /** Whether an earlier launch of the step writes `e` of `param` whole. */
  planned(param: string, e: Expr): boolean;
  shapeOf(param: string): readonly number[];
  /** Storage buffers a shader may read (one more is its output). */
  readonly maxInputs: number;
}

/**
 * How a fused step gets a per-unit mean over all axes but the last, followed
 * by the step's packed scalars (`_mean.ts`): in one pass or in two.
 */
export type MeanColumns = OnePassMean | TwoPassMean;

/** A per-unit mean over `rows` x `units` in memory. */
interface ColumnsOf {
  mean: Expr;
  rows: number;
  units: number;
}

/** One program sums whole columns (`CentraMeanColumns`). */
export interface OnePassMean extends ColumnsOf {
  passes: 1;
  /** The program, once the step's `slots` packed scalars are known. */
  program(slots: number): Recipe;
}

/** Sums of blocks of rows (`CentraMeanPartials`), then their total. */
export interface TwoPassMean extends ColumnsOf {
  passes: 2;
  blocks: number;
  /** The first pass: sums of blocks of rows. */
  partials: Recipe;
}

/** Where a program's input comes from: a tensor of the step, by what it is. */
export type Binding =
  /** A stage input of `param` (its gradient, weight or a state slot). */
  | { kind: "input"; param: string; name: string }
  /** `e` of `param`, written whole by an earlier launch. */
  | { kind: "done"; param: string; e: Expr }
  /** The step's tensor-valued hyperparameters, packed. */
  | { kind: "hypers" }
  /** A global sum over every parameter (`globalSum`). */
  | { kind: "global"; tag: string }
  /** A sum over one tensor (`sumAll`). */
  | { kind: "sumAll"; param: string; e: Expr }
  /** A per-unit mean (`mean`), flat over the kept axes. */
  | { kind: "mean"; param: string; e: Expr }
  /** A subexpression shared by every element, as a [1] tensor. */
  | { kind: "scalar"; e: Expr }
  /** Every packed scalar of the step (`_scalars.ts`). */
  | { kind: "pack" }
  /** A per-unit mean followed by the packed scalars (`_mean.ts`). */
  | { kind: "columns"; param: string; columns: MeanColumns }
  /** The running total of a chain of sums. */
  | { kind: "acc" };

/** A single-output program, reusable across steps. */
export interface Recipe {
  bindings: readonly Binding[];
  /** Number-only subexpressions, folded on the host at every launch. */
  uniforms: readonly Expr[];
  /** Whether workgroups add into one zeroed float (`_sum.ts`). */
  reduce: boolean;
  /** A fresh program object (tfjs rewrites a program's key on every run). */
  program(): Program;
}

/** A program writing several outputs of one size (`_step.ts`). */
export interface MultiRecipe {
  name: KernelName;
  bindings: readonly Binding[];
  uniforms: readonly Expr[];
  /** The whole shader: outputs, then inputs, then the uniforms. */
  code: string;
  outputs: number;
  /** Length of each output. */
  size: number;
  groups: number;
  /** `uniforms.size`: the thread count. */
  threads: number;
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
      ).join(" ");
    }
    this.code = opts.code;
    this.shaderKey = opts.key;
  }

  getUserCode(): string {
    return this.code;
  }
}

const programClasses = new Map<KernelName, typeof Program>();

/** A subclass of `Program` named `name` (tfjs times programs by class name). */
export function programClass(name: KernelName): typeof Program {
  let c = programClasses.get(name);
  if (c === undefined) {
    c = { [name]: class extends Program {} }[name]!;
    programClasses.set(name, c);
  }
  return c;
}

/** A short key that tells shaders apart (tfjs caches pipelines by it). */
export function hash(s: string): string {
  // FNV-1a, twice with different seeds: the key only has to tell shaders apart
  let a = 0x811c9dc5, b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return `${(a >>> 0).toString(36)}${(b >>> 0).toString(36)}_${s.length}`;
}

/** What a single-output program reads: a `Kernel`'s record (`_wgsl.ts`). */
export interface KernelRecord {
  readonly vec: boolean;
  readonly bindings: readonly Binding[];
  readonly components: readonly number[];
  readonly uniforms: readonly Expr[];
}

/** The launch geometry and name of a single-output program. */
export interface ProgramShape {
  /** What `tf.time` calls the kernel (tfjs reports a program's class name). */
  name: KernelName;
  /** Output length (float32, flat). */
  size: number;
  workgroup: number;
  groups: number;
  /** Whether workgroups add into one zeroed float. */
  reduce?: boolean;
}

/** A single-output program: `body` (WGSL) over what `k` recorded. */
export function makeRecipe(
  k: KernelRecord,
  body: string,
  shape: ProgramShape,
): Recipe {
  const components = [...k.components];
  const outputComponent = k.vec && !shape.reduce ? 4 : 1;
  const uniforms = k.uniforms.length;
  const reduce = shape.reduce ?? false;
  const key = `centra_${hash(body)}_${uniforms}_${
    components.join("")
  }${outputComponent}`;
  return {
    bindings: k.bindings,
    uniforms: k.uniforms,
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

/** Elements of `param`. */
export function sizeOf(host: ProgramHost, param: string): number {
  return tf.util.sizeFromShape([...host.shapeOf(param)]);
}
