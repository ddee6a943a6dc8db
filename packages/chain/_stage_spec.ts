// Private: what an elementwise stage states (its definition) and the spec
// `elementwise` derives from it: the state (slots and a step count), `init`,
// the structural checks, each step's scalars and each parameter's checked
// math. A transform states its math once and each name once.
import "./tfjs_check.ts";
import * as tf from "@tensorflow/tfjs";
import { checkHyper, checkPlainHyper, show } from "./_check.ts";
import { type Expr, hyper, input, slot } from "./_expr.ts";
import { checkMask, inMask } from "./_mask.ts";
import { fillLike, zeroCount } from "./_per_param.ts";
import { checkAgainst, requireParams } from "./_structure.ts";
import type { ElementwiseSpec, StageMath } from "./fuser.ts";
import type { Hyper, Mask, Params, Schedule, Updates } from "./types.ts";

/**
 * The range a hyperparameter must lie in, checked when the stage is built
 * (numbers, rounded to float32), recorded for scalar tensors (so that
 * `setHyperparam` checks a replacement), and checked against a schedule's
 * known bounds. `schedule: true` lets the value be a schedule.
 */
export interface HyperBounds {
  /** The least value. Default -Infinity. */
  min?: number;
  /** The greatest value. Default Infinity. */
  max?: number;
  /** Whether `min` itself is refused. Default false. */
  minOpen?: boolean;
  /** Whether `max` itself is refused. Default false. */
  maxOpen?: boolean;
  /** Whether the value may be a schedule of the step count. Default false. */
  schedule?: boolean;
}

/**
 * One hyperparameter of a stage: its value (a number, a scalar tensor, or
 * with `schedule: true` a schedule), alone or with its {@linkcode HyperBounds}.
 * `undefined` is refused when the stage is built.
 */
export type StageHyper =
  | Hyper
  | Schedule
  | undefined
  | readonly [Hyper | Schedule | undefined, HyperBounds];

/**
 * The names a stage's math is written with: the stage's inputs, each
 * declared hyperparameter and each declared slot as an expression.
 *
 * @typeParam H The hyperparameters' names.
 * @typeParam K The slots' names.
 */
export interface StageInputs<H extends string, K extends string> {
  /** The incoming update, `input("g")`. */
  readonly g: Expr;
  /** The parameter, `input("p")`: reading it makes the stage need `params`. */
  readonly p: Expr;
  /** This step's number (1 at the first step): reading it adds a step count to the state. */
  readonly count: Expr;
  /** Each declared hyperparameter, as `hyper(name)`. */
  readonly hypers: Readonly<Record<H, Expr>>;
  /** Each declared slot's current value, as `slot(name)`. */
  readonly slots: Readonly<Record<K, Expr>>;
}

/**
 * What a stage computes for one parameter: the outgoing update and the new
 * values of (some of) its slots.
 *
 * @typeParam K The slots' names.
 */
export interface StageOutput<K extends string> {
  /** The outgoing update. */
  update: Expr;
  /** New values of slots, by name; a slot left out keeps its value. */
  slots?: Partial<Readonly<Record<K, Expr>>>;
}

/**
 * An elementwise stage stated once: its name, its hyperparameters, its
 * slots and its math. {@linkcode elementwise} derives the rest.
 *
 * @typeParam H The hyperparameters' names.
 * @typeParam K The slots' names.
 */
export interface ElementwiseDefinition<
  H extends string = never,
  K extends string = never,
> {
  /** The stage's name, for error messages (`scaleByAdam`). */
  where: string;
  /** The per-step scalars by name (`count` is reserved). Default none. */
  hypers?: Readonly<Record<H, StageHyper>>;
  /**
   * The per-parameter state slots by name, each with the value it starts
   * at (a tensor like each parameter, filled with it), or `null` for a slot
   * kept empty (`{}`: AMSGrad's `nuMax` without AMSGrad). Default none.
   */
  slots?: Readonly<Record<K, number | null>>;
  /** Which parameters the stage acts on; the others pass through. Default all. */
  mask?: Mask | undefined;
  /**
   * Keep a step count in the state even when nothing reads it (`ema`
   * without debiasing, whose state has one as optax's does). Default: a
   * count exactly when the math reads `count` or a hyperparameter is a
   * schedule.
   */
  counts?: boolean;
  /**
   * The math, called once when the stage is built: the same output for
   * every parameter, or a function of a parameter's name and shape that
   * gives its output (`null` passes its update through), called once per
   * name and shape.
   */
  math(
    x: StageInputs<H, K>,
  ):
    | StageOutput<K>
    | ((name: string, shape: readonly number[]) => StageOutput<K> | null);
}

