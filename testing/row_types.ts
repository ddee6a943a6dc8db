// The shape of a row of the optimizer test table (`optimizer_table.ts`):
// what each suite reads of an optimizer. A leaf: rows and suites import it.
import type { Schedule } from "@centra/chain";
import type * as tf from "@tensorflow/tfjs";
import type { Lr64, RefFactory } from "./reference64.ts";

/** Options as an optimizer takes them (or their JSON form). */
export type Options = Record<string, unknown>;

/** A learning rate: a number, or a schedule with its closed form for the reference. */
export type RefLr = number | {
  schedule: () => Schedule;
  /** The learning rate after `count` finished steps, in float64. */
  at: (count: number) => number;
};

/** A reference-suite case: the chain against the row's float64 reference over 100 steps, on every backend. */
export interface RefCase {
  /** The test name. */
  name: string;
  /** Seeds the weights and gradients. */
  seed: number;
  lr: RefLr;
  options: Options;
}

/** One run of the conformance problems. */
export interface Setting {
  lr: number | Schedule;
  steps: number;
}

/** How GC constrains the column means of W, for the conformance assertions. */
export type MeanRule =
  /** Frozen exactly (Theorem 4.1, or P as the last non-linear step). */
  | "frozen"
  /** Decoupled decay λ: the momentum part is zero-mean, so mean0 (1 - lr λ)^t. */
  | { decay: number }
  /** Elementwise adaptive scaling after P: no invariant for fan-in > 2. */
  | "drifts";

/** A conformance-suite case (quadratic and Rosenbrock, without and with GC). */
export interface ConformanceCase {
  /** The optimizer as the test names it. */
  name: string;
  /** Options besides `gc`. */
  options: Options;
  /** The quadratic's mean rule under GC (fan-in 4). */
  quadraticMeans: MeanRule;
  /** Rosenbrock's mean rule under GC (fan-in 2: adaptive rows are frozen too). */
  rosenbrockMeans: MeanRule;
  /** Why the means are frozen under GC, for the test name. */
  frozenBecause?: string;
  /** Which GC settings to run (default both). */
  gcValues?: readonly boolean[];
  /** Settings without GC (`off`, absent when `gcValues` excludes false) and with. */
  quadratic: { off?: Setting; on: Setting };
  rosenbrock: { off?: Setting; on: Setting };
}

/** A case against tfjs's own optimizer (GC off). */
export interface TfjsCase {
  name: string;
  lr: number;
  options: Options;
  theirs: (lr: number) => tf.Optimizer;
  rtol?: number;
}

/** A labelled setting, for the suites that compare two ways of running it. */
export interface Variant {
  label: string;
  lr: number;
  /** Options; the fused suites add `gc` themselves. */
  options: Options;
}

/** A call that must throw a RangeError whose message matches. */
export interface ErrorCase {
  lr: number;
  options?: Options;
  message: RegExp;
}

/** The numeric options (a valid value and the documented range) and boolean options. */
export interface HostileRanges {
  numbers: Record<string, { ok: number; min: number; max: number }>;
  booleans: string[];
}

/** Everything the suites know about one optimizer. */
export interface OptimizerRow {
  /**
   * The float64 reference step for a learning rate and the options the
   * optimizer is called with (documented defaults filled in here).
   */
  reference: (lr: Lr64, options: Options) => RefFactory;
  /** reference_test.ts: against `reference` over 100 steps on every backend. */
  referenceCases: RefCase[];
  /** conformance_test.ts: quadratic and Rosenbrock, GC invariants. */
  conformance: ConformanceCase[];
  /** optimizers_test.ts: against tfjs's own optimizer (none when tfjs has none). */
  tfjs: TfjsCase[];
  /** webgpu fuse_test.ts and web/checks.ts: fused against op by op, without and with GC. */
  fused: Variant[];
  /** webgpu agreement_test.ts: cpu, webgpu and fused agree over 100 steps. */
  agreement: Variant[];
  /** chain boundaries_test.ts: tensors with no elements. */
  boundaries: Variant[];
  /** tfjs register_chain_test.ts: built from its JSON form by name. */
  json: Options[];
  /** tfjs resume_test.ts: saved and restored at every step, bit for bit. */
  resume: Options[];
  /** chain errors_test.ts: bad hyperparameters, a RangeError naming them. */
  errors: ErrorCase[];
  /** tests/hostile_input_test.ts: the ranges fast-check probes. */
  hostile: HostileRanges;
}
