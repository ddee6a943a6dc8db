// A step's input is checked once, at the driver's entry (issue 14, item 4):
// `checkPasses` counts every name-by-name check of a step's gradients (a
// driver's entry check, a guard's, a transformation's against its state or
// the parameters). And every entry point still refuses a bad gradient by
// name, changing nothing; a transformation called by hand checks all.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adamw,
  applyIfFinite,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  disposeState,
  type GradientTransformation,
  initState,
  injectHyperparams,
  multiSteps,
  type OptimizerName,
  runStep,
  runUpdate,
  scaleByAdam,
  type Updates,
} from "./mod.ts";
import { fuse } from "./fuse.ts";
import { checkPasses } from "./_structure.ts";
import { collectTensors } from "./_tree.ts";
import { read, testOnBackends } from "@centra/testing/mod.ts";
import {
  makeOptimizer,
  OPTIMIZER_ROWS,
} from "@centra/testing/optimizer_table.ts";

let id = 0;
/** Two variables (a [4,3] kernel, GC's case, and a bias) with unique names. */
function makeVars(): Record<string, tf.Variable> {
  const p = `check_once_test/${id++}`;
  // the initial values die with the tidy; the variables are kept
  return tf.tidy(() => ({
    [`${p}/kernel`]: tf.variable(
      tf.tensor2d([[1, -2, 3], [0.5, 1, -1], [2, 0, 1], [-1, 1, 0.25]]),
      true,
      `${p}/kernel`,
    ),
    [`${p}/bias`]: tf.variable(
      tf.tensor1d([0.1, -0.2, 0.3]),
      true,
      `${p}/bias`,
    ),
  }));
}

/** A gradient per variable, different at each step. */
function gradsFor(vars: Record<string, tf.Variable>, step: number): Updates {
  const out: Updates = {};
  for (const [k, v] of Object.entries(vars)) {
    out[k] = tf.tidy(() => tf.mul(tf.onesLike(v), tf.scalar(0.5 + step)));
  }
  return out;
}

/**
 * Each optimizer of the table with GC: its defaults, and each of its fused
 * variants (Lookahead's period, Adafactor's factored moments, weight decay
 * that reads the parameters, ...), as `[label, build]`.
 */
function settings(
  names: readonly OptimizerName[],
): [string, () => GradientTransformation<unknown>][] {
  const out: [string, () => GradientTransformation<unknown>][] = [];
  for (const [name, row] of OPTIMIZER_ROWS) {
    if (!names.includes(name)) continue;
    out.push([name, () => makeOptimizer(name, 1e-2, { gc: true })]);
    for (const v of row.fused) {
      out.push([
        `${name} (${JSON.stringify(v.options)})`,
        () => makeOptimizer(name, v.lr, { ...v.options, gc: true }),
      ]);
    }
  }
  return out;
}

type Mode = "op" | "fused" | "update";

/**
 * Each of `cases` checks its gradients once per step, op by op and fused
 * (`runUpdate` then `applyUpdates`: once at each entry).
 */
function assertOncePerStep(
  cases: readonly (readonly [string, () => GradientTransformation<unknown>])[],
): void {
  for (const [label, make] of cases) {
    for (const mode of ["op", "fused", "update"] as const) {
      const want = mode === "update" ? 2 : 1;
      assert.deepEqual(
        passesPerStep(make, mode),
        [want, want, want],
        `${label}, ${mode}`,
      );
    }
  }
}

/** Checks per step of `make()` over three steps, in `mode`. */
function passesPerStep(
  make: () => GradientTransformation<unknown>,
  mode: Mode,
): number[] {
  const vars = makeVars();
  const made = make();
  const tx = mode === "fused" ? fuse(made) : made;
  let state = initState(tx, vars);
  const counts: number[] = [];
  for (let step = 0; step < 3; step++) {
    const grads = gradsFor(vars, step);
    const before = checkPasses.count;
    if (mode === "update") {
      const [u, next] = runUpdate(tx, grads, state, vars);
      state = next;
      applyUpdates(vars, u);
      tf.dispose(Object.values(u));
    } else {
      state = runStep(tx, grads, state, vars);
    }
    counts.push(checkPasses.count - before);
    tf.dispose(Object.values(grads));
  }
  disposeState(state);
  tf.dispose(Object.values(vars));
  return counts;
}

/**
 * The optimizers the webgpu run covers (llvmpipe is slow; the counts do not
 * depend on the backend): adamw, and those that once checked more than once.
 */
