import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  disposeState,
  fuse,
  initState,
  injectHyperparams,
  runStep,
  runUpdate,
  warmupCosineDecaySchedule,
} from "./mod.ts";
import { testOnBackends } from "@centra/testing/mod.ts";
import {
  makeOptimizer,
  OPTIMIZER_ROWS,
} from "@centra/testing/optimizer_table.ts";

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

Deno.test(
  "every optimizer of the table, with GC, op by op and fused, keeps tf.memory().numTensors flat over 1,000 steps [cpu]",
  async () => {
    await tf.setBackend("cpu");
    for (const [name, row] of OPTIMIZER_ROWS) {
      const v = row.fused[0] ?? row.agreement[0]!;
      for (const fused of [false, true]) {
        const prefix = `mem_table_${id++}`;
        const vars: Record<string, tf.Variable> = {
          [`${prefix}/dense/kernel`]: tf.variable(
            tf.randomNormal([4, 3], 0, 1, "float32", 7),
            true,
            `${prefix}/dense/kernel`,
          ),
          [`${prefix}/dense/bias`]: tf.variable(
            tf.zeros([3]),
            true,
            `${prefix}/dense/bias`,
          ),
        };
        const plain = makeOptimizer(name, v.lr * 0.01, {
          ...v.options,
          gc: true,
        });
        const tx = fused ? fuse(plain) : plain;
        const before = tf.memory().numTensors;
        let state = initState(tx, vars);
        const counts: number[] = [];
        for (let step = 0; step < 1000; step++) {
          const grads = tf.tidy(() => {
            const out: Record<string, tf.Tensor> = {};
            for (const [k, x] of Object.entries(vars)) {
              out[k] = tf.randomNormal(x.shape, 0, 1, "float32", step);
            }
            return out;
          });
          state = runStep(tx, grads, state, vars);
          tf.dispose(grads);
          counts.push(tf.memory().numTensors);
        }
        const what = `${name}${fused ? ", fused" : ""}`;
        // flat after the first step (a count or a lazily built slot may
        // appear there), and nothing left once the state is disposed
        assert.ok(
          counts.slice(1).every((c) => c === counts[1]),
          `${what}: tensor count moved: ${counts[1]} .. ${counts.at(-1)}`,
        );
        for (const x of Object.values(vars)) {
          assert.ok(
            (await x.data()).every(Number.isFinite),
            `${what}: non-finite weights`,
          );
        }
        disposeState(state);
        tf.dispose(Object.values(vars));
        assert.equal(tf.memory().numTensors, before - 2, what);
      }
    }
  },
);
