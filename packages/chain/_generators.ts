// Private: the code generators `fuse` hands a fused run to, by tfjs backend
// name. The cpu generator (`_cpu_generator.ts`) registers itself here;
// `@centra/webgpu` registers the WGSL one when it is imported. Where no
// generator is registered for the current backend, `fuse` runs op by op.
import type * as tf from "@tensorflow/tfjs";
import type { Expr } from "./_expr.ts";
import type { Hyper, Params } from "./types.ts";

/**
 * What one fused run computes: per parameter (in the order of the step's
 * updates), the expressions of its outputs: each state slot of each stage,
 * then the update (or, through `runStep`, the new weight).
 */
export type StepOutputs = ReadonlyMap<string, readonly Expr[]>;

/**
 * One tensor input of a parameter: `"g"` (the run's incoming update), `"p"`
 * (the parameter) or a stage's state slot, as the expressions name it.
 */
export type InputReader = (param: string, name: string) => tf.Tensor;

/** What a code generator gets besides the expressions. */
export interface GeneratorContext {
  /** Reads a parameter's tensor input by the name an `input` node holds. */
  inputs: InputReader;
  /** This step's per-step scalars (numbers or scalar tensors) by `hyper` name. */
  hypers: Readonly<Record<string, Hyper>>;
  /**
   * The generator's own cache, one per `fuse(...)` result, kept across
   * steps (compiled kernels, plans: whatever does not change with numbers).
   */
  cache: Map<string, unknown>;
  /**
   * Whether every intermediate must be rounded to float32 where the
   * op-by-op chain rounds, so that the outputs equal op by op's bit for bit
   * (`fuse`'s `exact`); when false, a generator may compute each element in
   * higher precision and round once, at the store. A generator whose
   * arithmetic is float32 anyway (WGSL) may ignore it.
   */
  exact: boolean;
}

/** What a code generator returns for one fused run. */
export interface GeneratorResult {
  /**
   * Per parameter of the outputs, one fresh tensor per expression, in its
   * parameter's shape (an expression that is a bare `input` may be that
   * input tensor itself). The caller owns them.
   */
  values: Map<string, tf.Tensor[]>;
  /** Kernels run: WGSL dispatches, JavaScript loops (for `onDispatches`). */
  dispatches: number;
}

/**
 * Computes a fused run's outputs on one tfjs backend. It validates nothing
 * (the stages' checks ran before it) and must leave every input tensor as it
 * was; if it throws, the tensors it made must be disposed or left to the
 * caller's `tf.tidy`.
 */
export interface CodeGenerator {
  /** The generator's name, for error messages. */
  readonly name: string;
  /** Computes `outputs` for this step. */
  run(outputs: StepOutputs, context: GeneratorContext): GeneratorResult;
}

const generators = new Map<string, CodeGenerator>();

/** Registers `generator` for the tfjs backend `backend` (replacing one). */
export function registerGenerator(
  backend: string,
  generator: CodeGenerator,
): void {
  if (typeof backend !== "string" || backend === "") {
    throw new TypeError(
      `registerGenerator: backend must be a backend name, got ${
        String(backend)
      }`,
    );
  }
  if (
    generator === null || typeof generator !== "object" ||
    typeof generator.run !== "function"
  ) {
    throw new TypeError(
      `registerGenerator: expected a code generator with run(), got ${
        String(generator)
      }`,
    );
  }
  generators.set(backend, generator);
}

/** The generator registered for `backend`, if any. */
export function generatorFor(backend: string): CodeGenerator | undefined {
  return generators.get(backend);
}

/** What every part of one fused step shares (the fuser's, not a generator's). */
export interface StepContext {
  params: Params | undefined;
  generator: CodeGenerator;
  cache: Map<string, unknown>;
  /** `fuse`'s `exact` (see `GeneratorContext.exact`). */
  exact: boolean;
  counter: { count: number };
}