const ON_WEBGPU: readonly OptimizerName[] = [
  "adamw",
  "novograd",
  "noisySgd",
  "adafactor",
  "ranger",
];

testOnBackends(
  "a driver step of every optimizer of the table (GC on) checks its gradients once: runStep op by op and fused, runUpdate and applyUpdates once each",
  (backend) => {
    const n = tf.memory().numTensors;
    const names = backend === "cpu"
      ? OPTIMIZER_ROWS.map(([name]) => name)
      : ON_WEBGPU;
    const cases = settings(names);
    assert.ok(cases.length >= names.length, "every optimizer has a case");
    assertOncePerStep(cases);
    assert.equal(tf.memory().numTensors, n, "tensors after the steps");
  },
);

/**
 * adamw with GC inside the wrappers that hand it the driver's map, or a map
 * of the same names and shapes, as `[label, build]`.
 */
const WRAPPERS: [string, () => GradientTransformation<unknown>][] = (() => {
  const inner = () => adamw(1e-2, { gc: true });
  return [
    [
      "injectHyperparams",
      () =>
        injectHyperparams(
          (h) => adamw(h.learningRate!, { gc: true }),
          { learningRate: 1e-2 },
        ) as GradientTransformation<unknown>,
    ],
    ["applyIfFinite", () => applyIfFinite(inner())],
    ["multiSteps", () => multiSteps(inner(), 2)],
    ["clipByGlobalNorm", () => chain(clipByGlobalNorm(1), inner())],
  ];
})();

testOnBackends(
  "an optimizer inside a wrapper that hands it the driver's map, or a map of the same names and shapes, checks its gradients once too: injectHyperparams, applyIfFinite, multiSteps, a chain after clipByGlobalNorm",
  () => {
    const n = tf.memory().numTensors;
    assertOncePerStep(WRAPPERS);
    assert.equal(tf.memory().numTensors, n, "tensors after the steps");
  },
);

/** Every tensor of `vars` and `state`, read. */
async function snapshot(
  vars: Record<string, tf.Variable>,
  state: unknown,
): Promise<string> {
  const ts = [...Object.values(vars), ...collectTensors(state)];
  return JSON.stringify(
    await Promise.all(ts.map(async (t) => [...await read(t)])),
  );
}

/** `call` throws a TypeError matching `message`, and nothing changes. */
async function refused(
  what: string,
  call: () => unknown,
  message: RegExp,
  vars: Record<string, tf.Variable>,
  state: unknown,
): Promise<void> {
  const before = await snapshot(vars, state);
  const n = tf.memory().numTensors;
  assert.throws(
    call,
    (e: unknown) => e instanceof TypeError && message.test(e.message),
    `${what}: ${message}`,
  );
  assert.equal(tf.memory().numTensors, n, `${what}: tensors`);
  assert.equal(await snapshot(vars, state), before, `${what}: values`);
}

