// runStep against an independent reference: the same optimizer driven by
// runUpdate + applyUpdates, and hand-written `step`s (p + u with tf ops) that
// count their calls or misbehave on purpose.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adam,
  adamw,
  applyUpdates,
  chain,
  disposeState,
  type GradientTransformation,
  initState,
  masked,
  type Params,
  runStep,
  runUpdate,
  sgd,
  type Updates,
} from "./mod.ts";
import { collectTensors } from "./_tree.ts";
import {
  assertClose,
  read,
  testOnBackends,
  withStep,
} from "@centra/testing/mod.ts";

let id = 0;
/** A variable name unique to this run (tests run once per backend). */
const uniq = (s: string) => `run_step_test/${id++}/${s}`;

const EXACT = { rtol: 0, atol: 0 };

/** Every tensor of a state, read in traversal order. */
async function readState(state: unknown): Promise<Float64Array[]> {
  return await Promise.all([...collectTensors(state)].map(read));
}

async function readAll(
  vars: Record<string, tf.Variable>,
): Promise<Float64Array[]> {
  return await Promise.all(Object.values(vars).map(read));
}

function assertSameArrays(
  a: Float64Array[],
  b: Float64Array[],
  what: string,
  tol = EXACT,
): void {
  assert.equal(a.length, b.length, `${what}: count`);
  a.forEach((x, i) => assertClose(x, b[i]!, { ...tol, what: `${what} ${i}` }));
}

/** Two variables of the given shapes with seeded values, keyed by name. */
function makeVars(
  prefix: string,
  seed: number,
): Record<string, tf.Variable> {
  const k = tf.variable(
    tf.randomNormal([3, 2], 0, 1, "float32", seed),
    true,
    uniq(`${prefix}/kernel`),
  );
  const b = tf.variable(
    tf.randomNormal([2], 0, 1, "float32", seed + 1),
    true,
    uniq(`${prefix}/bias`),
  );
  return { kernel: k, bias: b };
}

/** The same variables keyed by their names, as drivers want them. */
function byName(
  vars: Record<string, tf.Variable>,
): Record<string, tf.Variable> {
  return Object.fromEntries(Object.values(vars).map((v) => [v.name, v]));
}

testOnBackends(
  "runStep() takes a transformation's step and matches runUpdate + applyUpdates over several steps",
  async () => {
    const a = makeVars("step", 1); // runStep through step
    const b = makeVars("fallback", 1); // runStep without step
    const c = makeVars("reference", 1); // runUpdate + applyUpdates
    const stepped = withStep(adam(0.05, { gc: true }));
    const plain = adam(0.05, { gc: true });
    let sa = initState(stepped.tx, byName(a));
    let sb = initState(plain, byName(b));
    let sc = initState(plain, byName(c));
    for (let i = 0; i < 6; i++) {
      // Step 3 freezes the bias: it has no gradient and must not move.
      const names = i === 3 ? ["kernel"] : ["kernel", "bias"];
      const raw = Object.fromEntries(
        names.map((n) => [
          n,
          tf.randomNormal(a[n]!.shape, 0, 1, "float32", 100 + i),
        ]),
      );
      const keyed = (vars: Record<string, tf.Variable>) =>
        Object.fromEntries(names.map((n) => [vars[n]!.name, raw[n]!]));
      sa = runStep(stepped.tx, keyed(a), sa, byName(a));
      sb = runStep(plain, keyed(b), sb, byName(b));
      const [updates, next] = runUpdate(plain, keyed(c), sc, byName(c));
      sc = next;
      applyUpdates(byName(c), updates);
      tf.dispose([Object.values(updates), Object.values(raw)]);

      const wc = await readAll(c);
      assertSameArrays(await readAll(a), wc, `step ${i}: weights (step)`);
      assertSameArrays(await readAll(b), wc, `step ${i}: weights (fallback)`);
      const stc = await readState(sc);
      assertSameArrays(await readState(sa), stc, `step ${i}: state (step)`);
      assertSameArrays(await readState(sb), stc, `step ${i}: state (fallback)`);
    }
    assert.deepEqual(stepped.calls, { step: 6, update: 0 });
    for (const s of [sa, sb, sc]) disposeState(s);
    tf.dispose([a, b, c].flatMap((v) => Object.values(v)));
  },
);

