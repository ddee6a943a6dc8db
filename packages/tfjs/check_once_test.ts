// ChainOptimizer's step checks its gradients in @centra/chain once (issue
// 14, item 4): `checkPasses` counts @centra/chain's name-by-name checks of a
// step's gradients; ChainOptimizer's step is `runStep`, whose entry check
// is the one. (`readGradients`, this package's own reading of tfjs's forms
// against the registered variables and a restored checkpoint's shapes, runs
// before it, with its own messages.) A bad gradient is refused by name,
// changing nothing.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { read, testOnBackends } from "@centra/testing/mod.ts";
import {
  makeOptimizer,
  OPTIMIZER_ROWS,
} from "@centra/testing/optimizer_table.ts";
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

/** `call` throws a TypeError matching `message`, and nothing changes. */
async function refused(
  what: string,
  call: () => unknown,
  message: RegExp,
  vars: tf.Variable[],
  opt: ChainOptimizer,
): Promise<void> {
  const before = await snapshot(vars, opt);
  const n = tf.memory().numTensors;
  const iterations = opt.iterations;
  assert.throws(
    call,
    (e: unknown) => e instanceof TypeError && message.test(e.message),
    `${what}: ${message}`,
  );
  assert.equal(tf.memory().numTensors, n, `${what}: tensors`);
  assert.equal(opt.iterations, iterations, `${what}: iterations`);
  assert.equal(await snapshot(vars, opt), before, `${what}: values`);
}

testOnBackends(
  "ChainOptimizer checks a step's gradients once for every optimizer of the table (GC on), op by op and fused, and refuses a bad one by name, changing nothing",
  async (backend) => {
    const names = backend === "cpu"
      ? OPTIMIZER_ROWS.map(([name]) => name)
      // llvmpipe is slow: adamw, and those that once checked more than once
      : ["adamw", "novograd", "noisySgd", "adafactor", "ranger"] as const;
    for (const name of names) {
      for (const fused of [false, true]) {
        const vars = makeVars();
        const [k, b] = vars as [tf.Variable, tf.Variable];
        const opt = new ChainOptimizer(
          makeOptimizer(name, 1e-2, { gc: true }),
          { fused },
        );
        const label = `${name}, fused: ${fused}`;
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
        assert.deepEqual(counts, [1, 1, 1], label);
        // once the state is built, a step leaves the tensor count flat
        const held = tf.memory().numTensors;
        const g4 = grads();
        opt.applyGradients(g4);
        tf.dispose(Object.values(g4));
        assert.equal(tf.memory().numTensors, held, `${label}: tensors`);

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
          await refused(
            `${label}, ${fault}`,
            () => opt.applyGradients(g),
            message,
            vars,
            opt,
          );
          tf.dispose(Object.values(g));
        }

        // the kernel disposed and made again under its name with another
        // shape: the state was built for [4,3]
        k.dispose();
        const k2 = tf.variable(tf.ones([12]), true, k.name);
        const g = { [k2.name]: tf.ones([12]), [b.name]: tf.onesLike(b) };
        await refused(
          `${label}, a variable of another shape`,
          () => opt.applyGradients(g),
          new RegExp(
            `${W}: "${K}" has shape \\[12\\] but its state was built for \\[4,3\\]`,
          ),
          [k2, b],
          opt,
        );
        tf.dispose(Object.values(g));
        opt.dispose();
        tf.dispose([k2, b]);
      }
    }
  },
);

testOnBackends(
  "ChainOptimizer refuses a step on a state with a disposed tensor, naming itself and the tensor's path, changing nothing",
  async () => {
    const vars = makeVars();
    const [k, b] = vars as [tf.Variable, tf.Variable];
    const opt = new ChainOptimizer(makeOptimizer("adamw", 1e-2, { gc: true }));
    const grads = () => ({
      [k.name]: tf.onesLike(k),
      [b.name]: tf.onesLike(b),
    });
    const g0 = grads();
    opt.applyGradients(g0);
    tf.dispose(Object.values(g0));
    // a slot of the state disposed by hand: the first tensor of the kernel's
    // shape
    const find = (x: unknown): tf.Tensor | undefined => {
      if (x instanceof tf.Tensor) return x.rank === 2 ? x : undefined;
      if (x === null || typeof x !== "object") return undefined;
      for (const v of Object.values(x)) {
        const t = find(v);
        if (t !== undefined) return t;
      }
      return undefined;
    };
    find(opt.state)!.dispose();
    const before = JSON.stringify(
      (await Promise.all(vars.map(read))).map((v) => [...v]),
    );
    const g = grads();
    const n = tf.memory().numTensors;
    assert.throws(
      () => opt.applyGradients(g),
      (e: unknown) =>
        e instanceof TypeError &&
        /^ChainOptimizer\.applyGradients: the state tensor at state\S* is disposed/
          .test(e.message),
    );
    assert.equal(tf.memory().numTensors, n, "tensors");
    assert.equal(opt.iterations, 1, "iterations");
    const after = JSON.stringify(
      (await Promise.all(vars.map(read))).map((v) => [...v]),
    );
    assert.equal(after, before, "values");
    tf.dispose(Object.values(g));
    opt.dispose();
    tf.dispose(vars);
  },
);
