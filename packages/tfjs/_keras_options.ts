// Private: the options every Keras optimizer takes, by name, for every
// built-in of `ChainOptimizer.from`: clipping (`clipnorm`, `clipvalue`,
// `globalClipnorm`), decoupled weight decay with exclusions by role or name,
// gradient accumulation, and the EMA of the weights (`useEma`,
// `emaMomentum`, `emaOverwriteFrequency`); and `reduceOnPlateau`, which
// keeps `reduceLrOnPlateau`'s counters in the optimizer state. Each is
// checked here and wrapped around the optimizer's own chain.
import "@centra/chain/tfjs-check";
import {
  chain,
  clipByGlobalNorm,
  clipByNorm,
  clipByValue,
  emaParams,
  type GradientTransformation,
  type Hyper,
  multiSteps,
  type OptimizerEntry,
} from "@centra/chain";
import { elementwise, mul, sub } from "@centra/chain/expr";
import type { JsonObject, JsonValue } from "./_json.ts";

/** The Keras-wide option names, in the order error messages list them. */
export const KERAS_KEYS: readonly string[] = [
  "clipnorm",
  "clipvalue",
  "globalClipnorm",
  "weightDecay",
  "excludeFromWeightDecay",
  "gradientAccumulationSteps",
  "useEma",
  "emaMomentum",
  "emaOverwriteFrequency",
  "reduceOnPlateau",
];

/** Which parameters the weight decay leaves alone. */
export interface WeightDecayExclusion {
  /** Parameters whose role (the last part of the name: `bias`, `gamma`) is one of these. */
  roles: string[];
  /** Parameters whose name contains one of these (Keras's `var_names`). */
  names: string[];
}

/** The Keras-wide options, checked. */
export interface KerasOptions {
  clip?: { kind: "clipnorm" | "clipvalue" | "globalClipnorm"; value: number };
  /** Decoupled decay for an optimizer without a `weightDecay` of its own. */
  weightDecay?: number;
  exclude?: WeightDecayExclusion;
  accumulate?: number;
  ema?: { momentum: number; overwriteFrequency?: number };
  plateau: boolean;
}

/** The hyperparameters `reduceOnPlateau` adds: best value, wait, cooldown (wait -1: no best yet). */
export const PLATEAU_HYPERPARAMS: Readonly<Record<string, number>> = {
  plateauBest: 0,
  plateauWait: -1,
  plateauCooldown: 0,
};

function positive(where: string, key: string, v: JsonValue): number {
  if (typeof v !== "number") {
    throw new TypeError(
      `${where}: ${key} must be a number, got ${JSON.stringify(v)}`,
    );
  }
  if (!Number.isFinite(v) || !(Math.fround(v) > 0)) {
    throw new RangeError(
      `${where}: ${key} must be a finite number above 0, got ${v}`,
    );
  }
  return v;
}

function wholeAtLeast(
  where: string,
  key: string,
  v: JsonValue,
  least: number,
): number {
  if (typeof v !== "number") {
    throw new TypeError(
      `${where}: ${key} must be a number, got ${JSON.stringify(v)}`,
    );
  }
  if (!Number.isInteger(v) || v < least) {
    throw new RangeError(
      `${where}: ${key} must be an integer of at least ${least}, got ${v}`,
    );
  }
  return v;
}

function stringList(where: string, key: string, v: JsonValue): string[] {
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    throw new TypeError(
      `${where}: excludeFromWeightDecay.${key} must be an array of strings, got ${
        JSON.stringify(v)
      }`,
    );
  }
  return v as string[];
}

function exclusionOf(where: string, v: JsonValue): WeightDecayExclusion {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new TypeError(
      `${where}: excludeFromWeightDecay must be { roles?, names? }, got ${
        JSON.stringify(v)
      }`,
    );
  }
  for (const k of Object.keys(v)) {
    if (k !== "roles" && k !== "names") {
      throw new TypeError(
        `${where}: unknown option "excludeFromWeightDecay.${k}" (known: roles, names)`,
      );
    }
  }
  return {
    roles: Object.hasOwn(v, "roles")
      ? stringList(where, "roles", v.roles!)
      : [],
    names: Object.hasOwn(v, "names")
      ? stringList(where, "names", v.names!)
      : [],
  };
}

