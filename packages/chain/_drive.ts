// Private helpers shared by the drivers (`runUpdate`, `runStep`): running a
// transformation in a tidy that keeps its result, taking ownership of what it
// returned, checking that against the gradients, and cleaning up after a
// refused result.
import * as tf from "@tensorflow/tfjs";
import { collectTensors } from "./_tree.ts";
import { show } from "./_check.ts";
import { fitsGuard, type GuardState, isGuardState } from "./_guard.ts";
import {
  checkPasses,
  inStep,
  sameShape,
  type StepFacts,
} from "./_structure.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

/** Like `tf.tidy`, but for any result: the tensors inside it are kept. */
export function keepAll<T>(fn: () => T): T {
  let result: T | undefined;
  tf.tidy(() => {
    result = fn();
    for (const t of collectTensors(result)) tf.keep(t);
  });
  return result as T;
}

/** A copy of `x` in which every tensor that `pred` picks is cloned. */
export function cloneWhere<T>(x: T, pred: (t: tf.Tensor) => boolean): T {
  if (x instanceof tf.Tensor) return (pred(x) ? x.clone() : x) as T;
  if (Array.isArray(x)) return x.map((v) => cloneWhere(v, pred)) as T;
  if (x !== null && typeof x === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = cloneWhere(v, pred);
    return out as T;
  }
  return x;
}

/**
 * Describes the first returned tensor that does not fit the incoming
 * gradients, or `null` when all fit. `what` names one returned tensor in the
 * message ("an update", "a new value").
 */
export function mismatch(
  incoming: Updates,
  returned: unknown,
  what: string,
): string | null {
  if (returned === null || typeof returned !== "object") {
    return `${String(returned)} where a map of tensors was expected`;
  }
  for (const [k, t] of Object.entries(returned as Record<string, unknown>)) {
    const g = Object.hasOwn(incoming, k) ? incoming[k] : undefined;
    if (g === undefined) return `${what} for "${k}", which had no gradient`;
    if (!(t instanceof tf.Tensor) || t.isDisposed) {
      return `${what} for "${k}" that is not a live tensor`;
    }
    if (!sameShape(t.shape, g.shape)) {
      return `${what} of shape [${t.shape}] for "${k}", whose gradient has shape [${g.shape}]`;
    }
  }
  return null;
}

/**
 * Disposes every tensor inside `made` that `keep` does not hold: what a
 * refused call created, leaving the old state and the inputs alive.
 */
export function disposeCreated(
  made: unknown,
  keep: ReadonlySet<tf.Tensor>,
): void {
  for (const t of collectTensors(made)) {
    if (!keep.has(t) && !t.isDisposed) t.dispose();
  }
}

/**
 * Throws unless `x` is a map of tensors (a plain object or one of tfjs's
 * `NamedTensorMap`s; not null, a tensor, a list).
 */
function checkTensorMap(where: string, what: string, x: unknown): void {
  if (
    x === null || typeof x !== "object" || Array.isArray(x) ||
    x instanceof tf.Tensor
  ) {
    throw new TypeError(
      `${where}: ${what} must be a map of tensors keyed by name, got ${
        show(x)
      }`,
    );
  }
}

/** Throws unless `t` is a live float32 tensor; `label` names it. */
function checkFloat32(where: string, label: string, t: unknown): void {
  if (!(t instanceof tf.Tensor) || t.isDisposed) {
    throw new TypeError(`${where}: ${label} is not a live tensor`);
  }
  if (t.dtype !== "float32") {
    throw new TypeError(
      `${where}: ${label} is ${t.dtype}; only float32 is trained`,
    );
  }
}

/** What a walk of a step's state found (see {@linkcode walkState}). */
export interface StateWalk {
  /** Every object and list of the state. */
  nodes: Set<object>;
  /** The first optimizer's guard state met, depth first, if any. */
  guard: GuardState | undefined;
  /** The path of the first disposed tensor, if any. */
  disposed: string | undefined;
}

/**
 * Walks `state` once: its objects and lists, the first guard state in it
 * (depth first, in key order: an optimizer's own, or the one inside a
 * wrapper such as Lookahead) and the first disposed tensor, if any.
 */