testOnBackends(
  "each entry point still refuses a bad gradient by name, changing nothing: runStep (op by op, fused), runUpdate, applyUpdates, an optimizer's and a stage's own update",
  async () => {
    const vars = makeVars();
    const [k, b] = Object.keys(vars) as [string, string];
    const tx = adamw(1e-2, { gc: true });
    const fused = fuse(tx);
    let state = initState(tx, vars);
    // one good step first: a state in use, not a fresh one
    const g0 = gradsFor(vars, 0);
    state = runStep(tx, g0, state, vars);
    const stage = scaleByAdam();
    const stageState = initState(stage, vars);
    const good = () => ({
      [k]: tf.onesLike(vars[k]!),
      [b]: tf.onesLike(vars[b]!),
    });
    const esc = (s: string) => s.replace(/[/]/g, "\\/");
    const K = esc(k);
    const bad: {
      fault: string;
      grads: () => Updates;
      want: Record<string, RegExp>;
    }[] = [
      {
        fault: "an unknown name",
        grads: () => ({ ...good(), ghost: tf.ones([3]) }),
        want: {
          runStep: /runStep: no variable named "ghost"/,
          fused: /runStep: no variable named "ghost"/,
          runUpdate: /adamw: unknown parameter name "ghost"/,
          applyUpdates: /applyUpdates: no variable named "ghost"/,
          adamw: /adamw: unknown parameter name "ghost"/,
          stage: /scaleByAdam: unknown parameter name "ghost"/,
        },
      },
      {
        fault: "a wrong shape",
        grads: () => ({ ...good(), [k]: tf.ones([12]) }),
        want: {
          runStep: new RegExp(
            `runStep: the gradient of "${K}" has shape \\[12\\] but the variable has \\[4,3\\]`,
          ),
          fused: new RegExp(
            `runStep: the gradient of "${K}" has shape \\[12\\] but the variable has \\[4,3\\]`,
          ),
          runUpdate: new RegExp(
            `runUpdate: update "${K}" has shape \\[12\\] but the parameter has \\[4,3\\]`,
          ),
          applyUpdates: new RegExp(
            `applyUpdates: update "${K}" has shape \\[12\\] but the variable has \\[4,3\\]`,
          ),
          adamw: new RegExp(
            `adamw: update "${K}" has shape \\[12\\] but the parameter has \\[4,3\\]`,
          ),
          stage: new RegExp(
            `scaleByAdam: update "${K}" has shape \\[12\\] but its state has shape \\[4,3\\]`,
          ),
        },
      },
      {
        fault: "int32",
        grads: () => ({ ...good(), [k]: tf.ones([4, 3], "int32") }),
        want: {
          runStep: new RegExp(
            `runStep: the gradient of "${K}" is int32; only float32 is trained`,
          ),
          fused: new RegExp(
            `runStep: the gradient of "${K}" is int32; only float32 is trained`,
          ),
          runUpdate: new RegExp(
            `runUpdate: update "${K}" is int32; only float32 is trained`,
          ),
          applyUpdates: new RegExp(
            `applyUpdates: update "${K}" is int32; only float32 is trained`,
          ),
        },
      },
    ];
    for (const { fault, grads, want } of bad) {
      const calls: Record<string, (g: Updates) => unknown> = {
        runStep: (g) => runStep(tx, g, state, vars),
        fused: (g) => runStep(fused, g, state, vars),
        runUpdate: (g) => runUpdate(tx, g, state, vars),
        applyUpdates: (g) => applyUpdates(vars, g),
        adamw: (g) => tx.update(g, state, vars),
        stage: (g) => stage.update(g, stageState, vars),
      };
      for (const [entry, message] of Object.entries(want)) {
        const g = grads();
        const held = entry === "stage" ? stageState : state;
        await refused(
          `${fault}, ${entry}`,
          () => calls[entry]!(g),
          message,
          vars,
          held,
        );
        tf.dispose(Object.values(g));
      }
    }
    tf.dispose(Object.values(g0));
    disposeState(state);
    disposeState(stageState);
    tf.dispose(Object.values(vars));
  },
);

testOnBackends(
  "every optimizer of the table, and adamw in each wrapper, refuses, by name and changing nothing, a step on a state built for other shapes or for fewer parameters: runStep op by op and fused, runUpdate (the entry's vouch holds only where the gradients fit the state)",
  async (backend) => {
    const names = backend === "cpu"
      ? OPTIMIZER_ROWS.map(([name]) => name)
      : ON_WEBGPU;
    const vars = makeVars();
    const [k, b] = Object.keys(vars) as [string, string];
    const K = k.replace(/[/]/g, "\\/");
    const g = gradsFor(vars, 0);
    const n = tf.memory().numTensors;
    const txs: [string, () => GradientTransformation<unknown>][] = [
      ...names.map((name) =>
        [name, () => makeOptimizer(name, 1e-2, { gc: true })] as [
          string,
          () => GradientTransformation<unknown>,
        ]
      ),
      ...WRAPPERS,
    ];
    for (const [name, make] of txs) {
      const tx = make();
      const fused = fuse(tx);
      const k12 = tf.zeros([12]);
      const states: [string, unknown, RegExp][] = [
        [
          "a state built for a [12] kernel",
          initState(tx, { [k]: k12, [b]: vars[b]! }),
          new RegExp(
            `^\\w+: update "${K}" has shape \\[4,3\\] but (the parameter|its state) has (shape )?\\[12\\]`,
          ),
        ],
        [
          "a state built for the bias only",
          initState(tx, { [b]: vars[b]! }),
          new RegExp(`^\\w+: unknown parameter name "${K}"`),
        ],
      ];
      for (const [what, state, message] of states) {
        const calls: [string, () => unknown][] = [
          ["runStep", () => runStep(tx, g, state, vars)],
          ["fused", () => runStep(fused, g, state, vars)],
          ["runUpdate", () => runUpdate(tx, g, state, vars)],
        ];
        for (const [entry, call] of calls) {
          await refused(
            `${name}, ${what}, ${entry}`,
            call,
            message,
            vars,
            state,
          );
        }
        disposeState(state);
      }
      k12.dispose();
    }
    assert.equal(tf.memory().numTensors, n, "tensors after the refusals");
    tf.dispose(Object.values(g));
    tf.dispose(Object.values(vars));
  },
);

