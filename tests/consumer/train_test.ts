import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adamw,
  checkTfjs,
  initState,
  runUpdate,
  supportedTfjs,
} from "@centra/chain";
import { fuse } from "@centra/webgpu";
import { train } from "./train.ts";

Deno.test("a custom chain trains a @centra/zoo model through model.fit", async () => {
  await tf.setBackend("cpu");
  const before = tf.memory().numTensors;
  const r = await train(6, 0.01);
  assert.equal(r.loss.length, 6);
  assert.ok(
    r.loss.at(-1)! < 0.5 * r.loss[0]!,
    `loss should at least halve: ${r.loss}`,
  );
  // 64 examples in batches of 16: 4 steps per epoch.
  assert.equal(r.batches, 24);
  assert.equal(r.updates, 24);
  // learningRateLogger reads the hand-built chain's scaleByLearningRate.
  assert.deepEqual(r.lr, Array(6).fill(0.01));
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("centra shares this project's tfjs", () => {
  // The project pins tfjs 4.21.0 while centra's workspace locks 4.22.0: the
  // caret range in centra's imports lets npm resolution share one copy.
  assert.equal(tf.version.tfjs, "4.21.0");
  assert.equal(tf.version_core, "4.21.0");
  assert.match(supportedTfjs, /^\^4\./);
  checkTfjs();
});

Deno.test("fuse() gives the chain's own update on the cpu backend", async () => {
  await tf.setBackend("cpu");
  const params = { "dense/kernel": tf.ones([3, 2]) };
  const grads = { "dense/kernel": tf.tensor2d([[1, -2], [3, 0.5], [0, 4]]) };
  const plain = adamw(0.01, { gc: true });
  const fused = fuse(plain);
  const [a] = runUpdate(plain, grads, initState(plain, params), params);
  const [b] = runUpdate(fused, grads, initState(fused, params), params);
  assert.deepEqual(
    Array.from(await b["dense/kernel"]!.data()),
    Array.from(await a["dense/kernel"]!.data()),
  );
});
