// Issue 12 ("Hardening"), items 4, 8, 9, 11 and 12 for @centra/chain: bad
// input is a TypeError that names it, before anything changes (weights,
// state, tf.memory().numTensors), the same on every backend.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adam,
  adaptiveGradClip,
  addDecayedWeights,
  applyIfFinite,
  applyUpdates,
  chain,
  ema,
  type GradientTransformation,
  identity,
  initState,
  masked,
  multiSteps,
  namedChain,
  OPTIMIZERS,
  partition,
  rmsprop,
  runStep,
  runUpdate,
  scaleByLearningRate,
  sgd,
  trace,
} from "./mod.ts";
import { read, testOnBackends } from "@centra/testing/mod.ts";

let id = 0;
const unique = (what: string) => `hardening_${id++}/${what}`;

/**
 * Asserts that `fn` throws a TypeError matching `message` and that
 * numTensors and the given tensors' values are as before.
 */
async function refuses(
  fn: () => unknown,
  message: RegExp,
  keep: tf.Tensor[] = [],
): Promise<void> {
  const values = await Promise.all(keep.map((t) => read(t)));
  const before = tf.memory().numTensors;
  assert.throws(
    fn,
    (e: Error) => {
      assert.ok(e instanceof TypeError, `${e.name}: ${e.message}`);
      assert.match(e.message, message);
      return true;
    },
  );
  assert.equal(tf.memory().numTensors, before, `leak on ${message}`);
  for (const [i, t] of keep.entries()) {
    assert.deepEqual(await read(t), values[i], `${message} changed a value`);
  }
}

testOnBackends(
  "runStep(), runUpdate() and applyUpdates() train float32 only, naming the variable and its dtype",
  async () => {
    // the example: an int32 variable was truncated to [0, 1, 2]
    const wi = tf.variable(tf.tensor1d([1, 2, 3], "int32"), true, unique("i"));
    const tx = sgd(0.1);
    const state = initState(tx, { [wi.name]: tf.zeros([3]) });
    const g = { [wi.name]: tf.ones([3]) };
    await refuses(
      () => runStep(tx, g, state, { [wi.name]: wi }),
      new RegExp(`runStep: the variable "${wi.name}" is int32`),
      [wi],
    );
    await refuses(
      () => applyUpdates({ [wi.name]: wi }, g),
      new RegExp(`applyUpdates: the variable "${wi.name}" is int32`),
      [wi],
    );
    assert.deepEqual(Array.from(await wi.data()), [1, 2, 3]);
    const wb = tf.variable(tf.tensor1d([1, 0, 1], "bool"), true, unique("b"));
    await refuses(
      () => runStep(tx, { [wb.name]: g[wi.name]! }, state, { [wb.name]: wb }),
      /no variable|is bool/,
    );
    await refuses(
      () => applyUpdates({ [wb.name]: wb }, { [wb.name]: g[wi.name]! }),
      new RegExp(`the variable "${wb.name}" is bool`),
      [wb],
    );
    // int32 gradients for a float32 variable: refused on every backend
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, unique("f"));
    const s2 = initState(tx, { [w.name]: w });
    const gi = { [w.name]: tf.tensor1d([1, 1, 1], "int32") };
    await refuses(
      () => runStep(tx, gi, s2, { [w.name]: w }),
      new RegExp(`the gradient of "${w.name}" is int32; only float32`),
      [w],
    );
    await refuses(
      () => runUpdate(tx, gi, s2, { [w.name]: w }),
      new RegExp(`runUpdate: update "${w.name}" is int32`),
      [w],
    );
    await refuses(
      () => applyUpdates({ [w.name]: w }, gi),
      new RegExp(`applyUpdates: update "${w.name}" is int32`),
      [w],
    );
    // a transformation with a step of its own is checked the same way
    const stepping: GradientTransformation<unknown> = {
      ...tx,
      step: () => {
        throw new Error("must not run");
      },
    } as GradientTransformation<unknown>;
    await refuses(
      () => runStep(stepping, g, state, { [wi.name]: wi }),
      /is int32/,
      [wi],
    );
    tf.dispose([wi, wb, w, ...Object.values(g), ...Object.values(gi)]);
  },
);

