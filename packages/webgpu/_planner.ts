// Private: plans every launch of a fused step before any runs. Per tensor,
// one program writes every output (`_step.ts`), or, where that cannot be
// had, one program per output; reductions (`_mean.ts`, `_sum.ts`) and the
// step's shared scalars (`_scalars.ts`) are small programs of their own. A
// program's bindings say what it reads; the planner places the launches
// that compute those before it, so nothing launches from code generation.
import { type Expr, foldNumber, type Hyper } from "./_chain.ts";
import { meanProgram, meanTotalProgram } from "./_mean.ts";
import type { GlobalSource, Plan, PlanNode, Source } from "./_plan.ts";
import type {
  Binding,
  MeanColumns,
  MultiRecipe,
  ProgramHost,
  Recipe,
} from "./_program.ts";
import { packProgram, scalarProgram } from "./_scalars.ts";
import { elementwiseProgram, fusedStepProgram } from "./_step.ts";
import { sumBatches, sumProgram, type SumTerm } from "./_sum.ts";

/** What a step computes: per parameter, its outputs' expressions. */
export type StepOutputs = ReadonlyMap<string, readonly Expr[]>;

/** What the planner knows of the step besides its expressions. */
export interface StepFacts {
  shapes: ReadonlyMap<string, readonly number[]>;
  hypers: Readonly<Record<string, Hyper>>;
  /** Tensor-valued hyperparameters, in the order programs read them. */
  tensorHypers: readonly string[];
  maxInputs: number;
  /** Whether programs may write several outputs (`_dispatch.ts`). */
  multiOutput: boolean;
}

/** Per parameter, per expression id: where a tensor of the step comes from. */
class Table {
  private readonly rows = new Map<string, Map<number, Source>>();
  get(param: string, id: number): Source | undefined {
    return this.rows.get(param)?.get(id);
  }
  set(param: string, id: number, s: Source): Source {
    let row = this.rows.get(param);
    if (row === undefined) this.rows.set(param, row = new Map());
    row.set(id, s);
    return s;
  }
}

/** Plans one step's launches (see the module comment). */
export function planStep(outputs: StepOutputs, facts: StepFacts): Plan {
  return new Planner(outputs, facts).plan();
}

class Planner implements ProgramHost {
  readonly maxInputs: number;
  private readonly nodes: PlanNode[] = [];
  private readonly done = new Table();
  private readonly means = new Table();
  private readonly sums = new Table();
  private readonly columns = new Table();
  private readonly scalars = new Map<number, Source>();
  private readonly globals = new Map<string, Source>();
  private readonly globalTerms = new Map<string, SumTerm[]>();
  private readonly packList: Expr[] = [];
  private readonly packIndex = new Map<number, number>();
  private pack: Source | null = null;
  private hypers: Source | null = null;

  constructor(
    private readonly outputs: StepOutputs,
    private readonly facts: StepFacts,
  ) {
    this.maxInputs = facts.maxInputs;
    const walk = (param: string, e: Expr, seen: Set<number>) => {
      if (seen.has(e.id)) return;
      seen.add(e.id);
      if (e.op === "globalSum") {
        const list = this.globalTerms.get(e.name) ?? [];
        list.push({ param, e: e.args[0]! });
        this.globalTerms.set(e.name, list);
      }
      for (const a of e.args) walk(param, a, seen);
    };
    for (const [param, exprs] of outputs) {
      const seen = new Set<number>();
      for (const e of exprs) walk(param, e, seen);
    }
  }

  plan(): Plan {
    // every fused program is generated before any source is planned: they
    // share one pack of scalars, which is built once all its slots are known
    const fused = new Map<string, MultiRecipe | null>();
    if (this.facts.multiOutput) {
      for (const [param, exprs] of this.outputs) {
        const computed = exprs.filter((e) => e.op !== "input");
        if (computed.length === 0) continue;
        fused.set(param, fusedStepProgram(this, param, computed)?.step ?? null);
      }
    }
    const outputs = new Map<string, Source[]>();
    for (const [param, exprs] of this.outputs) {
      const step = fused.get(param);
      outputs.set(
        param,
        step == null
          ? exprs.map((e) => this.output(param, e))
          : this.fusedOutputs(param, exprs, step),
      );
    }
    return { nodes: this.nodes, outputs };
  }

  /** The outputs of one fused program, stage inputs passed through as they are. */
  private fusedOutputs(
    param: string,
    exprs: readonly Expr[],
    step: MultiRecipe,
  ): Source[] {
    const node = this.push({
      kind: "multi",
      recipe: step,
      inputs: step.bindings.map((b) => this.source(b, null)),
    });
    let output = 0;
    return exprs.map((e) =>
      e.op === "input"
        ? { kind: "input", param, name: e.name }
        : { kind: "node", node, output: output++ }
    );
  }

  /** One output on its own: a stage input, or one program writing it. */
  private output(param: string, e: Expr): Source {
    if (e.op === "input") return { kind: "input", param, name: e.name };
    const known = this.done.get(param, e.id);
    if (known !== undefined) return known;
    const s = this.launch(elementwiseProgram(this, param, e), null) ??
      this.ops(param, e, false);
    // later outputs read this one instead of computing it again
    return this.done.set(param, e.id, s);
  }

  private push(node: PlanNode): number {
    this.nodes.push(node);
    return this.nodes.length - 1;
  }

  /**
   * A launch of `recipe` after what it reads; `null` if it binds too many.
   * With `releaseAcc`, `acc` is disposed once it has run.
   */
  private launch(
    recipe: Recipe,
    acc: Source | null,
    releaseAcc = false,
  ): Source | null {
    if (recipe.bindings.length > this.maxInputs) return null;
    const inputs = recipe.bindings.map((b) => this.source(b, acc));
    const release = releaseAcc && acc?.kind === "node" ? [acc.node] : [];
    const node = this.push({ kind: "program", recipe, inputs, release });
    return { kind: "node", node, output: 0 };
  }

