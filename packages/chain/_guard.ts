// Private: the first link of every optimizer alias. It remembers the names and
// shapes init saw, so that a step with an unknown name or a wrong shape fails
// with a clear error before any arithmetic, whatever the rest of the chain.
import { checkKnown, sameShape } from "./_structure.ts";
import type { GradientTransformation, Params, Updates } from "./types.ts";

export interface GuardState {
  shapes: Record<string, number[]>;
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
      checkKnown(where, updates, state.shapes);
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
      return [updates, state];
    },
  };
}
