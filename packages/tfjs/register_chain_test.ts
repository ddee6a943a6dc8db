import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initState, runUpdate, scale } from "@centra/chain";
import { assertClose, testOnBackends } from "@centra/testing/mod.ts";
import { OPTIMIZER_ROWS } from "@centra/testing/optimizer_table.ts";
import { buildChain, chainNames, registerChain } from "./register_chain.ts";

/** The first entry of the first `n` updates, and whether each points downhill. */
async function firstSteps(
  name: string,
  options: Record<string, unknown>,
  n = 3,
  grad: () => tf.Tensor = () => tf.fill([2, 3], 1),
): Promise<number[]> {
  const tx = buildChain(name, options as never);
  const w = tf.ones([2, 3]);
  let state = initState(tx, { w });
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const g = grad();
    const [u, next] = runUpdate(tx, { w: g }, state, { w });
    state = next;
    out.push((await u.w!.data())[0]!);
    const slope = tf.sum(tf.mul(u.w!, g));
    assert.ok(
      (await slope.data())[0]! <= 1e-9,
      `${name} step ${i} goes downhill`,
    );
    tf.dispose([u.w!, g, slope]);
  }
  tf.dispose([w, state as tf.TensorContainer]);
  return out;
}

testOnBackends(
  "buildChain() builds every built-in from JSON options",
  async () => {
    // every optimizer's JSON settings of the table (testing/optimizer_table.ts)
    const cases: Array<[string, Record<string, unknown>]> = OPTIMIZER_ROWS
      .flatMap(([name, row]) =>
        row.json.map((o): [string, Record<string, unknown>] => [name, o])
      );
    for (const [name, options] of cases) {
      const steps = await firstSteps(
        name,
        options,
        3,
        () => tf.tensor2d([[1, 2, 3], [4, 6, 5]]),
      );
      assert.ok(steps.every(Number.isFinite), `${name}: ${steps}`);
    }
    // Plain SGD, exactly: -lr * g.
    assert.deepEqual(await firstSteps("sgd", { learningRate: 0.5 }, 2), [
      -0.5,
      -0.5,
    ]);
  },
);

testOnBackends("buildChain() reads every schedule kind", async () => {
  const lr = async (schedule: Record<string, unknown>) =>
    await firstSteps("sgd", { learningRate: schedule }, 3);
  assertClose(await lr({ schedule: "constant", value: 0.2 }), [
    -0.2,
    -0.2,
    -0.2,
  ]);
  assertClose(
    await lr({
      schedule: "piecewiseConstant",
      initValue: 1,
      boundariesAndScales: { "1": 0.5, "2": 0.5 },
    }),
    [
      -1,
      -0.5,
      -0.25,
    ],
  );
  assertClose(
    await lr({ schedule: "stepDecay", initValue: 1, stepSize: 2, gamma: 0.1 }),
    [-1, -1, -0.1],
  );
  assertClose(
    await lr({
      schedule: "exponentialDecay",
      initValue: 1,
      transitionSteps: 1,
      decayRate: 0.5,
    }),
    [
      -1,
      -0.5,
      -0.25,
    ],
  );
  assertClose(
    await lr({ schedule: "cosineDecay", initValue: 1, decaySteps: 2 }),
    [-1, -0.5, 0],
  );
  assertClose(
    await lr({
      schedule: "warmupCosineDecay",
      initValue: 0,
      peakValue: 1,
      warmupSteps: 1,
      decaySteps: 3,
    }),
    [0, -1, -0.5],
  );
  assertClose(
    await lr({
      schedule: "linear",
      initValue: 1,
      endValue: 0,
      transitionSteps: 2,
    }),
    [-1, -0.5, 0],
  );
});

Deno.test("buildChain() and registerChain() name what is wrong", () => {
  assert.throws(
    () => buildChain("sgd", {}),
    /learningRate must be a number or a schedule/,
  );
  // a misspelled learningRate is an unknown option, not a missing rate
  assert.throws(
    () => buildChain("adamw", { learningRat: 1e-3 }),
    (e: unknown) =>
      e instanceof TypeError &&
      /unknown option "learningRat" \(known: learningRate,/.test(e.message),
  );
  assert.throws(
    () => buildChain("sgd", { learningRate: 0.1, momentum: "high" }),
    /momentum must be a number/,
  );
  assert.throws(
    () => buildChain("sgd", { learningRate: 0.1, gc: "yes" }),
    /gc must be true, false or "conv"/,
  );
  assert.throws(
    () => buildChain("adam", { learningRate: { schedule: "wavy" } }),
    /"schedule" must be one of/,
  );
  assert.throws(
    () =>
      buildChain("adam", {
        learningRate: { schedule: "cosineDecay", initValue: 1 },
      }),
    /decaySteps must be a number/,
  );
  assert.throws(
    () =>
      buildChain("adam", {
        learningRate: {
          schedule: "cosineDecay",
          initValue: 1,
          decaySteps: 2,
          warm: 1,
        },
      }),
    /unknown option "warm" for cosineDecay/,
  );
  assert.throws(
    () => buildChain("sgd", { learningRate: Number.NaN }),
    /finite/,
  );
  assert.throws(
    () => buildChain("sgd", { learningRate: 0.1, momentum: 1.5 }),
    RangeError,
  );
  assert.throws(
    () => buildChain("sgd", { learningRate: () => 1 } as never),
    /plain JSON/,
  );
  assert.throws(() => registerChain("sgd", () => scale(1)), /built-in/);
  registerChain("register_chain_test/twice", () => scale(1));
  assert.throws(
    () => registerChain("register_chain_test/twice", () => scale(1)),
    /already registered/,
  );
  assert.throws(() => registerChain("", () => scale(1)), TypeError);
  assert.throws(() => registerChain("x", 3 as never), TypeError);
  assert.ok(chainNames().includes("register_chain_test/twice"));
});
