// Private: the fused form of a chain that `ChainOptimizer` and `trainStep`
// run by default, built once per chain.
import type { GradientTransformation } from "@centra/chain/types";
import { fuse } from "@centra/webgpu";

// One fused form per chain object, so that a caller who passes the same
// chain at every step (trainStep) keeps one kernel cache.
const fusedForms = new WeakMap<object, GradientTransformation<unknown>>();

/**
 * What a driver runs for `tx`: `tx` itself when it has a `step` of its own
 * (the result of `fuse`, or a hand-written one: it is not fused twice),
 * otherwise `fuse(tx)`, cached by `tx`. The state is `tx`'s either way.
 */
export function fusedForm<S>(
  tx: GradientTransformation<S>,
): GradientTransformation<S> {
  if (typeof tx.step === "function") return tx;
  let f = fusedForms.get(tx);
  if (f === undefined) {
    f = fuse(tx as GradientTransformation<unknown>);
    fusedForms.set(tx, f);
    // fuse's result has a step, so fusedForm(f) is f
  }
  return f as GradientTransformation<S>;
}

/** Checks a `fused` option: a boolean or absent (default `true`). */
export function checkFused(where: string, value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== "boolean") {
    throw new TypeError(
      `${where}: option fused must be true or false, got ${
        typeof value === "string" ? JSON.stringify(value) : String(value)
      }`,
    );
  }
  return value;
}
