// Every JSON schedule is the schedule of @centra/chain it names (checked
// there against float64 closed forms), value for value at every step; a
// ChainOptimizer saved with one rebuilds it; bad JSON is named.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  cosineDecaySchedule,
  cosineOnecycleSchedule,
  inverseTimeDecaySchedule,
  linearOnecycleSchedule,
  piecewiseInterpolateSchedule,
  polynomialSchedule,
  type Schedule,
  sgdrSchedule,
  warmupConstantSchedule,
  warmupCosineDecaySchedule,
  warmupExponentialDecaySchedule,
} from "@centra/chain";
import { read, testOnBackends } from "@centra/testing/mod.ts";
import { scheduleFromJson } from "./_schedule_json.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import type { JsonObject } from "./_json.ts";

const cycles = [
  { initValue: 0, peakValue: 1, warmupSteps: 2, decaySteps: 10 },
  {
    initValue: 0.5,
    peakValue: 0.5,
    warmupSteps: 0,
    decaySteps: 9,
    endValue: 0.1,
    exponent: 2,
  },
];

/** JSON specs and the schedule each must be. */
const CASES: [JsonObject, () => Schedule][] = [
  [
    {
      schedule: "polynomial",
      initValue: 1,
      endValue: 0.1,
      power: 3,
      transitionSteps: 20,
      transitionBegin: 4,
    },
    () =>
      polynomialSchedule({
        initValue: 1,
        endValue: 0.1,
        power: 3,
        transitionSteps: 20,
        transitionBegin: 4,
      }),
  ],
  [
    {
      schedule: "inverseTimeDecay",
      initValue: 0.5,
      decaySteps: 5,
      decayRate: 2,
      staircase: true,
    },
    () =>
      inverseTimeDecaySchedule(0.5, {
        decaySteps: 5,
        decayRate: 2,
        staircase: true,
      }),
  ],
  [
    {
      schedule: "cosineDecay",
      initValue: 0.3,
      decaySteps: 25,
      alpha: 0.1,
      exponent: 1.5,
    },
    () =>
      cosineDecaySchedule(0.3, { decaySteps: 25, alpha: 0.1, exponent: 1.5 }),
  ],
  [
    {
      schedule: "warmupCosineDecay",
      initValue: 0,
      peakValue: 1,
      warmupSteps: 3,
      decaySteps: 30,
      exponent: 2,
    },
    () =>
      warmupCosineDecaySchedule({
        initValue: 0,
        peakValue: 1,
        warmupSteps: 3,
        decaySteps: 30,
        exponent: 2,
      }),
  ],
  [{ schedule: "sgdr", cycles }, () => sgdrSchedule(cycles)],
  [
    { schedule: "warmupConstant", initValue: 0, peakValue: 2, warmupSteps: 7 },
    () =>
      warmupConstantSchedule({ initValue: 0, peakValue: 2, warmupSteps: 7 }),
  ],
  [
    {
      schedule: "warmupExponentialDecay",
      initValue: 0.1,
      peakValue: 1,
      warmupSteps: 5,
      transitionSteps: 3,
      decayRate: 0.5,
      transitionBegin: 2,
      staircase: true,
      endValue: 0.05,
    },
    () =>
      warmupExponentialDecaySchedule({
        initValue: 0.1,
        peakValue: 1,
        warmupSteps: 5,
        transitionSteps: 3,
        decayRate: 0.5,
        transitionBegin: 2,
        staircase: true,
        endValue: 0.05,
      }),
  ],
  [
    {
      schedule: "piecewiseInterpolate",
      interpolateType: "cosine",
      initValue: 1,
      boundariesAndScales: { "5": 0.5, "20": 4 },
    },
    () =>
      piecewiseInterpolateSchedule({
        interpolateType: "cosine",
        initValue: 1,
        boundariesAndScales: { 5: 0.5, 20: 4 },
      }),
  ],
  [
    {
      schedule: "cosineOnecycle",
      transitionSteps: 40,
      peakValue: 0.1,
      pctStart: 0.25,
      divFactor: 10,
      finalDivFactor: 100,
    },
    () =>
      cosineOnecycleSchedule({
        transitionSteps: 40,
        peakValue: 0.1,
        pctStart: 0.25,
        divFactor: 10,
        finalDivFactor: 100,
      }),
  ],
  [
    { schedule: "linearOnecycle", transitionSteps: 40, peakValue: 0.1 },
    () => linearOnecycleSchedule({ transitionSteps: 40, peakValue: 0.1 }),
  ],
];