/**
 * The role of a variable: the last part of its name, without the `_<n>`
 * tfjs appends to a name already taken (`dense_Dense1/bias_1` is a `bias`).
 */
export function roleOf(name: string): string {
  const last = name.slice(name.lastIndexOf("/") + 1);
  return last.replace(/_\d+$/, "");
}

/** Whether the exclusion leaves parameter `name` out of the weight decay. */
export function excluded(x: WeightDecayExclusion, name: string): boolean {
  return x.roles.includes(roleOf(name)) ||
    x.names.some((n) => name.includes(n));
}

/**
 * Splits an optimizer's JSON options into its own (passed to the alias)
 * and the Keras-wide ones, checked: a `TypeError` or `RangeError` naming
 * the bad value.
 */
export function splitKerasOptions(
  where: string,
  entry: OptimizerEntry,
  options: JsonObject,
): { own: JsonObject; keras: KerasOptions } {
  const own: JsonObject = {};
  const k: KerasOptions = { plateau: false };
  const clips: string[] = [];
  for (const [key, v] of Object.entries(options)) {
    // an alias's own option of the same name (sgd's weightDecay) wins
    if (Object.hasOwn(entry.options, key) || !KERAS_KEYS.includes(key)) {
      own[key] = v;
      continue;
    }
    readKerasOption(where, key, v, k, clips);
  }
  if (clips.length > 1) {
    throw new TypeError(
      `${where}: only one of clipnorm, clipvalue and globalClipnorm can be set (as in Keras), got ${
        clips.join(" and ")
      }`,
    );
  }
  emaOptions(where, options, k);
  exclusionTarget(where, entry, own, k);
  return { own, keras: k };
}

/** Reads one Keras-wide option into `k` (the clip options also into `clips`). */
function readKerasOption(
  where: string,
  key: string,
  v: JsonValue,
  k: KerasOptions,
  clips: string[],
): void {
  switch (key) {
    case "clipnorm":
    case "clipvalue":
    case "globalClipnorm":
      clips.push(key);
      k.clip = { kind: key, value: positive(where, key, v) };
      break;
    case "weightDecay":
      if (typeof v !== "number") {
        throw new TypeError(
          `${where}: weightDecay must be a number, got ${JSON.stringify(v)}`,
        );
      }
      if (!Number.isFinite(Math.fround(v)) || v < 0) {
        throw new RangeError(
          `${where}: weightDecay must be a finite number of at least 0, got ${v}`,
        );
      }
      k.weightDecay = v;
      break;
    case "excludeFromWeightDecay":
      k.exclude = exclusionOf(where, v);
      break;
    case "gradientAccumulationSteps":
      k.accumulate = wholeAtLeast(where, key, v, 1);
      break;
    case "useEma":
    case "reduceOnPlateau":
      if (typeof v !== "boolean") {
        throw new TypeError(
          `${where}: ${key} must be a boolean, got ${JSON.stringify(v)}`,
        );
      }
      if (key === "reduceOnPlateau") k.plateau = v;
      else if (v) k.ema = { momentum: 0.99 };
      break;
  }
}

/** `emaMomentum` and `emaOverwriteFrequency`, which need `useEma: true`. */
function emaOptions(where: string, options: JsonObject, k: KerasOptions): void {
  for (const key of ["emaMomentum", "emaOverwriteFrequency"]) {
    if (!Object.hasOwn(options, key)) continue;
    if (k.ema === undefined) {
      throw new TypeError(
        `${where}: ${key} needs useEma: true, got useEma ${
          JSON.stringify(options.useEma)
        }`,
      );
    }
    const v = options[key]!;
    if (key === "emaOverwriteFrequency") {
      k.ema.overwriteFrequency = wholeAtLeast(where, key, v, 1);
    } else if (typeof v !== "number") {
      throw new TypeError(
        `${where}: emaMomentum must be a number, got ${JSON.stringify(v)}`,
      );
    } else if (!(Math.fround(v) >= 0 && Math.fround(v) <= 1)) {
      throw new RangeError(
        `${where}: emaMomentum must be in [0, 1], got ${v}`,
      );
    } else k.ema.momentum = v;
  }
}

