// The checkpoint format on its own: no model, no step. A state is built
// with prepare/commit, saved with weights, and taken back with load.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { injectHyperparams, sgd } from "@centra/chain";
import { testOnBackends } from "@centra/testing/mod.ts";
import { StateCheckpoint } from "./_state_checkpoint.ts";

const momentumSgd = () =>
  injectHyperparams((hp) => sgd(hp.learningRate, { momentum: 0.9 }), {
    learningRate: 0.1,
  });

async function values(
  list: Array<{ name: string; tensor: tf.Tensor }>,
): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const { name, tensor } of list) {
    out[name] = Array.from(await tensor.data());
  }
  return out;
}

/** A float32 variable of zeros of length `n` (its initial value freed). */
function variable(n: number, name: string): tf.Variable {
  return tf.tidy(() => tf.variable(tf.zeros([n]), true, name));
}

/** Prepares and commits the state for `names` without taking a step. */
function build(ck: StateCheckpoint, names: string[]): void {
  const prepared = ck.prepare(names);
  ck.commit(prepared.state, prepared);
}

testOnBackends(
  "StateCheckpoint names the step count iter, shared tensors state/<path> and per-variable ones <variable>/<path>",
  async () => {
    const w = variable(2, "ckpt_test_names/w");
    const ck = new StateCheckpoint(momentumSgd());
    // before the first step: the shared part only, with its initial values
    ck.shared();
    assert.deepEqual(await values(ck.weights(0)), {
      "iter": [0],
      "state/count": [0],
      "state/hyperparams/learningRate": [Math.fround(0.1)],
    });
    build(ck, [w.name]);
    assert.deepEqual(ck.known, [w.name]);
    assert.deepEqual(ck.shapeOf(w.name), [2]);
    const saved = ck.weights(7);
    assert.deepEqual(saved.map((x) => x.name), [
      "iter",
      "state/count",
      "state/hyperparams/learningRate",
      "ckpt_test_names/w/inner/1/trace",
    ]);
    assert.equal(saved[0]!.tensor.dtype, "int32");
    assert.deepEqual(await values(saved.slice(0, 1)), { iter: [7] });
    ck.dispose();
    w.dispose();
  },
);

testOnBackends(
  "StateCheckpoint.load restores shared state at once and a renamed variable's state at its first prepare",
  async () => {
    const start = tf.memory().numTensors;
    // a checkpoint written by hand in the documented format, for "ck/w";
    // the variable is now "ck/w_1", as tfjs renames it on a second load
    const checkpoint = [
      { name: "iter", tensor: tf.scalar(5, "int32") },
      { name: "state/count", tensor: tf.scalar(5) },
      { name: "state/hyperparams/learningRate", tensor: tf.scalar(0.5) },
      { name: "ckpt_test_load/w/inner/1/trace", tensor: tf.tensor1d([3, 4]) },
    ];
    const w = variable(2, "ckpt_test_load/w_1");
    const ck = new StateCheckpoint(momentumSgd());
    assert.equal(await ck.load(checkpoint), 5);
    // copied: the caller may dispose its own
    tf.dispose(checkpoint.map((c) => c.tensor));
    assert.deepEqual(await values(ck.weights(5)), {
      "iter": [5],
      "state/count": [5],
      "state/hyperparams/learningRate": [0.5],
      // not claimed yet, so kept: a save now loses nothing
      "ckpt_test_load/w/inner/1/trace": [3, 4],
    });
    build(ck, [w.name]);
    assert.deepEqual(await values(ck.weights(5)), {
      "iter": [5],
      "state/count": [5],
      "state/hyperparams/learningRate": [0.5],
      "ckpt_test_load/w_1/inner/1/trace": [3, 4],
    });
    ck.dispose();
    w.dispose();
    assert.equal(tf.memory().numTensors, start);
  },
);

testOnBackends(
  "StateCheckpoint refuses a bad checkpoint and a missing entry, changing nothing",
  async () => {
    const w = variable(2, "ckpt_test_bad/w");
    const ck = new StateCheckpoint(momentumSgd());
    build(ck, [w.name]);
    const before = await values(ck.weights(1));
    const t = tf.scalar(1);
    const count = tf.memory().numTensors;
    await assert.rejects(
      () => ck.load([{ name: "x", tensor: t }, { name: "x", tensor: t }]),
      /"x" appears twice/,
    );
    await assert.rejects(
      () => ck.load("nope" as never),
      /expected a list of \{ name, tensor \}, got nope/,
    );
    assert.equal(tf.memory().numTensors, count);
    assert.deepEqual(await values(ck.weights(1)), before);

    // the saved state lacks the variable's slot: the first prepare names it
    const loaded = new StateCheckpoint(momentumSgd());
    await loaded.load([
      { name: "state/count", tensor: t },
      { name: "state/hyperparams/learningRate", tensor: t },
      { name: "other/inner/1/trace", tensor: tf.zeros([2]) },
    ]);
    const held = tf.memory().numTensors;
    assert.throws(
      () => loaded.prepare([w.name]),
      /the saved state has no "ckpt_test_bad\/w\/inner\/1\/trace"/,
    );
    assert.equal(tf.memory().numTensors, held);
    for (const c of [ck, loaded]) c.dispose();
    tf.dispose(t);
    w.dispose();
  },
);

testOnBackends(
  "StateCheckpoint.discard frees what prepare built for a new variable and keeps the rest",
  async () => {
    const a = variable(2, "ckpt_test_discard/a");
    const b = variable(3, "ckpt_test_discard/b");
    const ck = new StateCheckpoint(momentumSgd());
    build(ck, [a.name]);
    const before = await values(ck.weights(1));
    const count = tf.memory().numTensors;
    const prepared = ck.prepare([a.name, b.name]);
    assert.deepEqual(prepared.known, [a.name, b.name]);
    ck.discard(prepared.state);
    assert.equal(tf.memory().numTensors, count);
    assert.deepEqual(ck.known, [a.name]);
    assert.deepEqual(await values(ck.weights(1)), before);
    ck.dispose();
    tf.dispose([a, b]);
  },
);
