// The schedules of issue 15 against closed forms written here in float64
// from optax's (and Keras's, for inverse time decay) documented formulas,
// at every step of a range that covers each phase, on every backend; and
// their bad arguments, refused by name.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  cosineDecaySchedule,
  cosineOnecycleSchedule,
  inverseTimeDecaySchedule,
  linearOnecycleSchedule,
  piecewiseInterpolateSchedule,
  polynomialSchedule,
  sgdrSchedule,
  warmupConstantSchedule,
  warmupCosineDecaySchedule,
  warmupExponentialDecaySchedule,
} from "./schedules.ts";
import type { Schedule } from "./types.ts";
import { read, testOnBackends } from "@centra/testing/mod.ts";
import {
  range,
  type ScheduleCase,
  testScheduleCases,
} from "@centra/testing/schedule_cases.ts";

/** optax: `init ((1 - α) ((1 + cos(π min(t, T) / T)) / 2)^p + α)`. */
const cosine64 =
  (init: number, T: number, alpha: number, p: number) => (t: number) =>
    init *
    ((1 - alpha) *
        Math.pow(0.5 * (1 + Math.cos(Math.PI * Math.min(t, T) / T)), p) +
      alpha);

/** optax's warmup cosine: a linear ramp, then cosine from peak to end. */
const warmupCosine64 = (
  o: { i: number; peak: number; w: number; d: number; end: number; p?: number },
) =>
(t: number): number =>
  t < o.w ? o.i + (o.peak - o.i) * t / o.w : cosine64(
    o.peak,
    o.d - o.w,
    o.peak === 0 ? 0 : o.end / o.peak,
    o.p ?? 1,
  )(t - o.w);

/**
 * optax's piecewise interpolation: values `v_i` at bounds `b_i` (b_0 = 0),
 * `pct = (t - b_i) / max(b_(i+1) - b_i, 1)` in the interval holding `t`.
 */
function interpolate64(
  type: "linear" | "cosine",
  init: number,
  table: Record<number, number>,
): (t: number) => number {
  const pairs = Object.entries(table).map(([b, s]) => [Number(b), s] as const)
    .sort((a, b) => a[0] - b[0]);
  const bounds = [0, ...pairs.map((p) => p[0])];
  const values = [init];
  for (const [, s] of pairs) values.push(values.at(-1)! * s);
  return (t) => {
    const last = bounds.length - 1;
    if (t >= bounds[last]!) return values[last]!;
    for (let i = 0; i < last; i++) {
      if (bounds[i]! <= t && t < bounds[i + 1]!) {
        const pct = (t - bounds[i]!) / Math.max(bounds[i + 1]! - bounds[i]!, 1);
        const [a, b] = [values[i]!, values[i + 1]!];
        return type === "linear"
          ? a + (b - a) * pct
          : b + (a - b) / 2 * (Math.cos(Math.PI * pct) + 1);
      }
    }
    return 0;
  };
}

