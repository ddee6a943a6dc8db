// Bad input fails with a TypeError or RangeError that names the bad value,
// before anything changes: weights and state stay exactly as they were.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adamw,
  adaptiveGradClip,
  addDecayedWeights,
  applyUpdates,
  clipByGlobalNorm,
  clipByNorm,
  clipByValue,
  cosineDecaySchedule,
  ema,
  initState,
  joinSchedules,
  masked,
  runUpdate,
  scaleByAdam,
  scaleByLearningRate,
  sgd,
  trace,
} from "./mod.ts";
import type { GradientTransformation } from "./types.ts";
import type { TraceState } from "./trace.ts";
import { read, testOnBackends } from "@centra/testing/mod.ts";
import {
  makeOptimizer,
  OPTIMIZER_ROWS,
} from "@centra/testing/optimizer_table.ts";

Deno.test("optimizers reject negative, NaN and infinite hyperparameters with a RangeError naming them", () => {
  const bad: [() => unknown, RegExp][] = [
    // every optimizer's bad hyperparameters (testing/optimizer_table.ts)
    ...OPTIMIZER_ROWS.flatMap(([name, row]) =>
      row.errors.map((c): [() => unknown, RegExp] => [
        () => makeOptimizer(name, c.lr, c.options),
        c.message,
      ])
    ),
    [() => clipByGlobalNorm(0), /maxNorm must be in \(0, Infinity\], got 0/],
    [() => clipByNorm(-1), /maxNorm/],
    [() => clipByValue(NaN), /maxDelta must be finite, got NaN/],
    [() => adaptiveGradClip(0), /clipping must be in \(0, Infinity\], got 0/],
    [() => trace(-0.5), /decay must be in \[0, 1\], got -0.5/],
    [() => ema(1.1), /decay must be in \[0, 1\], got 1.1/],
    [() => scaleByAdam({ epsRoot: -1 }), /epsRoot/],
    [() => addDecayedWeights(NaN), /weightDecay must be finite, got NaN/],
    [() => scaleByLearningRate(-1), /learningRate must be in/],
    [
      () => cosineDecaySchedule(0.1, { decaySteps: 0 }),
      /decaySteps must be a positive integer, got 0/,
    ],
    [() => joinSchedules([], []), /one more schedule than boundaries/],
  ];
  for (const [fn, message] of bad) {
    assert.throws(
      fn,
      (e: Error) => e instanceof RangeError && message.test(e.message),
    );
  }
  assert.throws(
    () => sgd(0.1, { gc: "dense" as unknown as boolean }),
    /gc must be true, false, "conv"/,
  );
  assert.throws(
    () => sgd(0.1, { gcOn: "weights" as "update" }),
    /gcOn must be "gradient" or "update", got weights/,
  );
});

