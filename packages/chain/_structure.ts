// Private: the structural checks of a step's input, in one place: names
// against a state or parameters, shapes against each other. The drivers'
// `checkStepInput` (`_drive.ts`), the optimizers' guard and every elementwise
// stage (`_stage_spec.ts`) use these; nothing else compares shapes by hand.
//
// Check once: a driver (`runStep`, `runUpdate`; `ChainOptimizer` through
// `runStep`) checks a step's input at entry and records what it found
// (`StepFacts`) while the transformation runs. When the gradients fit the
// step's state (they pass the first guard in it), the driver's map is vouched
// for from the start; else an optimizer's guard vouches for the map of
// gradients it passes on (their names and shapes fit the state of its chain).
// Elementwise stages and fused runs pass the vouch on to the map they return,
// and the checks below skip what a vouched map has already shown. Outside a
// driver's step (a transformation's `update` called by hand) nothing is
// vouched for and every check runs.
import "./tfjs_check.ts";
import type * as tf from "@tensorflow/tfjs";
import { show } from "./_check.ts";
import type { Params, Updates } from "./types.ts";

/**
 * What a driver's entry check found about the step it runs: the map of
 * gradients it checked, the parameters it checked them against, whether
 * every gradient names a parameter of its shape (`paramsFit`), whether the
 * map fits the step's state (`fits`: every gradient passes the first
 * optimizer's guard found in the state, as that guard would check), and
 * every object and list of the step's state (`nodes`): a vouch holds only
 * for a part of that state.
 */
export interface StepFacts {
  readonly updates: Updates;
  readonly params: Params | undefined;
  readonly paramsFit: boolean;
  readonly fits: boolean;
  readonly nodes: Set<object>;
}

/** The facts of the driver's step in progress, or `null` outside one. */
let current: StepFacts | null = null;
/** Maps of updates vouched for, by the step they were vouched for in. */
const vouched = new WeakMap<Updates, StepFacts>();

/**
 * How many times a step's gradients were checked name by name (a driver's
 * entry check or its own, a guard's, a transformation's against its state
 * or the parameters), for tests: `check_once_test.ts` asserts one per driver
 * step.
 */
export const checkPasses = { count: 0 };

/**
 * Runs `fn` (a transformation's update or step) as the step `facts` describe;
 * a map of gradients that fits the state is vouched for from the start, so
 * that no part of the step (a wrapper's state, the guard, a stage) checks it
 * again.
 */
export function inStep<T>(facts: StepFacts, fn: () => T): T {
  const outer = current;
  current = facts;
  if (facts.fits) vouched.set(facts.updates, facts);
  try {
    return fn();
  } finally {
    current = outer;
    // nothing trusts these facts once the step is over
    facts.nodes.clear();
  }
}

/**
 * Within a driver's step, records that the names and shapes of `updates`
 * fit the state of the chain they run through: a guard, or a check against
 * a per-parameter map, found them to fit `part`, a part of the step's state
 * (a state from elsewhere vouches for nothing).
 */
export function vouch(updates: Updates, part: object): void {
  if (current !== null && current.nodes.has(part)) {
    vouched.set(updates, current);
  }
}

/**
 * The step `updates` was vouched for in, if that step is in progress and
 * `part` (the state they are checked against) is a part of its state.
 */
export function trusted(
  updates: Updates,
  part: unknown,
): StepFacts | undefined {
  const f = vouched.get(updates);
  return f !== undefined && f === current && typeof part === "object" &&
      part !== null && f.nodes.has(part)
    ? f
    : undefined;
}

/**
 * Whether `params` holds every name of `updates` with its shape because the
 * driver of the step in progress checked it: `updates` is the driver's own
 * map or one vouched for, and the driver found every gradient a parameter
 * of its shape in these very `params`.
 */
export function paramsTrusted(
  updates: Updates,
  params: Params | undefined,
): boolean {
  const f = current;
  return f !== null && f.paramsFit && f.params === params &&
    (f.updates === updates || vouched.get(updates) === f);
}

