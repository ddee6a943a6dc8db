// adadelta against tf.train.adadelta: tfjs 4.22 divides by the previous
// step's E[g²] (0 before the first step, so that sqrt(E[Δx²] + eps) /
// sqrt(E[g²] + eps) is 1), where Zeiler 2012 (Algorithm 1), optax, Keras and
// PyTorch divide by this step's. centra follows the paper; this test pins
// the difference down so that a tfjs that follows the paper fails it (then
// the row in testing/rows/adadelta.ts should get a tfjs parity case).
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { adadelta, initState, runUpdate } from "./mod.ts";
import { read, testOnBackends } from "@centra/testing/mod.ts";

testOnBackends(
  "adadelta() takes Zeiler's first step -lr g sqrt(eps / ((1 - ρ) g² + eps)), where tf.train.adadelta (tfjs 4.22) takes -lr g",
  async () => {
    const v = tf.variable(tf.zeros([2]), true, "adadeltaFirstStep/w");
    const opt = tf.train.adadelta(0.5, 0.95, 1e-3);
    const g = tf.tensor1d([2, -0.25]);
    opt.applyGradients([{ name: v.name, tensor: g }]);
    const theirs = Array.from(await read(v));
    const params = { w: tf.zeros([2]) };
    const tx = adadelta(0.5, { rho: 0.95, eps: 1e-3 });
    const state = initState(tx, params);
    const [u, next] = runUpdate(tx, { w: g }, state, params);
    const ours = Array.from(await read(u.w!));
    [2, -0.25].forEach((gi, i) => {
      const paper = -0.5 * gi * Math.sqrt(1e-3 / (0.05 * gi * gi + 1e-3));
      assert.ok(Math.abs(ours[i]! - paper) < 1e-6, `ours ${ours[i]}`);
      assert.equal(theirs[i], -0.5 * gi, `tf.train.adadelta ${theirs[i]}`);
    });
    opt.dispose();
    tf.dispose([v, g, params, u, next as tf.TensorContainer]);
  },
);