/** A stateless transformation that calls `fn` with its updates, passed on. */
function calling(fn: (u: Updates) => unknown): GradientTransformation<null> {
  return {
    init: () => null,
    update(updates, s) {
      fn(updates);
      return [updates, s];
    },
  };
}

testOnBackends(
  "a vouch is for its own step and state: the optimizer's guard still names a state built for other shapes, a stage called inside a step with a state of its own checks, a check against a state from elsewhere vouches for nothing, and after the step the map is checked again",
  async () => {
    const vars = makeVars();
    const [k] = Object.keys(vars) as [string, string];
    const K = k.replace(/[/]/g, "\\/");
    const tx = adamw(1e-2, { gc: true });
    // a state built for a [12] parameter of the same name
    const other = initState(tx, { [k]: tf.zeros([12]) });
    const g = { [k]: tf.ones([4, 3]) };
    const guardSays = new RegExp(
      `adamw: update "${K}" has shape \\[4,3\\] but the parameter has \\[12\\]`,
    );
    const stageSays = new RegExp(
      `scaleByAdam: update "${K}" has shape \\[4,3\\] but its state has shape \\[12\\]`,
    );
    const only = { [k]: vars[k]! };
    const entries: [string, () => unknown][] = [
      ["runStep", () => runStep(tx, g, other, only)],
      ["fused", () => runStep(fuse(tx), g, other, only)],
      ["runUpdate", () => runUpdate(tx, g, other, only)],
    ];
    for (const [entry, call] of entries) {
      await refused(entry, call, guardSays, vars, other);
    }

    // inside a step, a stage given a map no guard vouched for checks it
    const stage = scaleByAdam();
    const small = initState(stage, { [k]: tf.zeros([12]) });
    const both = chain(tx, calling((u) => stage.update(u, small)));
    const state = initState(both, only);
    await refused(
      "a stage inside a step",
      () => runStep(both, g, state, only),
      stageSays,
      vars,
      state,
    );

    // a check against a state from elsewhere vouches for nothing: the
    // chain's own stage (its state built for [12]) still checks
    const fits = initState(scaleByAdam(), only);
    const unguarded = chain(
      calling((u) => scaleByAdam().update(u, fits)),
      scaleByAdam(),
    );
    const built12 = initState(unguarded, { [k]: tf.zeros([12]) });
    await refused(
      "a stage after a check against a state from elsewhere",
      () => runStep(unguarded, g, built12, only),
      stageSays,
      vars,
      built12,
    );

    // the map a step vouched for is checked again outside it
    const fine = initState(tx, only);
    const next = runStep(tx, g, fine, only);
    await refused(
      "after the step",
      () => stage.update(g, small),
      stageSays,
      vars,
      small,
    );
    tf.dispose(Object.values(g));
    for (const s of [other, small, state, next, fits, built12]) {
      disposeState(s);
    }
    tf.dispose(Object.values(vars));
  },
);

testOnBackends(
  "runStep op by op refuses a non-float32 update as applyUpdates did, now before the state is touched",
  async () => {
    const vars = makeVars();
    const [k, b] = Object.keys(vars) as [string, string];
    const inner = adamw(1e-2) as GradientTransformation<unknown>;
    const ints: GradientTransformation<unknown> = {
      init: (params) => inner.init(params),
      update(updates, state, params) {
        const [u, next] = inner.update(updates, state, params);
        return [{ ...u, [b]: tf.cast(u[b]!, "int32") }, next];
      },
    };
    const state = initState(ints, vars);
    const g = gradsFor(vars, 0);
    await refused(
      "an int32 update",
      () => runStep(ints, g, state, vars),
      new RegExp(
        `applyUpdates: update "${
          b.replace(/[/]/g, "\\/")
        }" is int32; only float32 is trained`,
      ),
      vars,
      state,
    );
    // the state is still usable
    const next = runStep(inner, g, state, vars);
    assert.ok(collectTensors(next).size > 0 && k in vars);
    tf.dispose(Object.values(g));
    disposeState(next);
    tf.dispose(Object.values(vars));
  },
);