/** Where an exclusion goes: the alias's own decay mask, or the Keras decay. */
function exclusionTarget(
  where: string,
  entry: OptimizerEntry,
  own: JsonObject,
  k: KerasOptions,
): void {
  if (k.exclude === undefined) return;
  // given explicitly, also where the optimizer's default decays (adamw):
  // an exclusion from a decay that is off would be silently without effect
  if (k.weightDecay === undefined && !Object.hasOwn(own, "weightDecay")) {
    throw new TypeError(
      `${where}: excludeFromWeightDecay needs weightDecay, which is not set`,
    );
  }
  const ownDecay = Object.hasOwn(entry.options, "weightDecay");
  if (ownDecay && !Object.hasOwn(entry.options, "weightDecayMask")) {
    throw new TypeError(
      `${where}: excludeFromWeightDecay needs a weightDecayMask option, which this optimizer's own weightDecay lacks`,
    );
  }
  if (Object.hasOwn(own, "weightDecayMask")) {
    throw new TypeError(
      `${where}: give excludeFromWeightDecay or weightDecayMask, not both`,
    );
  }
}

/**
 * The alias's own options, with an exclusion made its `weightDecayMask`
 * (a function of the name) when the decay is its own.
 */
export function ownOptions(
  entry: OptimizerEntry,
  own: JsonObject,
  k: KerasOptions,
): Record<string, unknown> {
  const x = k.exclude;
  // the alias's own mask only where `weightDecay` is its own option: an
  // exclusion names the decay `weightDecay` sets, not another of the alias's
  // (adafactor's weightDecayRate keeps its own mask)
  if (
    x === undefined || !Object.hasOwn(entry.options, "weightDecay") ||
    !Object.hasOwn(entry.options, "weightDecayMask")
  ) {
    return own;
  }
  return { ...own, weightDecayMask: (name: string) => !excluded(x, name) };
}

/**
 * Keras's decoupled weight decay, `w ← w - lr λ w` at each step, as a stage
 * after the optimizer: the update minus `lr λ w`, on the parameters the
 * exclusion does not name.
 */
function decoupledDecay(
  lr: Hyper,
  weightDecay: number,
  exclude: WeightDecayExclusion | undefined,
): GradientTransformation<unknown> {
  return elementwise({
    where: "weightDecay",
    hypers: {
      learningRate: [lr, { min: 0 }],
      weightDecay: [weightDecay, { min: 0 }],
    },
    mask: exclude === undefined
      ? undefined
      : (name: string) => !excluded(exclude, name),
    math: ({ g, p, hypers: h }) => ({
      update: sub(g, mul(mul(h.learningRate, h.weightDecay), p)),
    }),
  }) as GradientTransformation<unknown>;
}

/**
 * `inner` with the Keras-wide options around it, in Keras 3's order: the
 * clipping, the optimizer and its decoupled decay, all on the mean
 * gradient of `gradientAccumulationSteps` mini-steps (`multiSteps`; Keras
 * clips and decays once per real step), then the EMA of the weights,
 * updated at every mini-step as Keras does. Without any of them, `inner`
 * itself (so its state is as it was).
 */
export function withKerasOptions(
  inner: GradientTransformation<unknown>,
  lr: Hyper,
  k: KerasOptions,
): GradientTransformation<unknown> {
  const clip = k.clip === undefined
    ? undefined
    : k.clip.kind === "clipnorm"
    ? clipByNorm(k.clip.value)
    : k.clip.kind === "clipvalue"
    ? clipByValue(k.clip.value)
    : clipByGlobalNorm(k.clip.value);
  const decay = k.weightDecay !== undefined && k.weightDecay > 0
    ? decoupledDecay(lr, k.weightDecay, k.exclude)
    : undefined;
  const parts = (list: (GradientTransformation<unknown> | undefined)[]) =>
    list.filter((t): t is GradientTransformation<unknown> => t !== undefined);
  let core = clip === undefined && decay === undefined
    ? inner
    : chain(...parts([clip, inner, decay]));
  if (k.accumulate !== undefined && k.accumulate > 1) {
    core = multiSteps(core, k.accumulate) as GradientTransformation<unknown>;
  }
  if (k.ema === undefined) return core;
  return chain(
    core,
    emaParams(
      k.ema.overwriteFrequency === undefined
        ? { momentum: k.ema.momentum }
        : k.ema,
    ),
  );
}