/**
 * The state of a stage built from an {@linkcode ElementwiseDefinition}: its
 * slots, one tensor per parameter each, and a float32 step count when the
 * math reads `count` or a hyperparameter is a schedule.
 *
 * @typeParam K The slots' names.
 */
export type StageState<K extends string> =
  & { count?: tf.Scalar }
  & { [N in K]: Record<string, tf.Tensor> };

/** A definition's names, checked: hyperparameters with values, slots with fills. */
interface Declared {
  where: string;
  hypers: [string, Hyper | Schedule][];
  slots: [string, number | null][];
  /** Whether a hyperparameter is a schedule (so the state counts steps). */
  schedules: boolean;
}

/** Checks a definition's names and values: every hyperparameter has one, in its bounds. */
function declare(def: ElementwiseDefinition<string, string>): Declared {
  const where = def.where;
  if (typeof where !== "string" || where === "") {
    throw new TypeError(
      `elementwise: where must be a non-empty string, got ${show(where)}`,
    );
  }
  const hypers: [string, Hyper | Schedule][] = [];
  for (const [name, decl] of Object.entries<StageHyper>(def.hypers ?? {})) {
    if (name === "count") {
      throw new TypeError(
        `${where}: the hyperparameter name "count" is reserved for the step count`,
      );
    }
    const [value, bounds = {}] = Array.isArray(decl) ? decl : [decl];
    if (value === undefined) {
      throw new TypeError(`${where}: hyperparameter "${name}" has no value`);
    }
    const { schedule = false, ...range } = bounds as HyperBounds;
    if (schedule) checkHyper(where, name, value, range);
    else checkPlainHyper(where, name, value as Hyper, range);
    hypers.push([name, value]);
  }
  const slots = Object.entries<number | null>(def.slots ?? {});
  for (const [name, fill] of slots) {
    if (fill !== null && typeof fill !== "number") {
      throw new TypeError(
        `${where}: slot "${name}" must start at a number or be null, got ${
          show(fill)
        }`,
      );
    }
  }
  const schedules = hypers.some(([, v]) => typeof v === "function");
  return { where, hypers, slots, schedules };
}

/** The expressions a definition's math is written with. */
function inputsOf(d: Declared): StageInputs<string, string> {
  const slots: Record<string, Expr> = {};
  for (const [name, fill] of d.slots) {
    Object.defineProperty(slots, name, {
      enumerable: true,
      get(): Expr {
        if (fill !== null) return slot(name);
        throw new TypeError(
          `${d.where}: slot "${name}" is declared empty (null) and cannot be read`,
        );
      },
    });
  }
  const hypers = Object.fromEntries(d.hypers.map(([n]) => [n, hyper(n)]));
  return { g: input("g"), p: input("p"), count: hyper("count"), hypers, slots };
}

/** What an expression reads: its tensor inputs and its hyperparameters. */
interface Reads {
  inputs: ReadonlySet<string>;
  hypers: ReadonlySet<string>;
}

const readsMemo = new WeakMap<Expr, Reads>();

function readsOf(e: Expr): Reads {
  const seen = readsMemo.get(e);
  if (seen !== undefined) return seen;
  const inputs = new Set<string>(e.op === "input" ? [e.name] : []);
  const hypers = new Set<string>(e.op === "hyper" ? [e.name] : []);
  for (const a of e.args) {
    const r = readsOf(a);
    r.inputs.forEach((x) => inputs.add(x));
    r.hypers.forEach((x) => hypers.add(x));
  }
  const made = { inputs, hypers };
  readsMemo.set(e, made);
  return made;
}

/** One parameter's math, checked against the declared names. */
interface Checked {
  math: StageMath;
  readsP: boolean;
  readsCount: boolean;
}

/** Checks that `out` reads and writes only what `d` declares. */
function checked(d: Declared, out: StageOutput<string>): Checked {
  const exprs = out !== null && typeof out === "object"
    ? [out.update, ...Object.values(out.slots ?? {})]
    : [undefined];
  if (!exprs.every((e) => e !== null && typeof e === "object" && "op" in e)) {
    throw new TypeError(
      `${d.where}: the math must give { update, slots? } of expressions, got ${
        show(out)
      }`,
    );
  }
  const live = new Set(d.slots.filter(([, f]) => f !== null).map(([n]) => n));
  for (const k of Object.keys(out.slots ?? {})) {
    if (!live.has(k)) {
      throw new TypeError(
        `${d.where}: the math writes slot "${k}", which is not a declared slot`,
      );
    }
  }
  const known = new Set(d.hypers.map(([n]) => n));
  let readsP = false, readsCount = false;
  for (const e of exprs as Expr[]) {
    const r = readsOf(e);
    for (const h of r.hypers) {
      if (h === "count") readsCount = true;
      else if (!known.has(h)) {
        throw new TypeError(
          `${d.where}: hyper("${h}") has no value (it is not among the stage's hypers)`,
        );
      }
    }
    for (const i of r.inputs) {
      if (i === "p") readsP = true;
      else if (i !== "g" && !(i.startsWith("slot:") && live.has(i.slice(5)))) {
        throw new TypeError(
          `${d.where}: the math reads input("${i}"), which is not "g", "p" or a declared slot`,
        );
      }
    }
  }
  return { math: out as StageMath, readsP, readsCount };
}