testOnBackends(
  "runStep() writes known values: w - lr * g for sgd, with and without step",
  async () => {
    for (const stepped of [false, true]) {
      const w = tf.variable(tf.tensor1d([1, 2]), true, uniq("known"));
      const tx = stepped ? withStep(sgd(0.5)).tx : sgd(0.5);
      let state = initState(tx, { [w.name]: w });
      const grads = { [w.name]: tf.tensor1d([2, -2]) };
      state = runStep(tx, grads, state, { [w.name]: w });
      assertClose(await w.data(), [0, 3], EXACT);
      state = runStep(tx, grads, state, { [w.name]: w });
      assertClose(await w.data(), [-1, 4], EXACT);
      tf.dispose([w, grads[w.name]!]);
      disposeState(state);
    }
  },
);

testOnBackends(
  "runStep() refuses a step that returns a wrong name, shape or dtype, or misses a name, changing nothing",
  async () => {
    const w = tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, uniq("w"));
    const v = tf.variable(tf.tensor1d([5, 6, 7]), true, uniq("v"));
    const vars = { [w.name]: w, [v.name]: v };
    let mode = "ok";
    const { tx, calls } = withStep(
      sgd(0.1, { momentum: 0.9 }),
      (values, next) => {
        switch (mode) {
          case "extra":
            values["run_step_test/none"] = tf.zeros([1]);
            break;
          case "shape":
            values[w.name] = tf.reshape(values[w.name]!, [4]);
            break;
          case "missing":
            delete values[v.name];
            break;
          case "dtype":
            values[w.name] = values[w.name]!.asType("int32");
            break;
          case "not a tensor":
            values[w.name] = 3 as unknown as tf.Tensor;
            break;
          case "throw":
            throw new Error("boom");
        }
        return [values, next];
      },
    );
    const grads = { [w.name]: tf.ones([2, 2]), [v.name]: tf.ones([3]) };
    let state = runStep(tx, grads, initState(tx, vars), vars);
    const snapshot = async () => ({
      w: Array.from(await w.data()),
      v: Array.from(await v.data()),
      state: (await readState(state)).map((x) => Array.from(x)),
      live: [...collectTensors(state)].every((t) => !t.isDisposed),
      n: tf.memory().numTensors,
    });
    const before = await snapshot();
    const refused: [string, RegExp][] = [
      ["extra", /a new value for "run_step_test\/none", which had no gradient/],
      [
        "shape",
        /a new value of shape \[4\] for ".*\/w", whose gradient has shape \[2,2\]/,
      ],
      ["missing", /no new value for ".*\/v"/],
      [
        "dtype",
        /a new value of dtype int32 for ".*\/w", whose variable is float32/,
      ],
      ["not a tensor", /a new value for ".*\/w" that is not a live tensor/],
    ];
    for (const [m, message] of refused) {
      mode = m;
      assert.throws(
        () => runStep(tx, grads, state, vars),
        (e: unknown) =>
          e instanceof TypeError && /^runStep: /.test(e.message) &&
          message.test(e.message),
        m,
      );
      assert.deepEqual(await snapshot(), before, m);
    }
    mode = "throw";
    assert.throws(() => runStep(tx, grads, state, vars), /boom/);
    assert.deepEqual(await snapshot(), before, "throw");
    assert.equal(calls.step, 1 + refused.length + 1);
    // The old state is still good for a step: m = 0.9 + 1, w -= 0.1 m.
    mode = "ok";
    state = runStep(tx, grads, state, vars);
    assertClose(await v.data(), [5 - 0.1 - 0.19, 6 - 0.29, 7 - 0.29], {
      rtol: 1e-6,
    });
    disposeState(state);
    tf.dispose([w, v, Object.values(grads)]);
  },
);

