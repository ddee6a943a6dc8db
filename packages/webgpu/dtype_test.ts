// Issue 12, items 4 and 12 on the fused path: int32 and bool variables or
// gradients, a disposed hyperparameter and a schedule that returns a
// non-scalar are refused by fuse(...) as by the op-by-op path, with the same
// TypeError, before anything changes.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adam,
  applyUpdates,
  initState,
  runStep,
  runUpdate,
  sgd,
} from "@centra/chain";
import { fuse } from "./mod.ts";
import { read, testOnBackends } from "@centra/testing/mod.ts";

let uid = 0;

async function refuses(
  fn: () => unknown,
  message: RegExp,
  keep: tf.Tensor[],
): Promise<void> {
  const values = await Promise.all(keep.map((t) => read(t)));
  const before = tf.memory().numTensors;
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof TypeError, `${e.name}: ${e.message}`);
    assert.match(e.message, message);
    return true;
  });
  assert.equal(tf.memory().numTensors, before, `leak on ${message}`);
  for (const [i, t] of keep.entries()) {
    assert.deepEqual(await read(t), values[i]);
  }
}

testOnBackends(
  "fuse(...) refuses int32 and bool variables and int32 gradients, as op by op",
  async () => {
    const n = uid++;
    const wi = tf.variable(tf.tensor1d([1, 2, 3], "int32"), true, `dt${n}/i`);
    const wb = tf.variable(tf.tensor1d([1, 0, 1], "bool"), true, `dt${n}/b`);
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, `dt${n}/w`);
    const ones = tf.ones([3]);
    const int = tf.tensor1d([1, 1, 1], "int32");
    for (const tx of [fuse(sgd(0.1, { momentum: 0.9 })), fuse(adam(0.1))]) {
      const s = initState(tx, {
        [w.name]: w,
        [wi.name]: ones,
        [wb.name]: ones,
      });
      await refuses(
        () => runStep(tx, { [wi.name]: ones }, s, { [wi.name]: wi }),
        new RegExp(`runStep: the variable "${wi.name}" is int32`),
        [wi],
      );
      await refuses(
        () => runStep(tx, { [wb.name]: ones }, s, { [wb.name]: wb }),
        new RegExp(`runStep: the variable "${wb.name}" is bool`),
        [wb],
      );
      await refuses(
        () => runStep(tx, { [w.name]: int }, s, { [w.name]: w }),
        new RegExp(`the gradient of "${w.name}" is int32; only float32`),
        [w],
      );
      await refuses(
        () => runUpdate(tx, { [w.name]: int }, s, { [w.name]: w }),
        new RegExp(`update "${w.name}" is int32`),
        [w],
      );
      tf.dispose(s as tf.TensorContainer);
    }
    await refuses(
      () => applyUpdates({ [w.name]: w }, { [w.name]: int }),
      /update .* is int32/,
      [w],
    );
    tf.dispose([wi, wb, w, ones, int]);
  },
);

testOnBackends(
  "fuse(...) names a disposed hyperparameter and a schedule that returns a non-scalar",
  async () => {
    const n = uid++;
    const w = tf.variable(tf.tensor1d([1, 2]), true, `dt${n}/w`);
    const vars = { [w.name]: w };
    const g = { [w.name]: tf.ones([2]) };
    const lr = tf.scalar(0.1);
    const tx = fuse(sgd(lr, { momentum: 0.9 }));
    const s = initState(tx, vars);
    lr.dispose();
    await refuses(
      () => runStep(tx, g, s, vars),
      /hyperparameter "learningRate" must be a live float32 scalar, got a disposed/,
      [w],
    );
    const columns = fuse(
      sgd(() => tf.tensor1d([0.1, 0.2]) as unknown as tf.Scalar),
    );
    const cs = initState(columns, vars);
    await refuses(
      () => runStep(columns, g, cs, vars),
      /must be a live float32 scalar, got a float32 tensor of shape \[2\]/,
      [w],
    );
    tf.dispose([w, g[w.name]!]);
    tf.dispose([s as tf.TensorContainer, cs as tf.TensorContainer]);
  },
);