/** Parameters (name and shape) whose math a stage keeps made at once. */
const MADE_LIMIT = 4096;

/**
 * `make`, called once per parameter name and shape (the math is a function
 * of them), not at every step of every parameter: a fused step asks for the
 * math each step. Bounded, so that a stage reused over many models stays
 * small.
 */
function madeOnce(
  make: (name: string, shape: readonly number[]) => Checked | null,
): (name: string, shape: readonly number[]) => Checked | null {
  const kept = new Map<string, Checked | null>();
  return (name, shape) => {
    const key = `${name}\u0000${shape}`;
    let c = kept.get(key);
    if (c === undefined) {
      c = make(name, shape);
      if (kept.size >= MADE_LIMIT) kept.clear();
      kept.set(key, c);
    }
    return c;
  };
}

/**
 * The spec of a definition: everything `elementwise` needs, derived from
 * the names it declares and what its math reads.
 */
export function deriveSpec(
  def: ElementwiseDefinition<string, string>,
): ElementwiseSpec<StageState<string>> {
  const d = declare(def);
  const made = def.math(inputsOf(d));
  const perParam = typeof made === "function" ? made : undefined;
  const fixed = perParam === undefined
    ? checked(d, made as StageOutput<string>)
    : undefined;
  const counts = def.counts === true || d.schedules ||
    (fixed?.readsCount ?? false);
  const make = (name: string, shape: readonly number[]): Checked | null => {
    if (def.mask !== undefined && !inMask(def.mask, name, shape)) return null;
    if (fixed !== undefined) return fixed;
    const out = perParam!(name, shape);
    if (out === null) return null;
    const c = checked(d, out);
    if (c.readsCount && !counts) {
      throw new TypeError(
        `${d.where}: math per parameter reads count, which only a stage with a schedule or with the same math for every parameter has`,
      );
    }
    return c;
  };
  const mathOf = fixed !== undefined && def.mask === undefined
    ? () => fixed
    : madeOnce(make);
  const first = d.slots.find(([, f]) => f !== null)?.[0];
  type St = StageState<string>;
  return {
    where: d.where,
    slots: d.slots.map(([n]) => n),
    init: (params: Params): St => initial(d, def.mask, counts, params),
    check(updates: Updates, state: St, params?: Params): void {
      if (first !== undefined) {
        const s = state as unknown as Record<string, unknown> | null;
        const part = s !== null && typeof s === "object" ? s[first] : s;
        checkAgainst(d.where, updates, part as Record<string, tf.Tensor>);
      }
      const readsP = fixed !== undefined
        ? fixed.readsP
        : Object.entries(updates).some(([n, g]) => mathOf(n, g.shape)?.readsP);
      if (readsP) requireParams(d.where, updates, params);
    },
    step(state: St) {
      const hypers: Record<string, Hyper> = {};
      for (const [n, v] of d.hypers) {
        hypers[n] = typeof v === "function" ? v(state.count!) : v;
      }
      if (!counts) return { hypers, rest: {} };
      const count = nextCount(state.count!);
      if (fixed === undefined || fixed.readsCount) hypers["count"] = count;
      return { hypers, rest: { count } as Partial<St> };
    },
    math: (name, shape) => mathOf(name, shape)?.math ?? null,
  };
}

/**
 * `count + 1`, as `tf.add` gives it. On the cpu backend, from the host (its
 * kernels compute in float64 and store into float32 arrays, as this does),
 * without an op's dispatch and a tensor for `1`.
 */
function nextCount(count: tf.Scalar): tf.Scalar {
  if (tf.getBackend() !== "cpu" || count.dtype !== "float32") {
    return tf.add(count, 1) as tf.Scalar;
  }
  return tf.scalar(Math.fround(count.dataSync()[0]! + 1), "float32");
}

/** The initial state: a step count if the stage counts, then every slot in order. */
function initial(
  d: Declared,
  mask: Mask | undefined,
  counts: boolean,
  params: Params,
): StageState<string> {
  if (mask !== undefined) checkMask(d.where, mask, params);
  const state: Record<string, unknown> = {};
  if (counts) state["count"] = zeroCount();
  for (const [name, fill] of d.slots) {
    state[name] = fill === null ? {} : fillLike(params, fill);
  }
  return state as StageState<string>;
}