const CASES: ScheduleCase[] = [
  {
    name:
      "polynomialSchedule() is (init - end)(1 - τ)^power + end, held before transitionBegin and after the transition",
    schedule: () =>
      polynomialSchedule({
        initValue: 1,
        endValue: 0.01,
        power: 2,
        transitionSteps: 30,
        transitionBegin: 5,
      }),
    closedForm: (t) =>
      (1 - 0.01) *
        Math.pow(1 - Math.min(Math.max(t - 5, 0), 30) / 30, 2) + 0.01,
    steps: range(45),
  },
  {
    name: "polynomialSchedule() with a fractional power rises as well",
    schedule: () =>
      polynomialSchedule({
        initValue: 0.1,
        endValue: 0.7,
        power: 0.5,
        transitionSteps: 17,
      }),
    closedForm: (t) =>
      (0.1 - 0.7) * Math.pow(1 - Math.min(t, 17) / 17, 0.5) + 0.7,
    steps: range(25),
  },
  {
    name: "inverseTimeDecaySchedule() is init / (1 + rate t / steps) (Keras)",
    schedule: () =>
      inverseTimeDecaySchedule(0.3, { decaySteps: 7, decayRate: 0.5 }),
    closedForm: (t) => 0.3 / (1 + 0.5 * t / 7),
    steps: range(60),
  },
  {
    name: "inverseTimeDecaySchedule() with staircase floors t / steps (Keras)",
    schedule: () =>
      inverseTimeDecaySchedule(2, {
        decaySteps: 6,
        decayRate: 1.5,
        staircase: true,
      }),
    closedForm: (t) => 2 / (1 + 1.5 * Math.floor(t / 6)),
    steps: range(60),
  },
  {
    name:
      "cosineDecaySchedule() with exponent raises the cosine factor to it (optax)",
    schedule: () =>
      cosineDecaySchedule(0.5, { decaySteps: 30, alpha: 0.1, exponent: 2.5 }),
    closedForm: cosine64(0.5, 30, 0.1, 2.5),
    steps: range(40),
  },
  {
    name: "warmupCosineDecaySchedule() takes optax's exponent",
    schedule: () =>
      warmupCosineDecaySchedule({
        initValue: 0,
        peakValue: 1,
        warmupSteps: 5,
        decaySteps: 25,
        endValue: 0.1,
        exponent: 0.5,
      }),
    closedForm: warmupCosine64({
      i: 0,
      peak: 1,
      w: 5,
      d: 25,
      end: 0.1,
      p: 0.5,
    }),
    steps: range(30),
  },
  {
    name:
      "sgdrSchedule() restarts each cycle from 0 at the sum of the previous decaySteps",
    schedule: () =>
      sgdrSchedule([
        { initValue: 0, peakValue: 1, warmupSteps: 3, decaySteps: 12 },
        { initValue: 0.5, peakValue: 0.5, warmupSteps: 0, decaySteps: 8 },
        {
          initValue: 0.1,
          peakValue: 0.4,
          warmupSteps: 2,
          decaySteps: 10,
          endValue: 0.01,
        },
      ]),
    closedForm: (t) =>
      t < 12
        ? warmupCosine64({ i: 0, peak: 1, w: 3, d: 12, end: 0 })(t)
        : t < 20
        ? warmupCosine64({ i: 0.5, peak: 0.5, w: 0, d: 8, end: 0 })(t - 12)
        : warmupCosine64({ i: 0.1, peak: 0.4, w: 2, d: 10, end: 0.01 })(
          t - 20,
        ),
    steps: range(36),
  },
  {
    name: "warmupConstantSchedule() ramps to peak, then holds it",
    schedule: () =>
      warmupConstantSchedule({
        initValue: 0.01,
        peakValue: 0.2,
        warmupSteps: 9,
      }),
    closedForm: (t) => 0.01 + (0.2 - 0.01) * Math.min(t, 9) / 9,
    steps: range(20),
  },
  {
    name:
      "warmupExponentialDecaySchedule() ramps to peak, then decays from the end of the warm-up",
    schedule: () =>
      warmupExponentialDecaySchedule({
        initValue: 0,
        peakValue: 0.8,
        warmupSteps: 6,
        transitionSteps: 4,
        decayRate: 0.7,
        transitionBegin: 3,
        endValue: 0.1,
      }),
    closedForm: (t) => {
      if (t < 6) return 0.8 * t / 6;
      const s = t - 6;
      return s <= 3 ? 0.8 : Math.max(0.1, 0.8 * Math.pow(0.7, (s - 3) / 4));
    },
    steps: range(50),
  },
  {
    name: "warmupExponentialDecaySchedule() with staircase steps down",
    schedule: () =>
      warmupExponentialDecaySchedule({
        initValue: 0.1,
        peakValue: 1,
        warmupSteps: 4,
        transitionSteps: 5,
        decayRate: 0.5,
        staircase: true,
      }),
    closedForm: (t) =>
      t < 4 ? 0.1 + 0.9 * t / 4 : Math.pow(0.5, Math.floor((t - 4) / 5)),
    steps: range(40),
  },
  {
    name:
      "piecewiseInterpolateSchedule() interpolates linearly between accumulated values (optax's example)",
    schedule: () =>
      piecewiseInterpolateSchedule({
        interpolateType: "linear",
        initValue: 1,
        boundariesAndScales: { 4: 0.1, 8: 0.01 },
      }),
    closedForm: interpolate64("linear", 1, { 4: 0.1, 8: 0.01 }),
    steps: range(14),
  },
  {
    name:
      "piecewiseInterpolateSchedule() interpolates along half cosines, a boundary at 0 included",
    schedule: () =>
      piecewiseInterpolateSchedule({
        interpolateType: "cosine",
        initValue: 0.5,
        boundariesAndScales: { 0: 2, 10: 0.25, 13: 3, 30: 0.5 },
      }),
    closedForm: interpolate64("cosine", 0.5, {
      0: 2,
      10: 0.25,
      13: 3,
      30: 0.5,
    }),
    steps: range(40),
  },
  {
    name:
      "cosineOnecycleSchedule() rises from peak / div to peak at pctStart and falls to peak / (div finalDiv)",
    schedule: () =>
      cosineOnecycleSchedule({ transitionSteps: 40, peakValue: 0.5 }),
    closedForm: (t) => {
      const lo = 0.5 / 25, end = 0.5 / (25 * 1e4), up = 12; // floor(0.3 * 40)
      if (t >= 40) return end;
      if (t < up) {
        return 0.5 + (lo - 0.5) / 2 * (Math.cos(Math.PI * t / up) + 1);
      }
      const pct = (t - up) / (40 - up);
      return end + (0.5 - end) / 2 * (Math.cos(Math.PI * pct) + 1);
    },
    steps: range(50),
  },
  {
    name:
      "linearOnecycleSchedule() has optax's three linear phases with its own factors",
    schedule: () =>
      linearOnecycleSchedule({
        transitionSteps: 50,
        peakValue: 2,
        pctStart: 0.2,
        pctFinal: 0.7,
        divFactor: 10,
        finalDivFactor: 100,
      }),
    closedForm: (t) => {
      const lo = 0.2, end = 0.002; // 2 / 10, then lo / 100
      if (t < 10) return lo + (2 - lo) * t / 10;
      if (t < 35) return 2 + (lo - 2) * (t - 10) / 25;
      if (t < 50) return lo + (end - lo) * (t - 35) / 15;
      return end;
    },
    steps: range(60),
  },
];

