// A transformation with a hand-written `step`, to test `runStep`'s fast path.
import * as tf from "@tensorflow/tfjs";
import type { GradientTransformation, Params, Updates } from "@centra/chain";

/** A transformation with a hand-written `step`, and how often it was called. */
export interface Stepped<S> {
  tx: GradientTransformation<S>;
  /** How often `step` and `update` were called. */
  calls: { step: number; update: number };
}

/**
 * `inner` with a hand-written `step`: `inner.update`, then `p + u` with
 * `tf.add` (an independent reference for `runStep`'s fast path). `edit` may
 * change what it returns, to misbehave on purpose.
 */
export function withStep<S>(
  inner: GradientTransformation<S>,
  edit: (values: Params, next: S, grads: Updates) => [Params, S] = (
    values,
    next,
  ) => [values, next],
): Stepped<S> {
  const calls = { step: 0, update: 0 };
  const tx: GradientTransformation<S> = {
    init: (params) => inner.init(params),
    update(updates, state, params) {
      calls.update++;
      return inner.update(updates, state, params);
    },
    step(updates, state, params) {
      calls.step++;
      const [u, next] = inner.update(updates, state, params);
      const values: Params = {};
      for (const [k, d] of Object.entries(u)) {
        values[k] = tf.add(params[k]!, d);
      }
      return edit(values, next, updates);
    },
  };
  return { tx, calls };
}
