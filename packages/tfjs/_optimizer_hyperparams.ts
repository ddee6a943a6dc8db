// Private: the hyperparameters of a `ChainOptimizer`'s chain (its
// `injectHyperparams` part), read and set in the state its checkpoint holds.
import * as tf from "@tensorflow/tfjs";
import {
  findHyperparams,
  setHyperparam,
} from "@centra/chain/inject-hyperparams";
import type { StateCheckpoint } from "./_state_checkpoint.ts";

/**
 * The hyperparameters of the checkpoint's state as live scalars (owned by
 * the state), building the state for no variables if there is none yet, or
 * `undefined` when the chain has no `injectHyperparams` part.
 */
export function hyperparamsOf(
  checkpoint: StateCheckpoint,
): Record<string, tf.Scalar> | undefined {
  const state = checkpoint.shared();
  return state === null ? undefined : findHyperparams(state);
}

/** The values of `hp` as numbers, read asynchronously (so it works on WebGPU). */
export async function readValues(
  hp: Record<string, tf.Scalar>,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [k, t] of Object.entries(hp)) out[k] = (await t.data())[0]!;
  return out;
}

/**
 * Sets hyperparameter `name` of the checkpoint's state to `value`. A
 * refused call leaves the checkpoint as it was: before the first step, no
 * state is left behind either.
 *
 * @throws {TypeError} For an unknown name; chain's `setHyperparam`'s
 * errors for a bad value.
 */
export function setHyperparamOf(
  checkpoint: StateCheckpoint,
  name: string,
  value: number,
): void {
  const before = checkpoint.state;
  try {
    setChecked(checkpoint, name, value);
  } catch (e) {
    checkpoint.undoShared(before);
    throw e;
  }
}

function setChecked(
  checkpoint: StateCheckpoint,
  name: string,
  value: number,
): void {
  const hp = hyperparamsOf(checkpoint);
  if (
    hp === undefined || !Object.hasOwn(hp, name) ||
    !(hp[name] instanceof tf.Tensor)
  ) {
    throw new TypeError(
      `ChainOptimizer.setHyperparam: no hyperparameter "${name}" (${
        hp === undefined
          ? checkpoint.state === null
            ? "this chain cannot be initialised without variables: take a step first"
            : "this chain has no injectHyperparams part"
          : `known: ${Object.keys(hp).join(", ")}`
      })`,
    );
  }
  // chain's setHyperparam checks the value as float32 and against the
  // ranges the chain's transforms asked of this hyperparameter (a learning
  // rate of -1 is refused as sgd(-1) is).
  checkpoint.replace(setHyperparam(checkpoint.state, { name, value }));
}