testScheduleCases(CASES);

Deno.test("the new schedules refuse bad arguments with an error naming them", () => {
  const ok = { initValue: 0, peakValue: 1, warmupSteps: 2, decaySteps: 5 };
  const bad: [() => unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    [
      () =>
        polynomialSchedule({
          initValue: 1,
          endValue: 0,
          power: 0,
          transitionSteps: 3,
        }),
      RangeError,
      /polynomialSchedule: power must be in \(0, Infinity\], got 0/,
    ],
    [
      () =>
        polynomialSchedule({
          initValue: 1,
          endValue: 0,
          power: 1,
          transitionSteps: 2.5,
        }),
      RangeError,
      /transitionSteps must be a positive integer, got 2.5/,
    ],
    [
      () =>
        polynomialSchedule({
          initValue: 1,
          endValue: 0,
          power: 1,
          transitionSteps: 3,
          transitionBegin: -1,
        }),
      RangeError,
      /transitionBegin must be a non-negative integer, got -1/,
    ],
    [
      () => inverseTimeDecaySchedule(0.1, { decaySteps: 10, decayRate: -1 }),
      RangeError,
      /inverseTimeDecaySchedule: decayRate must be in \[0, Infinity\], got -1/,
    ],
    [
      () =>
        inverseTimeDecaySchedule(0.1, {
          decaySteps: 10,
          decayRate: 1,
          staircase: 1 as unknown as boolean,
        }),
      TypeError,
      /staircase must be a boolean, got 1/,
    ],
    [
      () => cosineDecaySchedule(1, { decaySteps: 10, exponent: -2 }),
      RangeError,
      /cosineDecaySchedule: exponent must be in \(0, Infinity\], got -2/,
    ],
    [
      () => warmupCosineDecaySchedule({ ...ok, warmupSteps: -1 }),
      RangeError,
      /warmupSteps must be a non-negative integer, got -1/,
    ],
    [
      () => sgdrSchedule([]),
      TypeError,
      /sgdrSchedule: cycles must be a non-empty array/,
    ],
    [
      () => sgdrSchedule([ok, { ...ok, decaySteps: 2 }]),
      RangeError,
      /sgdrSchedule: cycles\[1\]: decaySteps \(2\) must exceed warmupSteps \(2\)/,
    ],
    [
      () => sgdrSchedule([ok, { ...ok, peakValue: NaN }]),
      RangeError,
      /sgdrSchedule: cycles\[1\]: peakValue must be finite, got NaN/,
    ],
    [
      () =>
        warmupConstantSchedule({
          initValue: 0,
          peakValue: Infinity,
          warmupSteps: 3,
        }),
      RangeError,
      /warmupConstantSchedule: peakValue must be finite/,
    ],
    [
      () =>
        warmupConstantSchedule({ initValue: 0, peakValue: 1, warmupSteps: 0 }),
      RangeError,
      /warmupConstantSchedule: warmupSteps must be a positive integer, got 0/,
    ],
    [
      () =>
        warmupExponentialDecaySchedule({
          initValue: 0,
          peakValue: 1,
          warmupSteps: 3,
          transitionSteps: 0,
          decayRate: 0.5,
        }),
      RangeError,
      /warmupExponentialDecaySchedule: transitionSteps must be a positive integer, got 0/,
    ],
    [
      () =>
        warmupExponentialDecaySchedule({
          initValue: 0,
          peakValue: 1,
          warmupSteps: 3,
          transitionSteps: 2,
          decayRate: 0.5,
          stairs: true,
        } as never),
      TypeError,
      /warmupExponentialDecaySchedule: unknown option "stairs"/,
    ],
    [
      () =>
        piecewiseInterpolateSchedule({
          interpolateType: "cubic" as "linear",
          initValue: 1,
        }),
      TypeError,
      /interpolateType must be "linear" or "cosine", got "cubic"/,
    ],
    [
      () =>
        piecewiseInterpolateSchedule({
          interpolateType: "linear",
          initValue: 1,
          boundariesAndScales: { 5: -0.1 },
        }),
      RangeError,
      /piecewiseInterpolateSchedule: scale at 5 must be in \[0, Infinity\], got -0.1/,
    ],
    [
      () =>
        piecewiseInterpolateSchedule({
          interpolateType: "linear",
          initValue: 1,
          boundariesAndScales: { 2.5: 1 },
        }),
      RangeError,
      /boundary 2.5 must be a non-negative integer/,
    ],
    [
      () =>
        cosineOnecycleSchedule({
          transitionSteps: 10,
          peakValue: 1,
          pctStart: 1,
        }),
      RangeError,
      /cosineOnecycleSchedule: pctStart must be in \[0, 1\), got 1/,
    ],
    [
      () =>
        cosineOnecycleSchedule({
          transitionSteps: 10,
          peakValue: 1,
          divFactor: 0,
        }),
      RangeError,
      /cosineOnecycleSchedule: divFactor must be in \(0, Infinity\], got 0/,
    ],
    [
      () => linearOnecycleSchedule({ transitionSteps: 0, peakValue: 1 }),
      RangeError,
      /linearOnecycleSchedule: transitionSteps must be a positive integer, got 0/,
    ],
    [
      () =>
        linearOnecycleSchedule({
          transitionSteps: 10,
          peakValue: 1,
          pctStart: 0.5,
          pctFinal: 0.55,
        }),
      RangeError,
      /linearOnecycleSchedule: floor\(pctStart \* transitionSteps\) \(5\) < floor\(pctFinal \* transitionSteps\) \(5\)/,
    ],
    [
      () =>
        linearOnecycleSchedule({
          transitionSteps: 10,
          peakValue: 1,
          finalDivFactor: 1e-46,
        }),
      RangeError,
      /linearOnecycleSchedule: finalDivFactor must be in \(0, Infinity\], got 1e-46 \(0 in float32\)/,
    ],
    // peakValue / divFactor = 1e41 is past float32: the interpolation's
    // error, addressed to the one-cycle schedule that was called.
    [
      () =>
        cosineOnecycleSchedule({
          transitionSteps: 10,
          peakValue: 1e38,
          divFactor: 1e-3,
        }),
      RangeError,
      /^cosineOnecycleSchedule: initValue must be finite in float32 .*got 1e\+41$/,
    ],
    [
      () =>
        linearOnecycleSchedule({
          transitionSteps: 10,
          peakValue: 1e38,
          divFactor: 1e-3,
        }),
      RangeError,
      /^linearOnecycleSchedule: initValue must be finite in float32 .*got 1e\+41$/,
    ],
  ];
  for (const [fn, kind, message] of bad) {
    assert.throws(
      fn,
      (e: Error) => e instanceof kind && message.test(e.message),
      String(message),
    );
  }
});

