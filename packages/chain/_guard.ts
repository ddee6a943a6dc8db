// Private: the first link of every optimizer alias. It remembers the names and
// shapes init saw, so that a step with an unknown name or a wrong shape fails
// with a clear error before any arithmetic, whatever the rest of the chain.
// Within a driver's step it vouches for the gradients it passes on, so the
// stages after it do not check them again; when the driver's entry check
// already found them to fit the step's state (`fitsGuard`, against the first
// guard in it), or a wrapper around the optimizer vouched for them, it does
// not check them either.
import {
  checkStateMap,
  knownNames,
  paramsTrusted,
  sameShape,
  trusted,
  vouch,
} from "./_structure.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

export interface GuardState {
  shapes: Record<string, number[]>;
}

/**
 * Whether `x` looks like a guard's state (an object whose only key,
 * `shapes`, is a plain object: not a per-parameter map that happens to have
 * a parameter named "shapes"). Where it is not one, no guard is given it, so
 * no check is skipped on its account.
 */
export function isGuardState(x: unknown): x is GuardState {
  if (x === null || typeof x !== "object" || !Object.hasOwn(x, "shapes")) {
    return false;
  }
  const shapes = (x as { shapes: unknown }).shapes;
  return Object.keys(x).length === 1 && shapes !== null &&
    typeof shapes === "object" &&
    Object.getPrototypeOf(shapes) === Object.prototype;
}

/**
 * Whether the gradient `name` of shape `shape` passes the guard of `state`
 * with `params`: what its `update` checks, without throwing.
 */
export function fitsGuard(
  state: GuardState,
  name: string,
  shape: readonly number[],
  params: Params | undefined,
): boolean {
  const shapes = state.shapes as Record<string, unknown>;
  const want = Object.hasOwn(shapes, name) ? shapes[name] : undefined;
  return Array.isArray(want) && sameShape(shape, want) &&
    !(params !== undefined && !(name in params));
}

export function guard(where: string): GradientTransformation<GuardState> {
  return {
    init(params: Params): GuardState {
      const shapes: Record<string, number[]> = {};
      for (const [k, p] of Object.entries(params)) shapes[k] = [...p.shape];
      return { shapes };
    },
    update(
      updates: Updates,
      state: GuardState,
      params?: Params,
    ): [Updates, GuardState] {
      // the driver's map fits this state (vouched for at entry), or a
      // wrapper around the optimizer vouched for the map it passes in
      const checked = trusted(updates, state) !== undefined &&
        (params === undefined || paramsTrusted(updates, params));
      if (!checked) check(where, updates, state, params);
      vouch(updates, state);
      return [updates, state];
    },
  };
}

/** The guard's check: every name known, of the shape init saw, in `params`. */
function check(
  where: string,
  updates: Updates,
  state: GuardState,
  params?: Params,
): void {
  checkStateMap(where, "its per-parameter part", state.shapes);
  knownNames(where, updates, state.shapes);
  for (const [name, u] of Object.entries(updates)) {
    const want = state.shapes[name]!;
    if (!sameShape(u.shape, want)) {
      throw new TypeError(
        `${where}: update "${name}" has shape [${u.shape}] but the parameter has [${want}]`,
      );
    }
    if (params !== undefined && !(name in params)) {
      throw new TypeError(
        `${where}: missing parameter "${name}" in params`,
      );
    }
  }
}