testOnBackends(
  "runStep() checks gradients against the variables before running anything",
  async () => {
    const w = tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, uniq("w"));
    const vars = { [w.name]: w };
    for (const stepped of [true, false]) {
      const s = withStep(sgd(0.1, { momentum: 0.9 }));
      // Without a step, runStep goes through update.
      const tx = stepped ? s.tx : { init: s.tx.init, update: s.tx.update };
      const state = initState(tx, vars);
      const g = tf.ones([2, 2]);
      const stateBefore = await readState(state);
      const n = tf.memory().numTensors;
      const disposed = tf.ones([2, 2]);
      disposed.dispose();
      const bad: [Updates, RegExp][] = [
        [
          { "run_step_test/none": g },
          /no variable named "run_step_test\/none"/,
        ],
        [
          { [w.name]: tf.ones([3]) },
          /the gradient of ".*\/w" has shape \[3\] but the variable has \[2,2\]/,
        ],
        [
          { [w.name]: disposed },
          /the gradient of ".*\/w" is not a live tensor/,
        ],
        // One good name does not let a bad one through.
        [{ [w.name]: g, "run_step_test/none": g }, /no variable named/],
      ];
      for (const [grads, message] of bad) {
        assert.throws(
          () => runStep(tx, grads, state, vars),
          (e: unknown) => e instanceof TypeError && message.test(e.message),
        );
      }
      assert.deepEqual(s.calls, { step: 0, update: 0 });
      assertClose(await w.data(), [1, 2, 3, 4], EXACT);
      assertSameArrays(await readState(state), stateBefore, "state");
      // Only the bad gradient of the second case is new.
      assert.equal(tf.memory().numTensors, n + 1);
      disposeState(state);
      g.dispose();
    }
    w.dispose();
  },
);

/** A transformation with no state whose step returns `pick(params, grads)`. */
function handing(
  pick: (params: Params, grads: Updates) => Params,
): GradientTransformation<Record<string, never>> {
  return {
    init: () => ({}),
    update: (updates, state, params) => {
      const values = pick(params!, updates);
      const u: Updates = {};
      for (const k of Object.keys(updates)) {
        u[k] = tf.sub(values[k]!, params![k]!);
      }
      return [u, state];
    },
    step: (updates, state, params) => [pick(params, updates), state],
  };
}

testOnBackends(
  "runStep() accepts a step that hands back the variable itself, another variable, a gradient or one tensor twice",
  async () => {
    const a = tf.variable(tf.tensor1d([1, 2]), true, uniq("a"));
    const b = tf.variable(tf.tensor1d([3, 4]), true, uniq("b"));
    const vars = { [a.name]: a, [b.name]: b };
    const g = { [a.name]: tf.tensor1d([5, 6]), [b.name]: tf.tensor1d([7, 8]) };
    const n = tf.memory().numTensors;

    // Unchanged: both variables are their own new value.
    runStep(handing((p) => ({ ...p })), g, {}, vars);
    assert.ok(!a.isDisposed && !b.isDisposed);
    assertClose(await a.data(), [1, 2], EXACT);
    assertClose(await b.data(), [3, 4], EXACT);
    assert.equal(tf.memory().numTensors, n);

    // Swapped: each takes the other's old value.
    const swap = (p: Params) => ({
      [a.name]: p[b.name]!,
      [b.name]: p[a.name]!,
    });
    runStep(handing(swap), g, {}, vars);
    assertClose(await a.data(), [3, 4], EXACT);
    assertClose(await b.data(), [1, 2], EXACT);
    assert.equal(tf.memory().numTensors, n);

    // The gradients themselves: they stay alive, and the variables keep
    // their values once the gradients are gone.
    runStep(handing((_p, grads) => ({ ...grads })), g, {}, vars);
    assertClose(await a.data(), [5, 6], EXACT);
    assertClose(await g[a.name]!.data(), [5, 6], EXACT);
    assert.equal(tf.memory().numTensors, n);

    // One new tensor for both names.
    const both = (p: Params) => {
      const t = tf.add(p[a.name]!, 1);
      return { [a.name]: t, [b.name]: t };
    };
    runStep(handing(both), g, {}, vars);
    assertClose(await a.data(), [6, 7], EXACT);
    assertClose(await b.data(), [6, 7], EXACT);
    assert.equal(tf.memory().numTensors, n);

    tf.dispose(Object.values(g));
    assertClose(await a.data(), [6, 7], EXACT);
    assertClose(await b.data(), [6, 7], EXACT);
    tf.dispose([a, b]);
  },
);