testOnBackends(
  "runStep() and applyUpdates() refuse one variable under two names",
  async () => {
    const v = tf.variable(tf.tensor1d([1, 2]), true, unique("twice"));
    const tx = sgd(1);
    const state = initState(tx, { a: v, b: v });
    const g = { a: tf.ones([2]), b: tf.ones([2]) };
    await refuses(
      () => runStep(tx, g, state, { a: v, b: v }),
      new RegExp(
        `runStep: the variable "${v.name}" is given under two names, "a" and "b"`,
      ),
      [v],
    );
    await refuses(
      () => applyUpdates({ a: v, b: v }, g),
      /applyUpdates: the variable .* is given under two names/,
      [v],
    );
    tf.dispose([v, g.a, g.b]);
  },
);

testOnBackends(
  "drivers name a missing map, a non-tensor, a disposed state and a state from another chain",
  async () => {
    const w = tf.variable(tf.tensor1d([1, 2]), true, unique("w"));
    const vars = { [w.name]: w };
    const momentum = sgd(0.1, { momentum: 0.9 });
    const adaptive = adam(0.1); // the same length of chain: guard, scaling, lr
    const sm = initState(momentum, vars);
    const sa = initState(adaptive, vars);
    const g = { [w.name]: tf.ones([2]) };
    await refuses(
      () => runStep(momentum, null as never, sm, vars),
      /runStep: gradients must be a map of tensors keyed by name, got null/,
      [w],
    );
    await refuses(
      () => runUpdate(momentum, g[w.name] as never, sm),
      /runUpdate: updates must be a map of tensors keyed by name, got a float32 tensor of shape \[2\]/,
    );
    await refuses(
      () => runStep(momentum, { [w.name]: [1, 1] as never }, sm, vars),
      new RegExp(`the gradient of "${w.name}" is not a live tensor`),
      [w],
    );
    await refuses(
      () => initState(momentum, { w: 5 as never }),
      /initState: parameter "w" must be a live tensor, got 5/,
    );
    await refuses(
      () => initState(momentum, null as never),
      /initState: params must be a map of tensors keyed by name, got null/,
    );
    await refuses(
      () => initState({ init: 1 } as never, {}),
      /initState: expected a GradientTransformation/,
    );
    // another chain's state: named, not read
    await refuses(
      () => runStep(adaptive, g, sm, vars),
      /state does not fit this transformation/,
      [w],
    );
    await refuses(
      () => runStep(momentum, g, sa, vars),
      /state does not fit this transformation/,
      [w],
    );
    await refuses(
      () => runUpdate(multiSteps(sgd(1), 2), g, sm as never, vars),
      /multiSteps: the state does not fit this transformation/,
    );
    // a disposed state (used again after a step replaced it)
    const next = runStep(momentum, g, sm, vars);
    await refuses(
      () => runStep(momentum, g, sm, vars),
      /runStep: the state tensor at state\[1\]\.trace\..* is disposed/,
      [w],
    );
    await refuses(
      () => runUpdate(momentum, g, sm, vars),
      /runUpdate: the state tensor at .* is disposed/,
    );
    tf.dispose([w, g[w.name]!]);
    tf.dispose([next as tf.TensorContainer, sa as tf.TensorContainer]);
  },
);

testOnBackends(
  "a disposed hyperparameter scalar and a schedule that returns a non-scalar are TypeErrors naming them",
  async () => {
    const w = tf.variable(tf.tensor1d([1, 2]), true, unique("hp"));
    const vars = { [w.name]: w };
    const g = { [w.name]: tf.ones([2]) };
    const lr = tf.scalar(0.1);
    const tx = sgd(lr);
    const state = initState(tx, vars);
    lr.dispose();
    await refuses(
      () => runStep(tx, g, state, vars),
      /scaleByLearningRate: hyperparameter "learningRate" must be a live float32 scalar, got a disposed float32 tensor/,
      [w],
    );
    // per-column rates are not a thing: the cpu backend broadcast them
    const columns = sgd(() => tf.tensor1d([0.1, 0.2]) as unknown as tf.Scalar);
    const cs = initState(columns, vars);
    await refuses(
      () => runStep(columns, g, cs, vars),
      /hyperparameter "factor" must be a live float32 scalar, got a float32 tensor of shape \[2\] \(a schedule must return a float32 scalar\)/,
      [w],
    );
    tf.dispose([w, g[w.name]!]);
  },
);

