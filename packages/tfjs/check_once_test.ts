// ChainOptimizer's step checks its gradients in @centra/chain once (issue
// 14, item 4): `checkPasses` counts @centra/chain's name-by-name checks of
// a step's gradients. `readGradients` (this package's own check, with its
// own messages) runs before it; a bad gradient is refused by name either way
// and changes nothing.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { read, testOnBackends } from "@centra/testing/mod.ts";
import { adamw } from "@centra/chain/optimizers";
import { checkPasses } from "../chain/_structure.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";

let id = 0;

/** A [4,3] kernel and a bias, with unique names. */
function makeVars(): tf.Variable[] {
  const p = `tfjs_check_once_test/${id++}`;
  return tf.tidy(() => [
    tf.variable(tf.ones([4, 3]), true, `${p}/kernel`),
    tf.variable(tf.ones([3]), true, `${p}/bias`),
  ]);
}

/** The variables and the optimizer's saved state, read. */
async function snapshot(
  vars: tf.Variable[],
  opt: ChainOptimizer,
): Promise<string> {
  const weights = (await opt.getWeights()).map((w) => w.tensor);
  const values = await Promise.all([...vars, ...weights].map(read));
  return JSON.stringify(values.map((v) => [...v]));
}

testOnBackends(
  "ChainOptimizer (adamw, GC on) checks a step's gradients in @centra/chain once, op by op and fused, and refuses a bad one by name, changing nothing",
  async () => {
    for (const fused of [false, true]) {
      const vars = makeVars();
      const [k, b] = vars as [tf.Variable, tf.Variable];
      const opt = new ChainOptimizer(adamw(1e-2, { gc: true }), { fused });
      const grads = () => ({
        [k.name]: tf.onesLike(k),
        [b.name]: tf.onesLike(b),
      });
      const counts: number[] = [];
      for (let step = 0; step < 3; step++) {
        const g = grads();
        const before = checkPasses.count;
        opt.applyGradients(g);
        counts.push(checkPasses.count - before);
        tf.dispose(Object.values(g));
      }
      assert.deepEqual(counts, [1, 1, 1], `fused: ${fused}`);

      const W = "ChainOptimizer\\.applyGradients";
      const K = k.name.replace(/[/]/g, "\\/");
      const bad: [string, () => tf.NamedTensorMap, RegExp][] = [
        [
          "an unknown name",
          () => ({ ...grads(), ghost: tf.ones([3]) }),
          new RegExp(`${W}: no variable named "ghost"`),
        ],
        [
          "a wrong shape",
          () => ({ ...grads(), [k.name]: tf.ones([12]) }),
          new RegExp(
            `${W}: the gradient of "${K}" has shape \\[12\\] but the variable has \\[4,3\\]`,
          ),
        ],
        [
          "int32",
          () => ({ ...grads(), [k.name]: tf.ones([4, 3], "int32") }),
          new RegExp(
            `${W}: "${K}" must be float32 \\(gradient int32, variable float32\\)`,
          ),
        ],
      ];
      for (const [fault, make, message] of bad) {
        const g = make();
        const before = await snapshot(vars, opt);
        const n = tf.memory().numTensors;
        const iterations = opt.iterations;
        assert.throws(
          () => opt.applyGradients(g),
          (e: unknown) => e instanceof TypeError && message.test(e.message),
          `${fault}, fused: ${fused}`,
        );
        assert.equal(tf.memory().numTensors, n, `${fault}: tensors`);
        assert.equal(opt.iterations, iterations, `${fault}: iterations`);
        assert.equal(await snapshot(vars, opt), before, `${fault}: values`);
        tf.dispose(Object.values(g));
      }
      opt.dispose();
      tf.dispose(vars);
    }
  },
);
