import type * as tf from "@tensorflow/tfjs";
import { isPlainObject, show } from "./_check.ts";
import { checkTransformation } from "./_drive.ts";
import { checkMapNames, labelOf } from "./_mask.ts";
import type {
  GradientTransformation,
  Labels,
  Params,
  Updates,
} from "./types.ts";

/** State of {@linkcode partition}: one inner state per label. */
export type PartitionState = Record<string, unknown>;

/**
 * Sends each parameter to the transformation of its label (optax
 * `multi_transform`): per-layer learning rates, a frozen backbone, no decay
 * on norms. Each inner transformation sees only its own parameters.
 *
 * @param transforms The transformations by label.
 * @param labels A map of labels by parameter name, or a function of name and shape.
 * @returns A transformation whose state holds one inner state per label.
 *
 * @example The paper's fine-tuning split: 0.1 for the head, 0.01 for the rest
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { partition, sgd } from "@centra/chain";
 * import assert from "node:assert/strict";
 *
 * const tx = partition(
 *   { head: sgd(0.1), backbone: sgd(0.01) },
 *   (name) => (name.startsWith("head/") ? "head" : "backbone"),
 * );
 * const g = { "head/w": tf.ones([1]), "conv/w": tf.ones([1]) };
 * const [u] = tx.update(g, tx.init(g), g);
 * assert.ok(Math.abs(u["head/w"]!.dataSync()[0]! + 0.1) < 1e-7);
 * assert.ok(Math.abs(u["conv/w"]!.dataSync()[0]! + 0.01) < 1e-7);
 * ```
 */
export function partition(
  transforms: Readonly<Record<string, GradientTransformation<unknown>>>,
  labels: Labels,
): GradientTransformation<PartitionState> {
  checkPartitionArgs(transforms, labels);
  const known = new Map(Object.entries(transforms));
  return {
    init: (params: Params): PartitionState =>
      partitionInit(known, labels, params),
    update: (
      updates: Updates,
      state: PartitionState,
      params?: Params,
    ): [Updates, PartitionState] =>
      partitionUpdate(known, labels, updates, state, params),
  };
}

const where = "partition";

type Known = ReadonlyMap<string, GradientTransformation<unknown>>;

function checkPartitionArgs(
  transforms: Readonly<Record<string, GradientTransformation<unknown>>>,
  labels: Labels,
): void {
  if (!isPlainObject(transforms)) {
    throw new TypeError(
      `${where}: transforms must be a record of transformations, got ${
        show(transforms)
      }`,
    );
  }
  for (const [label, tx] of Object.entries(transforms)) {
    checkTransformation(`${where}: "${label}"`, tx);
  }
  if (
    typeof labels !== "function" &&
    (labels === null || typeof labels !== "object" || Array.isArray(labels))
  ) {
    throw new TypeError(
      `${where}: labels must be a record of labels or a function, got ${
        show(labels)
      }`,
    );
  }
}

/** `tensors` grouped by label, one (maybe empty) group per known label. */
function split(
  known: Known,
  labels: Labels,
  tensors: Record<string, tf.Tensor>,
): Map<string, Record<string, tf.Tensor>> {
  const groups = new Map<string, Record<string, tf.Tensor>>();
  for (const label of known.keys()) groups.set(label, {});
  for (const [name, t] of Object.entries(tensors)) {
    const label = labelOf(where, labels, name, t.shape);
    const group = groups.get(label);
    if (group === undefined) {
      throw new TypeError(
        `${where}: parameter "${name}" has label "${label}", which is not one of: ${
          [...known.keys()].join(", ")
        }`,
      );
    }
    group[name] = t;
  }
  return groups;
}

function partitionInit(
  known: Known,
  labels: Labels,
  params: Params,
): PartitionState {
  if (typeof labels !== "function") {
    checkMapNames(where, "label map", labels, params);
  }
  const groups = split(known, labels, params);
  const state: PartitionState = {};
  for (const [label, tx] of known) {
    state[label] = tx.init(groups.get(label)!);
  }
  return state;
}

function partitionUpdate(
  known: Known,
  labels: Labels,
  updates: Updates,
  state: PartitionState,
  params?: Params,
): [Updates, PartitionState] {
  const groups = split(known, labels, updates);
  const paramGroups = params === undefined
    ? undefined
    : split(known, labels, params);
  if (state === null || typeof state !== "object" || Array.isArray(state)) {
    throw new TypeError(
      `${where}: the state does not fit this transformation: expected one state per label, got ${
        show(state)
      }`,
    );
  }
  const out: Updates = {};
  const next: PartitionState = {};
  for (const [label, tx] of known) {
    if (!Object.hasOwn(state, label)) {
      throw new TypeError(
        `${where}: state has no entry for label "${label}"`,
      );
    }
    const [u, s] = tx.update(
      groups.get(label)!,
      state[label],
      paramGroups?.get(label),
    );
    Object.assign(out, u);
    next[label] = s;
  }
  return [out, next];
}

/** Alias of {@linkcode partition}, under optax's name. */
export const multiTransform: typeof partition = partition;