/**
 * Passes a vouch on from `from` to `to`, a map of the same names and shapes
 * (what an elementwise stage returns).
 */
export function passOn(from: Updates, to: Updates): void {
  const f = vouched.get(from);
  if (f !== undefined && f === current) vouched.set(to, f);
}

/** Whether two shapes are equal, axis by axis. */
export function sameShape(
  a: readonly number[],
  b: readonly number[],
): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Throws unless `state` is a record of per-parameter tensors: a state that
 * belongs to another transformation is named, not read.
 */
export function checkStateMap(
  where: string,
  what: string,
  state: unknown,
): asserts state is Record<string, unknown> {
  if (state === null || typeof state !== "object" || Array.isArray(state)) {
    throw new TypeError(
      `${where}: the state does not fit this transformation: ${what} should be a map of per-parameter tensors, got ${
        show(state)
      } (a state from another transformation?)`,
    );
  }
}

/**
 * Throws unless every name in `updates` is a key of `known` (skipped for a
 * map vouched for in this step, once `known` is a map).
 */
export function checkKnown(
  where: string,
  updates: Updates,
  known: Readonly<Record<string, unknown>>,
): void {
  checkStateMap(where, "its per-parameter part", known);
  if (trusted(updates, known) !== undefined) return;
  knownNames(where, updates, known);
}

/** Throws unless every name in `updates` is a key of the map `known`. */
export function knownNames(
  where: string,
  updates: Updates,
  known: Readonly<Record<string, unknown>>,
): void {
  checkPasses.count++;
  for (const name of Object.keys(updates)) {
    if (!Object.hasOwn(known, name)) {
      const some = Object.keys(known).slice(0, 5).join(", ");
      throw new TypeError(
        `${where}: unknown parameter name "${name}" (the state was built for: ${some}${
          Object.keys(known).length > 5 ? ", ..." : ""
        })`,
      );
    }
  }
}

/** Throws unless `a` and `b` have the same shape. */
export function checkSameShape(
  where: string,
  name: string,
  a: tf.Tensor,
  b: tf.Tensor,
  what = "state",
): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new TypeError(
      `${where}: update "${name}" has shape [${a.shape}] but its ${what} has shape [${b.shape}]`,
    );
  }
}

/**
 * Checks names and shapes of `updates` against a per-parameter map (only
 * that it is a map, for updates vouched for in this step); within a driver's
 * step, vouches for them once they pass.
 */
export function checkAgainst(
  where: string,
  updates: Updates,
  known: Readonly<Record<string, tf.Tensor>>,
): void {
  checkKnown(where, updates, known);
  if (trusted(updates, known) !== undefined) return;
  checkShapes(where, updates, known);
  // they fit this state, so they fit the rest of the step's state (built by
  // the same init): the transformations after this one need not check again
  vouch(updates, known);
}

function checkShapes(
  where: string,
  updates: Updates,
  known: Readonly<Record<string, tf.Tensor>>,
): void {
  for (const [name, u] of Object.entries(updates)) {
    const k = known[name];
    if (!(k instanceof Object) || !("shape" in k)) {
      throw new TypeError(
        `${where}: the state of "${name}" should be a tensor, got ${
          show(k)
        } (a state from another transformation?)`,
      );
    }
    checkSameShape(where, name, u, k);
  }
}

/**
 * Returns `params`, or throws if it is missing or lacks a name of `updates`
 * (or has another shape). Skipped where {@linkcode paramsTrusted}.
 */
export function requireParams(
  where: string,
  updates: Updates,
  params: Params | undefined,
): Params {
  if (paramsTrusted(updates, params)) return params!;
  checkPasses.count++;
  if (params === undefined) {
    throw new TypeError(
      `${where}: needs params, but update() was called without them`,
    );
  }
  for (const [name, u] of Object.entries(updates)) {
    const p = Object.hasOwn(params, name) ? params[name] : undefined;
    if (p === undefined) {
      throw new TypeError(`${where}: missing parameter "${name}" in params`);
    }
    checkSameShape(where, name, u, p, "parameter");
  }
  return params;
}
