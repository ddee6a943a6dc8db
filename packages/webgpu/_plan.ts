// Private: what a planned step is. `_planner.ts` builds a `Plan` before
// anything runs; `_launch.ts` runs its nodes in order. Plans are kept across
// steps (`PlanCache`): a step with the same parameters, shapes, expressions
// and tensor-valued hyperparameters runs the same plan with new numbers.
import type { Expr } from "./_chain.ts";
import type { MultiRecipe, Recipe } from "./_program.ts";

/** A tensor of the step: a stage input, or an output of an earlier node. */
export type Source =
  /** `inputs(param, name)`, flattened where a program reads it. */
  | { kind: "input"; param: string; name: string }
  | { kind: "node"; node: number; output: number };

/** A global sum's tag with the source of its [1] total. */
export type GlobalSource = readonly [tag: string, total: Source];

/** One unit of work of a step, after every node it reads. */
export type PlanNode =
  /** A single-output program through tfjs's `runWebGPUProgram`. */
  | {
    kind: "program";
    recipe: Recipe;
    inputs: readonly Source[];
    /** Nodes no later node reads: disposed once this one has run. */
    release: readonly number[];
  }
  /** A program writing several outputs (`_dispatch.ts`). */
  | { kind: "multi"; recipe: MultiRecipe; inputs: readonly Source[] }
  /** The tensor-valued hyperparameters, packed as `scalarSlot` numbers them. */
  | { kind: "hypers"; names: readonly string[] }
  /**
   * `e` of `param` with tf ops, flat (summed to [1] with `sum`), where a
   * program would bind more buffers than a shader may; with no `param`,
   * a shared scalar as a [1] tensor.
   */
  | {
    kind: "ops";
    param: string | null;
    e: Expr;
    sum: boolean;
    globals: readonly GlobalSource[];
  }
  | { kind: "concat"; parts: readonly Source[] }
  | { kind: "add"; a: Source; b: Source }
  | { kind: "zeros" };

/** A whole step: its nodes in launch order, and where each output comes from. */
export interface Plan {
  nodes: readonly PlanNode[];
  /** Per parameter, the source of each requested output, in order. */
  outputs: ReadonlyMap<string, readonly Source[]>;
}

/** What `fuse` keeps across steps: plans by what they compute. */
export type PlanCache = Map<string, Plan>;