testOnBackends(
  "the new schedules reach their end values exactly, powers and cosines included",
  async () => {
    const cases: [string, Schedule, number[], number][] = [
      [
        "polynomialSchedule at and after the transition",
        polynomialSchedule({
          initValue: 1,
          endValue: 0.25,
          power: 2.5,
          transitionSteps: 7,
          transitionBegin: 2,
        }),
        [9, 10, 1000],
        0.25,
      ],
      [
        "cosineDecaySchedule with an exponent at and after decaySteps",
        cosineDecaySchedule(0.8, { decaySteps: 13, alpha: 0.5, exponent: 3 }),
        [13, 14, 500],
        0.4,
      ],
      [
        "sgdrSchedule after its last cycle",
        sgdrSchedule([
          { initValue: 0, peakValue: 1, warmupSteps: 1, decaySteps: 4 },
          {
            initValue: 1,
            peakValue: 1,
            warmupSteps: 0,
            decaySteps: 5,
            endValue: 0.125,
            exponent: 0.5,
          },
        ]),
        [9, 10, 99],
        0.125,
      ],
      [
        "cosineOnecycleSchedule after transitionSteps",
        cosineOnecycleSchedule({
          transitionSteps: 10,
          peakValue: 1,
          divFactor: 4,
          finalDivFactor: 2,
        }),
        [10, 11, 300],
        0.125,
      ],
      [
        "inverseTimeDecaySchedule with decayRate 0 is its initValue",
        inverseTimeDecaySchedule(0.3, { decaySteps: 3, decayRate: 0 }),
        [0, 7, 1e6],
        0.3,
      ],
      [
        "piecewiseInterpolateSchedule after a zero scale",
        piecewiseInterpolateSchedule({
          interpolateType: "cosine",
          initValue: 2,
          boundariesAndScales: { 3: 0 },
        }),
        [3, 4, 50],
        0,
      ],
    ];
    for (const [what, s, steps, end] of cases) {
      const t = tf.tidy(() =>
        tf.stack(steps.map((c) => s(tf.scalar(c, "float32"))))
      );
      const got = Array.from(await read(t));
      t.dispose();
      assert.deepEqual(got, steps.map(() => Math.fround(end)), what);
    }
  },
);