const STEPS = Array.from({ length: 50 }, (_, i) => i);

async function values(s: Schedule): Promise<number[]> {
  const t = tf.tidy(() =>
    tf.stack(STEPS.map((c) => s(tf.scalar(c, "float32"))))
  );
  const out = Array.from(await read(t));
  t.dispose();
  return out;
}

testOnBackends(
  "scheduleFromJson() builds each new schedule as @centra/chain does, value for value",
  async () => {
    for (const [spec, schedule] of CASES) {
      assert.deepEqual(
        await values(scheduleFromJson("test", spec)),
        await values(schedule()),
        String(spec.schedule),
      );
    }
  },
);

Deno.test("ChainOptimizer.from() saves a new schedule and fromConfig rebuilds it", async () => {
  await tf.setBackend("cpu"); // dataSync below
  for (const [spec] of CASES) {
    const opt = ChainOptimizer.from("sgd", { learningRate: spec });
    const config = opt.getConfig();
    const back = ChainOptimizer.fromConfig(
      ChainOptimizer,
      config,
    ) as ChainOptimizer;
    assert.deepEqual(back.spec, opt.spec);
    const w = tf.variable(
      tf.zeros([1]),
      true,
      `schedule_json_${spec.schedule}`,
    );
    const lrs: number[][] = [[], []];
    for (const [i, o] of [opt, back].entries()) {
      for (let k = 0; k < 12; k++) {
        const g = tf.ones([1]);
        const before = w.dataSync()[0]!;
        o.applyGradients({ [w.name]: g });
        lrs[i]!.push(before - w.dataSync()[0]!);
        g.dispose();
      }
      w.assign(tf.zeros([1]));
    }
    assert.deepEqual(lrs[0], lrs[1], String(spec.schedule));
    w.dispose();
    opt.dispose();
    back.dispose();
  }
});

Deno.test("scheduleFromJson() names what is wrong in a new schedule", () => {
  const bad: [JsonObject, typeof TypeError, RegExp][] = [
    [
      { schedule: "sgdr", cycles: [] },
      TypeError,
      /cycles must be a non-empty array/,
    ],
    [
      { schedule: "sgdr", cycles: [{ ...cycles[0]!, warm: 1 }] },
      TypeError,
      /cycles\[0\]: unknown option "warm" for cycle/,
    ],
    [
      { schedule: "sgdr", cycles: [{ ...cycles[0]!, decaySteps: "10" }] },
      TypeError,
      /cycles\[0\]: decaySteps must be a number, got "10"/,
    ],
    [
      {
        schedule: "sgdr",
        cycles: [cycles[0]!, { ...cycles[1]!, decaySteps: 0 }],
      },
      RangeError,
      /sgdrSchedule: cycles\[1\]: decaySteps must be a positive integer, got 0/,
    ],
    [
      {
        schedule: "piecewiseInterpolate",
        interpolateType: "spline",
        initValue: 1,
      },
      TypeError,
      /interpolateType must be "linear" or "cosine", got "spline"/,
    ],
    [
      {
        schedule: "inverseTimeDecay",
        initValue: 1,
        decaySteps: 2,
        decayRate: 1,
        staircase: "yes",
      },
      TypeError,
      /staircase must be a boolean, got "yes"/,
    ],
    [
      { schedule: "polynomial", initValue: 1, endValue: 0, transitionSteps: 3 },
      TypeError,
      /power must be a number, got undefined/,
    ],
    [
      {
        schedule: "linearOnecycle",
        transitionSteps: 10,
        peakValue: 1,
        pctFinal: 1.5,
      },
      RangeError,
      /linearOnecycleSchedule: pctFinal must be in \[0, 1\), got 1.5/,
    ],
    [
      {
        schedule: "cosineOnecycle",
        transitionSteps: 10,
        peakValue: 1,
        pctEnd: 0.5,
      },
      TypeError,
      /unknown option "pctEnd" for cosineOnecycle/,
    ],
  ];
  for (const [spec, kind, message] of bad) {
    assert.throws(
      () => ChainOptimizer.from("adam", { learningRate: spec }),
      (e: Error) => e instanceof kind && message.test(e.message),
      String(message),
    );
  }
});