interface LastState {
  last: tf.Tensor;
}

testOnBackends(
  "runStep() accepts a step whose new value is also held by the new or the old state",
  async () => {
    const w = tf.variable(tf.tensor1d([1, 2]), true, uniq("w"));
    const vars = { [w.name]: w };
    const g = { [w.name]: tf.tensor1d([1, 1]) };
    // The new state remembers the new value: the same tensor in both.
    const remember: GradientTransformation<LastState> = {
      init: (p) => ({ last: tf.clone(p[w.name]!) }),
      update: (u, s) => [u, s],
      step: (u, _s, p) => {
        const t = tf.add(p[w.name]!, u[w.name]!);
        return [{ [w.name]: t }, { last: t }];
      },
    };
    let state = initState(remember, vars);
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const old = state.last;
      state = runStep(remember, g, state, vars);
      assert.ok(old.isDisposed, "the replaced state tensor is freed");
      assert.ok(!state.last.isDisposed);
      assertClose(await state.last.data(), [2 + i, 3 + i], EXACT);
      assertClose(await w.data(), [2 + i, 3 + i], EXACT);
      assert.equal(tf.memory().numTensors, n, `step ${i}`);
    }

    // The new value is the old state's tensor, which the new state drops.
    const restore: GradientTransformation<LastState> = {
      init: (p) => ({ last: tf.clone(p[w.name]!) }),
      update: (u, s) => [u, s],
      step: (
        _u,
        s,
        p,
      ) => [{ [w.name]: s.last }, { last: tf.mul(p[w.name]!, 10) }],
    };
    disposeState(state);
    state = initState(restore, vars); // last = [4, 5]
    tf.tidy(() => w.assign(tf.tensor1d([0, 0])));
    state = runStep(restore, g, state, vars);
    assertClose(await w.data(), [4, 5], EXACT);
    assertClose(await state.last.data(), [0, 0], EXACT);
    state = runStep(restore, g, state, vars);
    assertClose(await w.data(), [0, 0], EXACT);
    assertClose(await state.last.data(), [40, 50], EXACT);
    disposeState(state);
    tf.dispose([w, g[w.name]!]);
  },
);

testOnBackends(
  "runStep() without a step survives an update that returns a parameter or a gradient",
  async () => {
    const w = tf.variable(tf.tensor1d([1, 2]), true, uniq("w"));
    const vars = { [w.name]: w };
    const g = { [w.name]: tf.tensor1d([3, 3]) };
    const n = tf.memory().numTensors;
    const param: GradientTransformation<Record<string, never>> = {
      init: () => ({}),
      update: (_u, s, p) => [{ [w.name]: p![w.name]! }, s], // w ← 2w
    };
    runStep(param, g, {}, vars);
    assert.ok(!w.isDisposed);
    assertClose(await w.data(), [2, 4], EXACT);
    const grad: GradientTransformation<Record<string, never>> = {
      init: () => ({}),
      update: (u, s) => [{ ...u }, s], // w ← w + g
    };
    runStep(grad, g, {}, vars);
    assert.ok(!g[w.name]!.isDisposed);
    assertClose(await w.data(), [5, 7], EXACT);
    assert.equal(tf.memory().numTensors, n);
    tf.dispose([w, g[w.name]!]);
  },
);