let id = 0;
testOnBackends(
  "a failed step names the bad parameter and leaves weights and state untouched",
  async () => {
    const p = `err${id++}`;
    const vars = {
      [`${p}/kernel`]: tf.variable(tf.ones([3, 2]), true, `${p}/kernel`),
      [`${p}/bias`]: tf.variable(tf.zeros([2]), true, `${p}/bias`),
    };
    const tx = adamw(0.1, { gc: true });
    let state = initState(tx, vars);
    const made: tf.Tensor[] = [];
    const good = () => {
      const g = {
        [`${p}/kernel`]: tf.ones([3, 2]),
        [`${p}/bias`]: tf.ones([2]),
      };
      made.push(...Object.values(g));
      return g;
    };
    let u;
    [u, state] = runUpdate(tx, good(), state, vars);
    applyUpdates(vars, u);
    tf.dispose(u);
    const snapshot = async () =>
      JSON.stringify(
        await Promise.all([...Object.values(vars)].map((v) => read(v))),
      );
    const weights = await snapshot();
    const stateTensors =
      (state as unknown[]).flatMap((s) => Object.values(s as object)).length;
    const numTensors = tf.memory().numTensors;

    const cases: [Record<string, tf.Tensor>, RegExp][] = [
      [
        { [`${p}/kernel`]: tf.ones([3, 2]), ghost: tf.ones([2]) },
        /unknown parameter name "ghost"/,
      ],
      [
        { [`${p}/kernel`]: tf.ones([2, 3]) },
        new RegExp(
          `"${p}/kernel" has shape \\[2,3\\] but the parameter has \\[3,2\\]`,
        ),
      ],
    ];
    for (const [g, message] of cases) {
      assert.throws(
        () => runUpdate(tx, g, state, vars),
        (e: Error) => e instanceof TypeError && message.test(e.message),
      );
      tf.dispose(Object.values(g));
    }
    // a missing parameter in params, for a transform that needs them
    const needsParams = masked(addDecayedWeights(0.1), () => true);
    const ns = initState(needsParams, vars);
    assert.throws(
      () =>
        runUpdate(needsParams, good(), ns, {
          [`${p}/kernel`]: vars[`${p}/kernel`]!,
        }),
      /missing parameter/,
    );
    assert.throws(() => runUpdate(needsParams, good(), ns), /needs params/);
    // applyUpdates checks every update before assigning any
    const partBad = {
      [`${p}/bias`]: tf.ones([2]),
      [`${p}/kernel`]: tf.ones([9]),
    };
    assert.throws(
      () => applyUpdates(vars, partBad),
      /"err\d+\/kernel" has shape \[9\]/,
    );
    const stray = { nothing: tf.ones([2]) };
    assert.throws(
      () => applyUpdates(vars, stray),
      /no variable named "nothing"/,
    );
    tf.dispose([Object.values(partBad), stray.nothing]);

    assert.equal(await snapshot(), weights, "weights unchanged");
    assert.equal(
      (state as unknown[]).flatMap((s) => Object.values(s as object)).length,
      stateTensors,
    );
    for (const t of collect(state)) {
      assert.equal(t.isDisposed, false, "state tensors still alive");
    }
    // the state still works after the failures
    tf.dispose(made.splice(0));
    assert.equal(
      tf.memory().numTensors,
      numTensors - 2,
      "no tensors leaked by the failed steps",
    );
    [u, state] = runUpdate(tx, good(), state, vars);
    applyUpdates(vars, u);
    tf.dispose([u, made]);
  },
);

function collect(x: unknown, out: tf.Tensor[] = []): tf.Tensor[] {
  if (x instanceof tf.Tensor) out.push(x);
  else if (x !== null && typeof x === "object") {
    for (const v of Object.values(x)) {
      collect(v, out);
    }
  }
  return out;
}

testOnBackends(
  "runUpdate refuses an update whose shape or name does not match, keeping the old state",
  async () => {
    const inner = trace(0.9);
    const reshape: GradientTransformation<TraceState> = {
      init: (p) => inner.init(p),
      update: (u, s) => {
        const [out, next] = inner.update(u, s);
        return [{ w: tf.reshape(out.w!, [4]) }, next];
      },
    };
    const rename: GradientTransformation<TraceState> = {
      init: (p) => inner.init(p),
      update: (u, s) => {
        const [out, next] = inner.update(u, s);
        return [{ other: out.w! }, next];
      },
    };
    const params = { w: tf.zeros([2, 2]) };
    const state = initState(inner, params);
    const g = { w: tf.ones([2, 2]) };
    const trace0 = await read(state.trace.w!);
    const n0 = tf.memory().numTensors;
    assert.throws(
      () => runUpdate(reshape, g, state),
      (e: unknown) =>
        e instanceof TypeError &&
        /shape \[4\] for "w", whose gradient has shape \[2,2\]/.test(e.message),
    );
    assert.throws(
      () => runUpdate(rename, g, state),
      (e: unknown) => e instanceof TypeError && /"other"/.test(e.message),
    );
    assert.equal(tf.memory().numTensors, n0);
    assert.equal(state.trace.w!.isDisposed, false);
    assert.deepEqual(await read(state.trace.w!), trace0);
    tf.dispose([params.w, g.w, state.trace.w!]);
  },
);
