// Private: runs a planned step (`_plan.ts`) on tfjs-backend-webgpu, node by
// node: single-output programs through `runWebGPUProgram`, fused steps
// through `_dispatch.ts`, fallbacks with tf ops. Numbers are uniforms folded
// here at every launch, so new hyperparameter values never recompile.
import * as tf from "@tensorflow/tfjs";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { evaluate, type Expr, foldNumber, type Hyper } from "./_chain.ts";
import { dispatchMulti, fault } from "./_dispatch.ts";
import type { Plan, PlanNode, Source } from "./_plan.ts";
import type { MultiRecipe, Recipe } from "./_program.ts";

/** A stage input of a parameter, by name. */
export type Inputs = (param: string, name: string) => tf.Tensor;

/** What a step's launches read besides the plan. */
export interface LaunchContext {
  inputs: Inputs;
  hypers: Readonly<Record<string, Hyper>>;
  shapes: ReadonlyMap<string, readonly number[]>;
}

/**
 * Runs every node of `plan`; per parameter, its outputs in the order
 * planned, in their parameter's shape. Counts dispatches in `dispatches`.
 */
export function launchPlan(
  plan: Plan,
  ctx: LaunchContext,
  dispatches: { count: number },
): Map<string, tf.Tensor[]> {
  return new Launcher(ctx, dispatches).run(plan);
}

class Launcher {
  private readonly results: tf.Tensor[][] = [];
  private readonly backend: WebGPUBackend;

  constructor(
    private readonly ctx: LaunchContext,
    private readonly dispatches: { count: number },
  ) {
    // Through `unknown`: the backend package's types may come from another
    // tfjs-core patch release than the user's tfjs (same engine at runtime).
    this.backend = tf.backend() as unknown as WebGPUBackend;
  }

  run(plan: Plan): Map<string, tf.Tensor[]> {
    for (const node of plan.nodes) this.results.push(this.node(node));
    const out = new Map<string, tf.Tensor[]>();
    for (const [param, sources] of plan.outputs) {
      const shape = [...this.ctx.shapes.get(param)!];
      out.set(
        param,
        sources.map((s) =>
          s.kind === "input"
            ? this.ctx.inputs(param, s.name)
            : tf.reshape(this.tensor(s), shape)
        ),
      );
    }
    return out;
  }

  private node(n: PlanNode): tf.Tensor[] {
    switch (n.kind) {
      case "program": {
        const t = this.program(n.recipe, n.inputs.map((s) => this.tensor(s)));
        for (const k of n.release) tf.dispose(this.results[k]!);
        return [t];
      }
      case "multi":
        return this.multi(n.recipe, n.inputs.map((s) => this.tensor(s)));
      case "hypers":
        return [this.packHypers(n.names)];
      case "ops":
        return [this.ops(n)];
      case "concat":
        return [tf.concat(n.parts.map((s) => this.tensor(s)))];
      case "add":
        return [tf.add(this.tensor(n.a), this.tensor(n.b))];
      case "zeros":
        return [tf.zeros([1])];
    }
  }

  /** A source's tensor; stage inputs flat, as programs read them. */
  private tensor(s: Source): tf.Tensor {
    if (s.kind === "node") return this.results[s.node]![s.output]!;
    const t = this.ctx.inputs(s.param, s.name);
    return t.rank === 1 ? t : tf.reshape(t, [t.size]);
  }

  private uniform(e: Expr): number {
    return foldNumber(e, this.ctx.hypers)!;
  }

  private program(recipe: Recipe, tensors: tf.Tensor[]): tf.Tensor {
    const uniforms = recipe.uniforms.map((e) => ({
      type: "float32",
      data: [this.uniform(e)],
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

  private multi(m: MultiRecipe, inputs: tf.Tensor[]): tf.Tensor[] {
    this.dispatches.count++;
    return dispatchMulti({
      name: m.name,
      code: m.code,
      outputSizes: Array.from({ length: m.outputs }, () => m.size),
      inputs,
      uniforms: [
        { type: "float32", data: [NaN] },
        { type: "float32", data: [Infinity] },
        { type: "int32", data: [m.threads] },
        ...m.uniforms.map((e) => ({
          type: "float32" as const,
          data: [this.uniform(e)],
        })),
      ],
      groups: m.groups,
    });
  }

  /** Tensor-valued hyperparameters read directly, packed into one buffer. */
  private packHypers(names: readonly string[]): tf.Tensor {
    const packed = names.map((name) =>
      tf.reshape(tf.cast(this.ctx.hypers[name] as tf.Tensor, "float32"), [1])
    );
    return packed.length === 1 ? packed[0]! : tf.concat(packed);
  }

  /** Too many inputs for one shader: `e` with tf ops instead. */
  private ops(n: Extract<PlanNode, { kind: "ops" }>): tf.Tensor {
    const globals = new Map<string, tf.Tensor>();
    for (const [tag, s] of n.globals) {
      globals.set(tag, tf.reshape(this.tensor(s), []));
    }
    // a shared scalar is evaluated under a name no parameter reads
    const param = n.param ?? "shared scalar";
    const out = evaluate(
      { [param]: { v: n.e } },
      n.param === null
        ? () => {
          throw new TypeError(
            "fuse: a shared subexpression read a tensor input",
          );
        }
        : this.ctx.inputs,
      this.ctx.hypers,
      { globals },
    )[param]!.v!;
    const flat = tf.reshape(tf.cast(out, "float32"), [out.size]);
    return n.sum ? tf.reshape(tf.sum(flat), [1]) : flat;
  }
}