Deno.test("chain(), namedChain(), masked(), partition() and wrappers name a part that is not a transformation", () => {
  assert.throws(
    () => chain(5 as never, sgd as never),
    /chain: transform 0: expected a GradientTransformation \(\{ init, update \}\), got 5/,
  );
  assert.throws(
    () => chain(identity(), sgd as never),
    /chain: transform 1: expected a GradientTransformation .*got a function \(sgd\)/,
  );
  assert.throws(
    () => namedChain({ a: identity(), b: null as never }),
    /namedChain: "b": expected a GradientTransformation/,
  );
  assert.throws(
    () => masked(5 as never, () => true),
    /masked: inner: expected a GradientTransformation/,
  );
  assert.throws(
    () => masked(identity(), 5 as never),
    /masked: mask must be a record of booleans or a function, got 5/,
  );
  assert.throws(
    () => partition({ a: identity(), b: "sgd" as never }, () => "a"),
    /partition: "b": expected a GradientTransformation/,
  );
  assert.throws(
    () => partition({ a: identity() }, 5 as never),
    /partition: labels must be a record of labels or a function, got 5/,
  );
  assert.throws(
    () => multiSteps({} as never, 2),
    /multiSteps: inner: expected a GradientTransformation/,
  );
  assert.throws(
    () => applyIfFinite(null as never),
    /applyIfFinite: inner: expected a GradientTransformation/,
  );
});

