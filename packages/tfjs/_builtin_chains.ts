// Private: the built-in chain factories behind `ChainOptimizer.from("sgd", ...)`
// and friends. Each reads plain-JSON options, so that a saved model can
// rebuild its optimizer, and wraps the optimizer in `injectHyperparams` so
// that the learning rate can be read and set between steps.
import * as tf from "@tensorflow/tfjs";
import {
  constantSchedule,
  cosineDecaySchedule,
  cosineOnecycleSchedule,
  exponentialDecaySchedule,
  type GradientTransformation,
  type Hyper,
  injectHyperparams,
  inverseTimeDecaySchedule,
  linearOnecycleSchedule,
  linearSchedule,
  type OptimizerEntry,
  type OptimizerName,
  OPTIMIZERS,
  type OptionKind,
  piecewiseConstantSchedule,
  piecewiseInterpolateSchedule,
  polynomialSchedule,
  type Schedule,
  sgdrSchedule,
  stepDecaySchedule,
  warmupConstantSchedule,
  warmupCosineDecaySchedule,
  warmupExponentialDecaySchedule,
} from "@centra/chain";
import type { JsonObject, JsonValue } from "./_json.ts";
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

function num(
  where: string,
  o: JsonObject,
  key: string,
  required: boolean,
): number | undefined {
  const v = Object.hasOwn(o, key) ? o[key] : undefined;
  if (v === undefined && !required) return undefined;
  if (typeof v !== "number") {
    throw new TypeError(
      `${where}: ${key} must be a number, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/** `o` without its undefined entries (options are exact optional properties). */
function opt<T extends Record<string, unknown>>(
  o: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== undefined),
  ) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

type Num = (k: string, required?: boolean) => number | undefined;

/** One JSON schedule: its option names (in error-message order) and builder. */
interface ScheduleJson {
  keys: string[];
  build(n: Num, w: string, spec: JsonObject): Schedule;
}

/** `boundariesAndScales` of a piecewiseConstant spec, checked. */
function boundariesFromJson(
  w: string,
  spec: JsonObject,
): Record<number, number> {
  const b = Object.hasOwn(spec, "boundariesAndScales")
    ? spec.boundariesAndScales
    : {};
  if (b === null || typeof b !== "object" || Array.isArray(b)) {
    throw new TypeError(
      `${w}: boundariesAndScales must be an object of step: scale`,
    );
  }
  const table: Record<number, number> = {};
  for (const [k, v] of Object.entries(b)) {
    if (typeof v !== "number") {
      throw new TypeError(
        `${w}: boundariesAndScales[${k}] must be a number`,
      );
    }
    table[Number(k)] = v;
  }
  return table;
}

/** `spec.staircase`: a boolean or absent. */
function staircaseOf(w: string, spec: JsonObject): boolean | undefined {
  const staircase = spec.staircase;
  if (staircase !== undefined && typeof staircase !== "boolean") {
    throw new TypeError(
      `${w}: staircase must be a boolean, got ${JSON.stringify(staircase)}`,
    );
  }
  return staircase;
}

function exponentialDecayFromJson(
  n: Num,
  w: string,
  spec: JsonObject,
): Schedule {
  const staircase = staircaseOf(w, spec);
  return exponentialDecaySchedule(
    n("initValue")!,
    opt({
      transitionSteps: n("transitionSteps")!,
      decayRate: n("decayRate")!,
      transitionBegin: n("transitionBegin", false),
      staircase,
      endValue: n("endValue", false),
    }),
  );
}

const WARMUP_COSINE_KEYS = [
  "initValue",
  "peakValue",
  "warmupSteps",
  "decaySteps",
  "endValue",
  "exponent",
];

/** A warmupCosineDecay's options from JSON (also each cycle of sgdr). */
function warmupCosineFromJson(n: Num) {
  return opt({
    initValue: n("initValue")!,
    peakValue: n("peakValue")!,
    warmupSteps: n("warmupSteps")!,
    decaySteps: n("decaySteps")!,
    endValue: n("endValue", false),
    exponent: n("exponent", false),
  });
}

/** `cycles` of an sgdr spec, each a warmupCosineDecay's options, checked. */
function sgdrFromJson(w: string, spec: JsonObject): Schedule {
  const cycles = Object.hasOwn(spec, "cycles") ? spec.cycles : undefined;
  if (!Array.isArray(cycles) || cycles.length === 0) {
    throw new TypeError(
      `${w}: cycles must be a non-empty array of { initValue, peakValue, warmupSteps, decaySteps, endValue?, exponent? }, got ${
        JSON.stringify(cycles)
      }`,
    );
  }
  return sgdrSchedule(cycles.map((c, i) => {
    const at = `${w}: cycles[${i}]`;
    if (c === null || typeof c !== "object" || Array.isArray(c)) {
      throw new TypeError(`${at} must be an object, got ${JSON.stringify(c)}`);
    }
    unknownKeys(at, c, WARMUP_COSINE_KEYS, "cycle");
    return warmupCosineFromJson((k, required = true) =>
      num(at, c, k, required)
    );
  }));
}

/** `spec.interpolateType`: "linear" or "cosine". */
function interpolateTypeOf(w: string, spec: JsonObject): "linear" | "cosine" {
  const t = spec.interpolateType;
  if (t !== "linear" && t !== "cosine") {
    throw new TypeError(
      `${w}: interpolateType must be "linear" or "cosine", got ${
        JSON.stringify(t)
      }`,
    );
  }
  return t;
}

/** A TypeError naming the first key of `o` not in `keys`. */
function unknownKeys(
  w: string,
  o: JsonObject,
  keys: readonly string[],
  what: string,
): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) {
      throw new TypeError(
        `${w}: unknown option "${k}" for ${what} (known: ${keys.join(", ")})`,
      );
    }
  }
}

/** The schedules `scheduleFromJson` reads, by their `"schedule"` name. */
const SCHEDULE_JSON = new Map<string, ScheduleJson>(Object.entries({
  constant: {
    keys: ["value"],
    build: (n) => constantSchedule(n("value")!),
  },
  piecewiseConstant: {
    keys: ["initValue", "boundariesAndScales"],
    build: (n, w, spec) => {
      const table = boundariesFromJson(w, spec); // checked before initValue
      return piecewiseConstantSchedule(n("initValue")!, table);
    },
  },
  stepDecay: {
    keys: ["initValue", "stepSize", "gamma"],
    build: (n) =>
      stepDecaySchedule(
        n("initValue")!,
        opt({ stepSize: n("stepSize")!, gamma: n("gamma", false) }),
      ),
  },
  exponentialDecay: {
    keys: [
      "initValue",
      "transitionSteps",
      "decayRate",
      "transitionBegin",
      "staircase",
      "endValue",
    ],
    build: exponentialDecayFromJson,
  },
  cosineDecay: {
    keys: ["initValue", "decaySteps", "alpha", "exponent"],
    build: (n) =>
      cosineDecaySchedule(
        n("initValue")!,
        opt({
          decaySteps: n("decaySteps")!,
          alpha: n("alpha", false),
          exponent: n("exponent", false),
        }),
      ),
  },
  warmupCosineDecay: {
    keys: WARMUP_COSINE_KEYS,
    build: (n) => warmupCosineDecaySchedule(warmupCosineFromJson(n)),
  },
  linear: {
    keys: ["initValue", "endValue", "transitionSteps", "transitionBegin"],
    build: (n) =>
      linearSchedule(
        opt({
          initValue: n("initValue")!,
          endValue: n("endValue")!,
          transitionSteps: n("transitionSteps")!,
          transitionBegin: n("transitionBegin", false),
        }),
      ),
  },
  polynomial: {
    keys: [
      "initValue",
      "endValue",
      "power",
      "transitionSteps",
      "transitionBegin",
    ],
    build: (n) =>
      polynomialSchedule(
        opt({
          initValue: n("initValue")!,
          endValue: n("endValue")!,
          power: n("power")!,
          transitionSteps: n("transitionSteps")!,
          transitionBegin: n("transitionBegin", false),
        }),
      ),
  },
  inverseTimeDecay: {
    keys: ["initValue", "decaySteps", "decayRate", "staircase"],
    build: (n, w, spec) => {
      const staircase = staircaseOf(w, spec);
      return inverseTimeDecaySchedule(
        n("initValue")!,
        opt({
          decaySteps: n("decaySteps")!,
          decayRate: n("decayRate")!,
          staircase,
        }),
      );
    },
  },
  sgdr: { keys: ["cycles"], build: (_n, w, spec) => sgdrFromJson(w, spec) },
  warmupConstant: {
    keys: ["initValue", "peakValue", "warmupSteps"],
    build: (n) =>
      warmupConstantSchedule({
        initValue: n("initValue")!,
        peakValue: n("peakValue")!,
        warmupSteps: n("warmupSteps")!,
      }),
  },
  warmupExponentialDecay: {
    keys: [
      "initValue",
      "peakValue",
      "warmupSteps",
      "transitionSteps",
      "decayRate",
      "transitionBegin",
      "staircase",
      "endValue",
    ],
    build: (n, w, spec) => {
      const staircase = staircaseOf(w, spec);
      return warmupExponentialDecaySchedule(
        opt({
          initValue: n("initValue")!,
          peakValue: n("peakValue")!,
          warmupSteps: n("warmupSteps")!,
          transitionSteps: n("transitionSteps")!,
          decayRate: n("decayRate")!,
          transitionBegin: n("transitionBegin", false),
          staircase,
          endValue: n("endValue", false),
        }),
      );
    },
  },
  piecewiseInterpolate: {
    keys: ["interpolateType", "initValue", "boundariesAndScales"],
    build: (n, w, spec) => {
      const interpolateType = interpolateTypeOf(w, spec);
      const table = boundariesFromJson(w, spec);
      return piecewiseInterpolateSchedule({
        interpolateType,
        initValue: n("initValue")!,
        boundariesAndScales: table,
      });
    },
  },
  cosineOnecycle: {
    keys: [
      "transitionSteps",
      "peakValue",
      "pctStart",
      "divFactor",
      "finalDivFactor",
    ],
    build: (n) =>
      cosineOnecycleSchedule(
        opt({
          transitionSteps: n("transitionSteps")!,
          peakValue: n("peakValue")!,
          pctStart: n("pctStart", false),
          divFactor: n("divFactor", false),
          finalDivFactor: n("finalDivFactor", false),
        }),
      ),
  },
  linearOnecycle: {
    keys: [
      "transitionSteps",
      "peakValue",
      "pctStart",
      "pctFinal",
      "divFactor",
      "finalDivFactor",
    ],
    build: (n) =>
      linearOnecycleSchedule(
        opt({
          transitionSteps: n("transitionSteps")!,
          peakValue: n("peakValue")!,
          pctStart: n("pctStart", false),
          pctFinal: n("pctFinal", false),
          divFactor: n("divFactor", false),
          finalDivFactor: n("finalDivFactor", false),
        }),
      ),
  },
}));

/** A schedule from its JSON form, `{ schedule: "cosineDecay", initValue, decaySteps, ... }`. */
export function scheduleFromJson(where: string, spec: JsonObject): Schedule {
  const w = `${where}: learningRate schedule`;
  const name = spec.schedule;
  const entry = typeof name === "string" ? SCHEDULE_JSON.get(name) : undefined;
  if (typeof name !== "string" || entry === undefined) {
    throw new TypeError(
      `${w}: "schedule" must be one of ${
        [...SCHEDULE_JSON.keys()].join(", ")
      }, got ${JSON.stringify(name)}`,
    );
  }
  const { schedule: _name, ...options } = spec;
  unknownKeys(w, options, entry.keys, name);
  return entry.build(
    (k, required = true) => num(w, spec, k, required),
    w,
    spec,
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
  let lr: number | Schedule;
  if (typeof learningRate === "number") {
    lr = learningRate;
  } else if (
    learningRate !== null && typeof learningRate === "object" &&
    !Array.isArray(learningRate)
  ) {
    lr = scheduleFromJson(where, learningRate);
  } else {
    throw new TypeError(
      `${where}: learningRate must be a number or a schedule like { schedule: "cosineDecay", initValue, decaySteps }, got ${
        JSON.stringify(learningRate)
      }`,
    );
  }
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
