// Private: learning-rate schedules in their JSON form (`{ schedule:
// "cosineDecay", initValue, decaySteps }`), what `ChainOptimizer.from` reads
// and `getConfig` saves: one entry per schedule of @centra/chain, its option
// names and its builder, each option checked by name.
import {
  constantSchedule,
  cosineDecaySchedule,
  cosineOnecycleSchedule,
  exponentialDecaySchedule,
  inverseTimeDecaySchedule,
  linearOnecycleSchedule,
  linearSchedule,
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
import type { JsonObject } from "./_json.ts";

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
