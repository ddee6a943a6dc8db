// Private: what `ChainOptimizer` accepts and what it saves: its options, the
// spec that rebuilds its chain, and the config tfjs saves with a model, each
// checked before anything is built. chain_optimizer.ts re-exports the types.
import type * as tf from "@tensorflow/tfjs";
import type { GradientTransformation } from "@centra/chain/types";
import { type JsonObject, toJsonObject } from "./_json.ts";
import { checkFused } from "./_fused.ts";

/** What rebuilds a chain on load: a registered factory's name and its JSON options. */
export interface ChainSpec {
  /** A name given to {@linkcode registerChain} (or a built-in: `"sgd"`, `"adam"`, ...). */
  name: string;
  /** The factory's options; plain JSON. */
  options: JsonObject;
}

/** Options of the {@linkcode ChainOptimizer} constructor. */
export interface ChainOptimizerOptions {
  /**
   * The registered factory and options that build `tx`, so that
   * `getConfig`/`fromConfig` (and thus `model.save` with `includeOptimizer`)
   * can rebuild it. {@linkcode ChainOptimizer.from} sets it for you.
   */
  spec?: ChainSpec;
  /**
   * Whether steps run fused (`fuse` from `@centra/webgpu`: one generated
   * kernel per tensor on the webgpu and cpu backends) or op by op. Default
   * `true`. Either way the results agree to float32 rounding and the state
   * and its checkpoints are the same. A `tx` that has a `step` of its own
   * (already fused) is used as it is.
   */
  fused?: boolean;
}

/** Settings of {@linkcode ChainOptimizer.from}, beside the factory's options. */
export interface ChainOptimizerFromOptions {
  /** As {@linkcode ChainOptimizerOptions.fused}: default `true`. */
  fused?: boolean;
}

/**
 * The constructor's arguments, checked in order: `tx` is a transformation,
 * `options` an object of known keys, `fused` a boolean, the spec's options
 * plain JSON (copied, so that later edits by the caller change nothing).
 */
export function checkConstructorArgs(
  tx: GradientTransformation<unknown>,
  options: ChainOptimizerOptions,
): { fused: boolean; spec: ChainSpec | undefined } {
  if (
    tx === null || typeof tx !== "object" || typeof tx.init !== "function" ||
    typeof tx.update !== "function"
  ) {
    throw new TypeError(
      `ChainOptimizer: tx must be a GradientTransformation ({ init, update }), got ${
        String(tx)
      }`,
    );
  }
  const known = (k: string) => k === "spec" || k === "fused";
  if (
    options === null || typeof options !== "object" ||
    Object.keys(options).some((k) => !known(k))
  ) {
    throw new TypeError(
      `ChainOptimizer: options must be { spec?, fused? }, got ${
        options === null || typeof options !== "object"
          ? String(options)
          : `unknown option "${Object.keys(options).find((k) => !known(k))}"`
      }`,
    );
  }
  const fused = checkFused("ChainOptimizer", options.fused);
  const spec = options.spec === undefined ? undefined : {
    name: options.spec.name,
    options: toJsonObject(options.spec.options, "spec.options"),
  };
  return { fused, spec };
}

/** `from`'s settings, checked: the `fused` flag. */
export function checkFromSettings(
  settings: ChainOptimizerFromOptions,
): boolean {
  if (
    settings === null || typeof settings !== "object" ||
    Array.isArray(settings)
  ) {
    throw new TypeError(
      `ChainOptimizer.from: settings must be { fused? }, got ${
        String(settings)
      }`,
    );
  }
  for (const k of Object.keys(settings)) {
    if (k !== "fused") {
      throw new TypeError(
        `ChainOptimizer.from: unknown setting "${k}" (known: fused)`,
      );
    }
  }
  return checkFused("ChainOptimizer.from", settings.fused);
}

/**
 * The config `getConfig` returns: the spec's name and its options as a JSON
 * string, and `fused: false` only when off (so configs of the default are as
 * before the option existed).
 */
export function toConfig(
  spec: ChainSpec | undefined,
  fused: boolean,
): tf.serialization.ConfigDict {
  if (spec === undefined) {
    throw new TypeError(
      "ChainOptimizer.getConfig: this chain was built from a bare GradientTransformation, which cannot be saved; " +
        "build it with ChainOptimizer.from(name, options), registering custom chains with registerChain",
    );
  }
  // tfjs camel-cases every string and key that holds "_" when it loads a
  // training config, so the options travel as JSON with "_" escaped.
  const config: tf.serialization.ConfigDict = {
    name: spec.name,
    options: JSON.stringify(spec.options).replaceAll("_", "\\u005f"),
  };
  if (!fused) config.fused = false;
  return config;
}

/** The spec a config saved by `getConfig` holds, checked (its `fused` is not read here). */
export function specFromConfig(config: tf.serialization.ConfigDict): ChainSpec {
  const { name, options } = config;
  if (typeof name !== "string" || typeof options !== "string") {
    throw new TypeError(
      `ChainOptimizer.fromConfig: expected { name, options } strings, got ${
        JSON.stringify(config)
      }`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(options);
  } catch {
    throw new TypeError(
      `ChainOptimizer.fromConfig: options are not JSON: ${options}`,
    );
  }
  return { name, options: toJsonObject(parsed, "options") };
}
