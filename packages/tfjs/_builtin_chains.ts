// Private: the built-in chain factories behind `ChainOptimizer.from("sgd", ...)`
// and friends. Each reads plain-JSON options, so that a saved model can
// rebuild its optimizer, and wraps the optimizer in `injectHyperparams` so
// that the learning rate can be read and set between steps.
import * as tf from "@tensorflow/tfjs";
import {
  type GradientTransformation,
  type Hyper,
  injectHyperparams,
  type OptimizerEntry,
  type OptimizerName,
  OPTIMIZERS,
  type OptionKind,
  type Schedule,
} from "@centra/chain";
import type { JsonObject, JsonValue } from "./_json.ts";
import { scheduleFromJson } from "./_schedule_json.ts";
import {
  KERAS_KEYS,
  ownOptions,
  PLATEAU_HYPERPARAMS,
  splitKerasOptions,
  withKerasOptions,
} from "./_keras_options.ts";

type Kind = "number" | "boolean" | "gc" | "gcOn" | "mask";

/**
 * The JSON form of an alias's options, read from the schema the alias
 * itself checks (`OPTIMIZERS[name].options`), so the two cannot drift apart:
 * a hyperparameter is a number, a mask a record of booleans.
 */
function jsonKind(kind: OptionKind): Kind | undefined {
  if (kind === "hyper" || kind === "number") return "number";
  if (kind === "boolean" || kind === "gc" || kind === "gcOn") return kind;
  return kind === "mask" ? "mask" : undefined;
}

/** The names of the built-in chains: every optimizer of `OPTIMIZERS`. */
export const BUILTIN_NAMES: readonly string[] = Object.keys(OPTIMIZERS);

function builtin(name: string): OptimizerEntry | undefined {
  return Object.hasOwn(OPTIMIZERS, name)
    ? OPTIMIZERS[name as OptimizerName]
    : undefined;
}

function checkKind(where: string, key: string, kind: Kind, v: JsonValue): void {
  const ok = kind === "number"
    ? typeof v === "number"
    : kind === "boolean"
    ? typeof v === "boolean"
    : kind === "gc"
    ? typeof v === "boolean" || v === "conv"
    : kind === "mask"
    ? v !== null && typeof v === "object" && !Array.isArray(v) &&
      Object.values(v).every((b) => typeof b === "boolean")
    : v === "gradient" || v === "update";
  if (!ok) {
    const want = kind === "gc"
      ? 'true, false or "conv"'
      : kind === "gcOn"
      ? '"gradient" or "update"'
      : kind === "mask"
      ? "a record of booleans by parameter name"
      : `a ${kind}`;
    throw new TypeError(
      `${where}: option ${key} must be ${want}, got ${JSON.stringify(v)}`,
    );
  }
}

/** A JSON `learningRate`: a number, or a schedule's JSON object. */
function learningRateOf(
  where: string,
  learningRate: unknown,
): number | Schedule {
  if (typeof learningRate === "number") return learningRate;
  if (
    learningRate !== null && typeof learningRate === "object" &&
    !Array.isArray(learningRate)
  ) {
    return scheduleFromJson(where, learningRate as JsonObject);
  }
  throw new TypeError(
    `${where}: learningRate must be a number or a schedule like { schedule: "cosineDecay", initValue, decaySteps }, got ${
      JSON.stringify(learningRate)
    }`,
  );
}

/** Builds built-in chain `name` from its JSON options, or returns `undefined` for another name. */
export function buildBuiltin(
  name: string,
  options: JsonObject,
): GradientTransformation<unknown> | undefined {
  const b = builtin(name);
  if (b === undefined) return undefined;
  const where = `ChainOptimizer.from("${name}")`;
  const { learningRate, ...rest } = options;
  // every key checked first: a misspelled learningRate is an unknown
  // option, not a missing rate
  const { own, keras } = splitKerasOptions(where, b, rest);
  for (const [k, v] of Object.entries(own)) {
    const kind = Object.hasOwn(b.options, k)
      ? jsonKind(b.options[k]!)
      : undefined;
    if (kind === undefined) {
      const known = Object.keys(b.options).filter((o) =>
        jsonKind(b.options[o]!)
      );
      throw new TypeError(
        `${where}: unknown option "${k}" (known: learningRate, ${
          [...known, ...KERAS_KEYS.filter((x) => !known.includes(x))]
            .join(", ")
        })`,
      );
    }
    checkKind(where, k, kind, v);
  }
  const lr = learningRateOf(where, learningRate);
  const o = ownOptions(b, own, keras);
  const make = (lr: Hyper) => withKerasOptions(b.make(lr, o), lr, keras);
  // Build once now so that bad values fail here, not at the first step.
  tf.tidy(() => {
    make(typeof lr === "number" ? lr : 0);
  });
  if (keras.plateau && typeof lr !== "number") {
    throw new TypeError(
      `${where}: reduceOnPlateau needs a numeric learningRate (a schedule sets the rate at every step), got a schedule`,
    );
  }
  return injectHyperparams(
    (hp) => make(hp.learningRate),
    keras.plateau
      ? { learningRate: lr, ...PLATEAU_HYPERPARAMS }
      : { learningRate: lr },
  );
}