  /** `e` with tf ops, where no program can be had. */
  private ops(param: string | null, e: Expr, sum: boolean): Source {
    const globals: GlobalSource[] = param === null
      ? [...tagsIn(e)].map((tag) => [tag, this.global(tag)])
      : [...this.globalTerms.keys()].map((tag) => [tag, this.global(tag)]);
    const node = this.push({ kind: "ops", param, e, sum, globals });
    return { kind: "node", node, output: 0 };
  }

  /** Where the tensor a binding stands for comes from, planned if need be. */
  private source(b: Binding, acc: Source | null): Source {
    switch (b.kind) {
      case "input":
        return { kind: "input", param: b.param, name: b.name };
      case "done":
        return this.done.get(b.param, b.e.id)!;
      case "hypers":
        return this.hypers ??= this.node({
          kind: "hypers",
          names: this.facts.tensorHypers,
        });
      case "global":
        return this.global(b.tag);
      case "sumAll":
        return this.sums.get(b.param, b.e.id) ??
          this.sums.set(b.param, b.e.id, this.sumAll(b.param, b.e));
      case "mean":
        return this.mean(b.param, b.e);
      case "scalar":
        return this.scalar(b.e);
      case "acc":
        return acc!;
      case "pack":
        return this.packed();
      case "columns":
        return this.meanColumns(b.param, b.columns);
    }
  }

  private node(n: PlanNode): Source {
    return { kind: "node", node: this.push(n), output: 0 };
  }

  /** A `sumAll` of `param`: `Σ` of its argument, as a [1] tensor. */
  private sumAll(param: string, e: Expr): Source {
    return this.sum([{ param, e: e.args[0]! }], null);
  }

  /** The per-unit mean `e` of `param`, flat over the kept axes. */
  private mean(param: string, e: Expr): Source {
    const known = this.means.get(param, e.id);
    if (known !== undefined) return known;
    const s = this.launch(meanProgram(this, param, e), null) ??
      this.ops(param, e, false);
    return this.means.set(param, e.id, s);
  }

  /** A per-unit mean in one pass or two, followed by the packed scalars. */
  private meanColumns(param: string, columns: MeanColumns): Source {
    const id = columns.mean.id;
    const known = this.columns.get(param, id);
    if (known !== undefined) return known;
    const slots = this.packList.length;
    if (columns.passes === 1) {
      return this.columns.set(
        param,
        id,
        this.launch(columns.program(slots), null)!,
      );
    }
    const partials = this.launch(columns.partials, null)!;
    const total = meanTotalProgram(this, columns, slots);
    return this.columns.set(param, id, this.launch(total, partials, true)!);
  }

  /** A shared subexpression as a [1] tensor, computed once per step. */
  private scalar(e: Expr): Source {
    const known = this.scalars.get(e.id);
    if (known !== undefined) return known;
    const s = this.launch(scalarProgram(this, e), null) ??
      this.ops(null, e, false);
    this.scalars.set(e.id, s);
    return s;
  }

  /** Every packed scalar of the step, by one single-thread program. */
  private packed(): Source {
    if (this.pack !== null) return this.pack;
    const list = [...this.packList];
    this.pack = this.launch(packProgram(this, list), null) ??
      this.node({
        kind: "concat",
        parts: list.map((e) => this.ops(null, e, false)),
      });
    return this.pack;
  }

  /** `Σ` of `terms` in one program plus `acc`; one per term if too many. */
  private sum(terms: readonly SumTerm[], acc: Source | null): Source {
    const one = this.launch(sumProgram(this, terms, acc !== null), acc);
    if (one !== null) return one;
    if (terms.length > 1) {
      return terms.reduce<Source | null>((a, t) => this.sum([t], a), acc)!;
    }
    const s = this.ops(terms[0]!.param, terms[0]!.e, true);
    return acc === null ? s : this.node({ kind: "add", a: s, b: acc });
  }

  /** A global sum over every parameter: one chained program per batch. */
  private global(tag: string): Source {
    const known = this.globals.get(tag);
    if (known !== undefined) return known;
    const batches = sumBatches(this, this.globalTerms.get(tag) ?? []);
    let acc: Source | null = null;
    for (const batch of batches) acc = this.sum(batch, acc);
    const total = acc ?? this.node({ kind: "zeros" });
    this.globals.set(tag, total);
    return total;
  }

  packSlot(e: Expr): number {
    let k = this.packIndex.get(e.id);
    if (k === undefined) {
      if (this.pack !== null) {
        throw new Error("fuse: a program needed a scalar after the pack");
      }
      k = this.packList.length;
      this.packList.push(e);
      this.packIndex.set(e.id, k);
    }
    return k;
  }

  scalarSlot(name: string): number | undefined {
    const k = this.facts.tensorHypers.indexOf(name);
    return k < 0 ? undefined : k;
  }

  fold(e: Expr): number | undefined {
    return foldNumber(e, this.facts.hypers);
  }

  planned(param: string, e: Expr): boolean {
    return this.done.get(param, e.id) !== undefined;
  }

  shapeOf(param: string): readonly number[] {
    return this.facts.shapes.get(param)!;
  }
}

/** The tags of the global sums `e` reads. */
function tagsIn(e: Expr, out = new Set<string>()): Set<string> {
  if (e.op === "globalSum") out.add(e.name);
  for (const a of e.args) tagsIn(a, out);
  return out;
}