Deno.test("every optimizer alias and transform rejects unknown options and wrong types, naming them", () => {
  // the examples
  assert.throws(
    () => sgd(0.1, { momentun: 0.9 } as never),
    /sgd: unknown option "momentun" \(known: gc, gcOn, momentum,/,
  );
  assert.throws(
    () => adam(0.1, { amsgrad: "no" } as never),
    /adam: amsgrad must be a boolean, got no/,
  );
  assert.throws(
    () => rmsprop(0.1, { centered: "no" } as never),
    /rmsprop: centered must be a boolean, got no/,
  );
  assert.throws(
    () => sgd(0.1, 5 as never),
    /sgd: options must be a plain object, got 5/,
  );
  for (const [name, { make, options }] of Object.entries(OPTIMIZERS)) {
    const f = make as (lr: number, o: unknown) => unknown;
    for (const bad of [5, "x", [], null, new Map()]) {
      assert.throws(
        () => f(0.1, bad),
        (e: Error) =>
          e instanceof TypeError &&
          e.message.startsWith(`${name}: options must be a plain object`),
        `${name}(0.1, ${String(bad)})`,
      );
    }
    assert.throws(
      () => f(0.1, { toString: 1 }),
      new RegExp(`${name}: unknown option "toString"`),
    );
    // every key of the schema, given a value of the wrong kind
    for (const [key, kind] of Object.entries(options)) {
      const wrong = kind === "boolean" ? 1 : kind === "mask" ? 5 : "no";
      assert.throws(
        () => f(0.1, { [key]: wrong }),
        (e: Error) =>
          e instanceof TypeError &&
          e.message.startsWith(`${name}: ${key} must be`),
        `${name} { ${key}: ${JSON.stringify(wrong)} }`,
      );
    }
    // and accepts every one of them with a right value
    assert.doesNotThrow(() => f(0.1, {}));
  }
  const others: [() => unknown, RegExp][] = [
    [
      () => trace(0.9, { nesterof: true } as never),
      /trace: unknown option "nesterof"/,
    ],
    [
      () => trace(0.9, { nesterov: 1 } as never),
      /trace: nesterov must be a boolean, got 1/,
    ],
    [
      () => ema(0.9, { debias: "yes" } as never),
      /ema: debias must be a boolean, got yes/,
    ],
    [
      () => addDecayedWeights(0.1, { masks: {} } as never),
      /addDecayedWeights: unknown option "masks"/,
    ],
    [
      () => addDecayedWeights(0.1, 3 as never),
      /addDecayedWeights: options must be a plain object, got 3/,
    ],
    [
      () => adaptiveGradClip(0.1, { eps: "1" } as never),
      /adaptiveGradClip: eps must be a number, got 1/,
    ],
    [
      () => applyIfFinite(identity(), { maxConsecutive: 2 } as never),
      /applyIfFinite: unknown option "maxConsecutive"/,
    ],
  ];
  for (const [fn, message] of others) assert.throws(fn, message);
});

testOnBackends(
  "names are looked up as own properties: toString, constructor and valueOf are names like any other",
  async () => {
    const p = { w: tf.zeros([2]), toString: tf.ones([2]) } as unknown as Record<
      string,
      tf.Tensor
    >;
    // a parameter named "toString" is a parameter
    const tx = sgd(1, { momentum: 0.5 });
    let state = initState(tx, p);
    let u;
    [u, state] = runUpdate(tx, { toString: tf.ones([2]) } as never, state, p);
    assert.deepEqual(
      Array.from(await read(u["toString"] as unknown as tf.Tensor)),
      [-1, -1],
    );
    // a state that lacks it does not find it on Object.prototype
    const only = initState(tx, { w: p.w! });
    const gc = { constructor: tf.ones([2]) } as never;
    await refuses(
      () => runUpdate(tx, gc, only),
      /unknown parameter name "constructor"/,
    );
    tf.dispose(gc);
    // a mask or label map naming "toString" names no variable
    await refuses(
      () => initState(masked(identity(), { toString: true }), { w: p.w! }),
      /masked: the mask names "toString", which is not a parameter/,
    );
    await refuses(
      () =>
        initState(
          partition({ a: identity() }, { w: "constructor" }),
          { w: p.w! },
        ),
      /parameter "w" has label "constructor", which is not one of: a/,
    );
    await refuses(
      () =>
        initState(partition({ a: identity() }, {}), { hasOwnProperty: p.w! }),
      /no label for parameter "hasOwnProperty" \(got undefined\)/,
    );
    tf.dispose([
      p.w!,
      p.toString as unknown as tf.Tensor,
      u["toString"] as unknown as tf.Tensor,
    ]);
  },
);

testOnBackends(
  "a mask or label map may name variables without gradients; a name that matches no variable is an error",
  async () => {
    const a = tf.variable(tf.ones([2]), true, unique("a"));
    const frozen = tf.variable(tf.ones([2]), true, unique("frozen"));
    const vars = { [a.name]: a };
    const decay = addDecayedWeights(1, {
      mask: { [a.name]: true, [frozen.name]: true },
    });
    const tx = chain(
      masked(trace(0.5), { [a.name]: true, [frozen.name]: false }),
      decay,
      scaleByLearningRate(1),
    );
    let state = initState(tx, vars);
    state = runStep(tx, { [a.name]: tf.ones([2]) }, state, vars);
    // g + λw = 1 + 1, applied with lr 1
    assert.deepEqual(Array.from(await read(a)), [-1, -1]);
    const split = partition(
      { x: sgd(1), y: sgd(0.5) },
      { [a.name]: "x", [frozen.name]: "y" },
    );
    const ps = initState(split, vars);
    runStep(split, { [a.name]: tf.ones([2]) }, ps, vars);
    assert.deepEqual(Array.from(await read(a)), [-2, -2]);
    await refuses(
      () =>
        initState(
          masked(trace(0.5), { [a.name]: true, "no/such": true }),
          vars,
        ),
      /masked: the mask names "no\/such", which is not a parameter/,
    );
    await refuses(
      () =>
        initState(
          partition({ x: sgd(1) }, { [a.name]: "x", "no/such": "x" }),
          vars,
        ),
      /partition: the label map names "no\/such", which is not a parameter/,
    );
    tf.dispose([a, frozen]);
  },
);