export function walkState(state: unknown): StateWalk {
  const found: StateWalk = {
    nodes: new Set(),
    guard: undefined,
    disposed: undefined,
  };
  const visit = (x: unknown, path: string): void => {
    if (x instanceof tf.Tensor) {
      if (x.isDisposed) found.disposed ??= path;
    } else if (Array.isArray(x)) {
      found.nodes.add(x);
      x.forEach((v, i) => visit(v, `${path}[${i}]`));
    } else if (x !== null && typeof x === "object") {
      found.nodes.add(x);
      if (found.guard === undefined && isGuardState(x)) found.guard = x;
      for (const [k, v] of Object.entries(x)) visit(v, `${path}.${k}`);
    }
  };
  if (state !== undefined) visit(state, "state");
  return found;
}

/**
 * Throws if the walk found a disposed tensor in the state, naming its path:
 * a state used after a step replaced it, or disposed by hand.
 */
export function checkStateLive(where: string, walk: StateWalk): void {
  if (walk.disposed !== undefined) {
    throw new TypeError(
      `${where}: the state tensor at ${walk.disposed} is disposed (a state must not be used again after a step returned a new one)`,
    );
  }
}

/**
 * What every driver accepts as one step's input, checked in one place before
 * anything runs or changes: `tensors` (gradients or updates) is a map of
 * live float32 tensors; with `variables`, each names a live float32
 * `tf.Variable` of its shape, and no variable sits under two keys; with
 * `params` (runUpdate), each named parameter is a live float32 tensor of its
 * shape; every tensor of `state` is alive. A `TypeError` naming the bad
 * value otherwise. `label` names a tensor in the message (`update "w"`,
 * `the gradient of "w"`).
 *
 * Returns what it found, for the transformation's step to trust (see
 * `_structure.ts`): whether every tensor names a parameter (or variable) of
 * its shape, whether the tensors pass the first guard of `state` too (found
 * in the same pass; a guard they do not pass checks, and names the fault,
 * itself), and the objects of `state`.
 */
export function checkStepInput(
  where: string,
  tensors: unknown,
  options: {
    variables?: unknown;
    params?: unknown;
    state?: unknown;
    what: "gradients" | "updates";
    label: (name: string) => string;
  },
): StepFacts {
  const { label } = options;
  checkPasses.count++;
  checkTensorMap(where, options.what, tensors);
  const map = tensors as Record<string, unknown>;
  const vars = options.variables as Record<string, unknown> | undefined;
  if (vars !== undefined) checkVariables(where, map, vars);
  const params = options.params;
  if (params !== undefined) checkTensorMap(where, "params", params);
  const walk = walkState(options.state);
  const against = (vars ?? params) as Params | undefined;
  let paramsFit = against !== undefined;
  let fits = walk.guard !== undefined;
  for (const [name, t] of Object.entries(map)) {
    const [target, what] = vars !== undefined
      ? [variableOf(where, name, vars), "the variable"]
      : [paramOf(where, name, params), "the parameter"];
    checkFloat32(where, label(name), t);
    if (target instanceof tf.Tensor) {
      checkAgainst(where, name, label(name), t as tf.Tensor, target, what);
    } else {
      paramsFit = false;
    }
    fits &&= fitsGuard(walk.guard!, name, (t as tf.Tensor).shape, against);
  }
  checkStateLive(where, walk);
  return {
    updates: map as Updates,
    params: against,
    paramsFit,
    fits,
    nodes: walk.nodes,
  };
}

/**
 * `vars` is a map of tensors; each variable of `tensors` is a live
 * `tf.Variable`, and none sits under two keys.
 */
function checkVariables(
  where: string,
  map: Record<string, unknown>,
  vars: Record<string, unknown>,
): void {
  checkTensorMap(where, "variables", vars);
  const byVar = new Map<tf.Variable, string>();
  for (const [name, v] of Object.entries(vars)) {
    if (!(v instanceof tf.Variable) || v.isDisposed) {
      if (Object.hasOwn(map, name)) {
        throw new TypeError(`${where}: "${name}" is not a live tf.Variable`);
      }
      continue;
    }
    const other = byVar.get(v);
    if (other !== undefined) {
      throw new TypeError(
        `${where}: the variable "${v.name}" is given under two names, "${other}" and "${name}"`,
      );
    }
    byVar.set(v, name);
  }
}

