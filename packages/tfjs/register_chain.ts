import type { GradientTransformation } from "@centra/chain/types";
import { buildBuiltin, BUILTIN_NAMES } from "./_builtin_chains.ts";
import { type JsonObject, type JsonValue, toJsonObject } from "./_json.ts";

export type { JsonObject, JsonValue };

/** Builds a chain from plain-JSON options (so that it can be rebuilt on load). */
export type ChainFactory = (
  options: JsonObject,
) => GradientTransformation<unknown>;

const registry = new Map<string, ChainFactory>();

/**
 * Registers a custom chain under a name, so that a {@linkcode ChainOptimizer}
 * built with `ChainOptimizer.from(name, options)` can be saved with a model
 * and rebuilt by `tf.loadLayersModel`. A chain is a closure, so what is saved
 * is its name and options; register the same factory before loading.
 *
 * @param name A name that is not a built-in (`sgd`, `adam`, `adamw`, `sgdw`,
 * `adagrad`, `rmsprop`) and not yet registered.
 * @param factory Builds the chain from the options given to `from`.
 *
 * @example Paper SGDM + GC with L2 decay, saved by name
 * ```ts
 * import { addDecayedWeights, centralize, chain, scaleByLearningRate, trace } from "@centra/chain";
 * import { registerChain } from "@centra/tfjs/register-chain";
 * import { ChainOptimizer } from "@centra/tfjs/chain-optimizer";
 * import assert from "node:assert/strict";
 *
 * registerChain("paperSgdmGc", (o) =>
 *   chain(addDecayedWeights(Number(o.wd)), centralize(), trace(0.9), scaleByLearningRate(Number(o.lr))));
 * const opt = ChainOptimizer.from("paperSgdmGc", { lr: 0.1, wd: 5e-4 });
 * assert.equal(opt.spec?.name, "paperSgdmGc");
 * ```
 */
export function registerChain(name: string, factory: ChainFactory): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(
      `registerChain: name must be a non-empty string, got ${
        JSON.stringify(name)
      }`,
    );
  }
  if (BUILTIN_NAMES.includes(name)) {
    throw new RangeError(`registerChain: "${name}" is a built-in chain`);
  }
  if (registry.has(name)) {
    throw new RangeError(`registerChain: "${name}" is already registered`);
  }
  if (typeof factory !== "function") {
    throw new TypeError(
      `registerChain: factory for "${name}" must be a function, got ${
        String(factory)
      }`,
    );
  }
  registry.set(name, factory);
}

/**
 * Builds a registered or built-in chain from JSON options: what
 * `ChainOptimizer.from` and loading a saved model do.
 *
 * @param name The chain's name.
 * @param options Its JSON options.
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initState, runUpdate } from "@centra/chain";
 * import { buildChain } from "@centra/tfjs/register-chain";
 * import assert from "node:assert/strict";
 *
 * const tx = buildChain("sgd", { learningRate: { schedule: "stepDecay", initValue: 1, stepSize: 1, gamma: 0.5 } });
 * let state = initState(tx, { w: tf.zeros([1]) });
 * let u;
 * [u, state] = runUpdate(tx, { w: tf.ones([1]) }, state, { w: tf.zeros([1]) });
 * [u, state] = runUpdate(tx, { w: tf.ones([1]) }, state, { w: tf.zeros([1]) });
 * assert.equal(u.w!.dataSync()[0], -0.5);
 * ```
 */
export function buildChain(
  name: string,
  options: JsonObject = {},
): GradientTransformation<unknown> {
  if (typeof name !== "string") {
    throw new TypeError(
      `buildChain: name must be a string, got ${String(name)}`,
    );
  }
  const json = toJsonObject(options, `${name} options`);
  const builtin = buildBuiltin(name, json);
  if (builtin !== undefined) return builtin;
  const factory = registry.get(name);
  if (factory === undefined) {
    throw new TypeError(
      `buildChain: no chain named "${name}" (built-ins: ${
        BUILTIN_NAMES.join(", ")
      }; registered: ${
        [...registry.keys()].join(", ") || "none"
      }); register it with registerChain before loading`,
    );
  }
  return factory(json);
}

/**
 * The names {@linkcode buildChain} knows: the built-ins, then the
 * registered ones.
 *
 * @returns The names.
 *
 * @example
 * ```ts
 * import { chainNames } from "@centra/tfjs/register-chain";
 * import assert from "node:assert/strict";
 *
 * assert.ok(chainNames().includes("adamw"));
 * ```
 */
export function chainNames(): string[] {
  return [...BUILTIN_NAMES, ...registry.keys()];
}