testOnBackends(
  "runStep() keeps tf.memory().numTensors flat over 50 steps, with and without step",
  () => {
    for (const stepped of [true, false]) {
      const vars = byName(makeVars(`memory${stepped}`, 7));
      const inner = adamw(1e-2, { weightDecay: 1e-4, gc: true });
      const tx = stepped ? withStep(inner).tx : inner;
      const before = tf.memory().numTensors;
      let state = initState(tx, vars);
      const afterInit = tf.memory().numTensors;
      for (let i = 0; i < 50; i++) {
        const grads = tf.tidy(() => {
          const out: Updates = {};
          for (const [k, v] of Object.entries(vars)) {
            out[k] = tf.randomNormal(v.shape, 0, 1, "float32", i);
          }
          return out;
        });
        state = runStep(tx, grads, state, vars);
        tf.dispose(Object.values(grads));
        assert.equal(tf.memory().numTensors, afterInit, `step ${i}`);
      }
      disposeState(state);
      assert.equal(tf.memory().numTensors, before);
      tf.dispose(Object.values(vars));
    }
  },
);

testOnBackends(
  "chain() and masked() do not forward step, so runStep falls back to update",
  async () => {
    const w = tf.variable(tf.tensor1d([1, 2]), true, uniq("w"));
    const vars = { [w.name]: w };
    const g = { [w.name]: tf.tensor1d([2, 2]) };
    for (const wrap of ["chain", "masked"]) {
      const stepped = withStep(sgd(0.5));
      const tx: GradientTransformation<unknown> = wrap === "chain"
        ? chain(stepped.tx)
        : masked(stepped.tx, { [w.name]: true });
      assert.equal(tx.step, undefined, wrap);
      const state = runStep(tx, g, initState(tx, vars), vars);
      assert.deepEqual(stepped.calls, { step: 0, update: 1 }, wrap);
      disposeState(state);
    }
    assertClose(await w.data(), [-1, 0], EXACT);
    tf.dispose([w, g[w.name]!]);
  },
);

testOnBackends(
  "runStep's where option names the driver in every refusal, and a bad option is refused before anything changes",
  async () => {
    const w = tf.variable(tf.ones([2, 3]), true, uniq("w"));
    const W = w.name.replace(/\//g, "\\/");
    const tx = sgd(0.1, { momentum: 0.9 });
    const state = initState(tx, { [w.name]: w });
    const n = tf.memory().numTensors;
    const bad: [Updates, RegExp][] = [
      [
        { ghost: tf.ones([3]) },
        /^TypeError: Mine\.step: no variable named "ghost"/,
      ],
      [
        { [w.name]: tf.ones([6]) },
        new RegExp(
          `^TypeError: Mine\\.step: the gradient of "${W}" has shape \\[6\\] but the variable has \\[2,3\\]`,
        ),
      ],
      [
        { [w.name]: tf.ones([2, 3], "int32") },
        new RegExp(`^TypeError: Mine\\.step: the gradient of "${W}" is int32`),
      ],
    ];
    for (const [grads, message] of bad) {
      const before = tf.memory().numTensors;
      assert.throws(
        () =>
          runStep(tx, grads, state, { [w.name]: w }, { where: "Mine.step" }),
        (e: unknown) => {
          assert.match(String(e), message);
          return true;
        },
      );
      assert.equal(tf.memory().numTensors, before);
      tf.dispose(Object.values(grads));
    }
    const g = { [w.name]: tf.ones([2, 3]) };
    for (
      const [options, message] of [
        [{ where: "" }, /runStep: where must be a non-empty string, got ""/],
        [{ where: 3 }, /runStep: where must be a non-empty string, got 3/],
        [{ wher: "x" }, /runStep: unknown option "wher"/],
        [null, /runStep: options must be a plain object, got null/],
      ] as const
    ) {
      assert.throws(
        () => runStep(tx, g, state, { [w.name]: w }, options as never),
        (e: unknown) => e instanceof TypeError && message.test(e.message),
      );
    }
    assert.deepEqual(Array.from(await w.data()), [1, 1, 1, 1, 1, 1]);
    assert.equal(tf.memory().numTensors, n + 1);
    tf.dispose(g);
    disposeState(state);
    w.dispose();
  },
);
