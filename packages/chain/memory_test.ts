import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  disposeState,
  initState,
  injectHyperparams,
  runUpdate,
  warmupCosineDecaySchedule,
} from "./mod.ts";
import { testOnBackends } from "@centra/testing/mod.ts";

let id = 0;
testOnBackends(
  "adamw + GC + clipByGlobalNorm keeps tf.memory().numTensors flat over 1,000 steps",
  () => {
    const prefix = `mem${id++}`;
    const vars: Record<string, tf.Variable> = {
      [`${prefix}/conv/kernel`]: tf.variable(
        tf.randomNormal([3, 3, 2, 4]),
        true,
        `${prefix}/conv/kernel`,
      ),
      [`${prefix}/conv/bias`]: tf.variable(
        tf.zeros([4]),
        true,
        `${prefix}/conv/bias`,
      ),
      [`${prefix}/dense/kernel`]: tf.variable(
        tf.randomNormal([8, 3]),
        true,
        `${prefix}/dense/kernel`,
      ),
    };
    const tx = chain(
      clipByGlobalNorm(1),
      injectHyperparams(
        (hp) => adamw(hp.learningRate, { weightDecay: 1e-4, gc: true }),
        {
          learningRate: warmupCosineDecaySchedule({
            initValue: 0,
            peakValue: 1e-3,
            warmupSteps: 10,
            decaySteps: 1000,
          }),
        },
      ),
    );
    const before = tf.memory().numTensors;
    let state = initState(tx, vars);
    const afterInit = tf.memory().numTensors;
    const counts: number[] = [];
    for (let step = 0; step < 1000; step++) {
      const grads = tf.tidy(() => {
        const out: Record<string, tf.Tensor> = {};
        for (const [k, v] of Object.entries(vars)) {
          out[k] = tf.randomNormal(v.shape);
        }
        return out;
      });
      const [updates, next] = runUpdate(tx, grads, state, vars);
      state = next;
      applyUpdates(vars, updates);
      tf.dispose([updates, Object.values(grads)]);
      if (step % 100 === 99) counts.push(tf.memory().numTensors);
    }
    assert.ok(
      counts.every((c) => c === afterInit),
      `numTensors over time: ${afterInit} then ${counts.join(", ")}`,
    );
    disposeState(state);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose(Object.values(vars));
  },
);