/** The live variable `name` of `vars`; a `TypeError` if none. */
function variableOf(
  where: string,
  name: string,
  vars: Record<string, unknown>,
): tf.Variable {
  const target = Object.hasOwn(vars, name) ? vars[name] : undefined;
  if (target === undefined) {
    throw new TypeError(`${where}: no variable named "${name}"`);
  }
  if (!(target instanceof tf.Variable) || target.isDisposed) {
    throw new TypeError(`${where}: "${name}" is not a live tf.Variable`);
  }
  return target;
}

/** The parameter `name` of `params` (checked float32), if given. */
function paramOf(where: string, name: string, params: unknown): unknown {
  if (params === undefined) return undefined;
  const ps = params as Record<string, unknown>;
  const target = Object.hasOwn(ps, name) ? ps[name] : undefined;
  if (target !== undefined) {
    checkFloat32(where, `parameter "${name}"`, target);
  }
  return target;
}

/** `t` (`label`) has the shape of `target` (`what`), and `target` is float32. */
function checkAgainst(
  where: string,
  name: string,
  label: string,
  t: tf.Tensor,
  target: tf.Tensor,
  what: string,
): void {
  if (!sameShape(t.shape, target.shape)) {
    throw new TypeError(
      `${where}: ${label} has shape [${t.shape}] but ${what} has [${target.shape}]`,
    );
  }
  if (target.dtype !== "float32") {
    throw new TypeError(
      `${where}: the variable "${name}" is ${target.dtype}; only float32 variables are trained`,
    );
  }
}

/**
 * `runUpdate` after its entry check, which `facts` records: runs `tx.update`
 * as that step, takes ownership of what it returned, and refuses updates
 * that do not fit the incoming ones, or that `refuse` names (a `TypeError`
 * starting with `where`, the tensors it created disposed, the old state
 * untouched). The caller disposes what the new state replaced.
 */
export function updateOwned<S>(
  where: string,
  tx: GradientTransformation<S>,
  updates: Updates,
  state: S,
  params: Params | undefined,
  facts: StepFacts,
  refuse: (out: Updates) => string | null = () => null,
): [Updates, S] {
  const inputs = new Set(Object.values(updates));
  // An update that is a parameter tensor would be disposed with the updates.
  const foreign = new Set([...inputs, ...Object.values(params ?? {})]);
  const [out, next] = keepAll(() => {
    const [u, s] = inStep(facts, () => tx.update(updates, state, params));
    // A state tensor that is also an input gradient would die with the
    // gradient; clones share the data buffer, so this copies nothing.
    const held = collectTensors(s);
    const ownedState = cloneWhere(s, (t) => inputs.has(t));
    const ownedUpdates: Updates = {};
    for (const [k, t] of Object.entries(u)) {
      ownedUpdates[k] = held.has(t) || foreign.has(t) ? t.clone() : t;
    }
    return [ownedUpdates, ownedState] as [Updates, S];
  });
  const bad = mismatch(updates, out, "an update");
  const refused = bad === null ? refuse(out) : null;
  if (bad !== null || refused !== null) {
    disposeCreated([out, next], collectTensors(state, new Set(foreign)));
    throw new TypeError(
      refused ?? `${where}: the transformation returned ${bad}`,
    );
  }
  return [out, next];
}

/**
 * `w ← w + u` for every named update, with nothing checked: `applyUpdates`
 * after its entry check, or `runStep` with updates it has checked.
 */
export function addUpdates(
  variables: Readonly<Record<string, tf.Variable>>,
  updates: Updates,
): void {
  tf.tidy(() => {
    for (const [name, u] of Object.entries(updates)) {
      const v = variables[name]!;
      v.assign(tf.add(v, u));
    }
  });
}

/** Throws unless `tx` has `init` and `update` functions. */
export function checkTransformation(where: string, tx: unknown): void {
  const t = tx as { init?: unknown; update?: unknown } | null;
  if (
    t === null || typeof t !== "object" || typeof t.init !== "function" ||
    typeof t.update !== "function"
  ) {
    throw new TypeError(
      `${where}: expected a GradientTransformation ({ init, update }), got ${
        show(tx)
      }`,
    );
  }
}
