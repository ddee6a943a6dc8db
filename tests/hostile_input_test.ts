// A property-based sweep of malformed calls through the public API of
// @centra/chain and @centra/tfjs (fast-check, fixed seed). The promise under
// test (docs/guarantees.md): a bad call throws a TypeError or RangeError whose
// message names the bad value or the argument that holds it, and nothing
// changed: the weights, every state tensor, the hyperparameters and
// tf.memory().numTensors are exactly as before the call.
import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import assert from "node:assert/strict";
import {
  applyUpdates,
  disposeState,
  type GradientTransformation,
  initState,
  OPTIMIZERS as CHAIN_OPTIMIZERS,
  runStep,
  runUpdate,
} from "@centra/chain";
import { ChainOptimizer } from "@centra/tfjs";
import { testOnBackends } from "@centra/testing/mod.ts";
import { OPTIMIZER_ROWS } from "@centra/testing/optimizer_table.ts";

const SEED = 20261130;

/** Fewer runs on webgpu, where every step is a dispatch on a software adapter. */
function runs(backend: string, n: number): number {
  return backend === "webgpu" ? Math.ceil(n / 4) : n;
}

type Factory = (
  lr: number,
  options?: Record<string, unknown>,
) => GradientTransformation<unknown>;

// Each optimizer with its numeric options (a valid value and the range the
// docs give) and its boolean options, from the table of optimizers
// (testing/optimizer_table.ts).
const OPTIMIZERS: Record<string, {
  make: Factory;
  numbers: Record<string, { ok: number; min: number; max: number }>;
  booleans: string[];
}> = Object.fromEntries(
  OPTIMIZER_ROWS.map(([name, row]) => [name, {
    make: CHAIN_OPTIMIZERS[name].make as Factory,
    ...row.hostile,
  }]),
);
const NAMES = Object.keys(OPTIMIZERS);

/** Numbers no hyperparameter accepts: not finite, or beyond float32. */
const notFloat32 = fc.constantFrom(NaN, Infinity, -Infinity, 1e39, -1e39);
/** Values of the wrong type for a number or a boolean. */
const wrongType = fc.oneof(
  fc.string({ maxLength: 4 }),
  fc.constantFrom(null, {}, [], [0.1], () => 0.1),
);

/** What a bad call should name: its message includes at least one of these. */
function shown(value: unknown): string[] {
  if (typeof value === "number") {
    return [String(value), value.toExponential()];
  }
  if (typeof value === "string") return [JSON.stringify(value), value];
  return [];
}

// --- a small training world -------------------------------------------------

interface World {
  vars: Record<string, tf.Variable>;
  tx: GradientTransformation<unknown>;
  state: unknown;
}

let serial = 0;
function makeWorld(name: string, gc: boolean): World {
  const id = `hostile${serial++}`;
  const vars: Record<string, tf.Variable> = {
    [`${id}/kernel`]: tf.variable(
      tf.randomNormal([3, 2], 0, 1, "float32", 1),
      true,
      `${id}/kernel`,
    ),
    [`${id}/bias`]: tf.variable(tf.tensor1d([0.5, -0.5]), true, `${id}/bias`),
  };
  const tx = OPTIMIZERS[name]!.make(0.01, { gc });
  let state = initState(tx, vars);
  for (let i = 0; i < 2; i++) {
    const grads = tf.tidy(() => gradsFor(vars, i + 1));
    state = runStep(tx, grads, state, vars);
    tf.dispose(Object.values(grads));
  }
  return { vars, tx, state };
}

function gradsFor(
  vars: Record<string, tf.Variable>,
  seed: number,
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(vars)) {
    out[k] = tf.randomNormal(v.shape, 0, 1, "float32", seed);
  }
  return out;
}

function disposeWorld(w: World): void {
  disposeState(w.state);
  tf.dispose(Object.values(w.vars));
}

/** Every tensor in a state, in a fixed order. */
function tensorsOf(x: unknown, out: tf.Tensor[] = []): tf.Tensor[] {
  if (x instanceof tf.Tensor) out.push(x);
  else if (Array.isArray(x)) { for (const v of x) tensorsOf(v, out); }
  else if (x !== null && typeof x === "object") {
    for (const k of Object.keys(x).sort()) {
      tensorsOf((x as Record<string, unknown>)[k], out);
    }
  }
  return out;
}

interface Snapshot {
  numTensors: number;
  values: Float32Array[];
  disposed: boolean[];
}

async function snapshot(tensors: tf.Tensor[]): Promise<Snapshot> {
  // counted before reading: reading creates no tensors, but be explicit
  const numTensors = tf.memory().numTensors;
  const values: Float32Array[] = [];
  for (const t of tensors) {
    values.push(
      t.isDisposed ? new Float32Array() : Float32Array.from(await t.data()),
    );
  }
  return { numTensors, values, disposed: tensors.map((t) => t.isDisposed) };
}

/**
 * Runs `call`, which must throw a TypeError or RangeError naming one of
 * `names`, and checks that `watched` and the tensor count are unchanged.
 */
async function assertRefused(
  label: string,
  call: () => unknown,
  names: string[],
  watched: tf.Tensor[] = [],
): Promise<void> {
  const before = await snapshot(watched);
  let error: unknown = undefined;
  try {
    call();
  } catch (e) {
    error = e;
  }
  assert.ok(error !== undefined, `${label}: no error was thrown`);
  assert.ok(
    error instanceof TypeError || error instanceof RangeError,
    `${label}: threw ${String(error)}, not a TypeError or RangeError`,
  );
  const message = (error as Error).message;
  assert.ok(
    names.some((n) => n !== "" && message.includes(n)),
    `${label}: the message does not name any of ${
      JSON.stringify(names)
    }: ${message}`,
  );
  const after = await snapshot(watched);
  assert.equal(after.numTensors, before.numTensors, `${label}: tensor count`);
  assert.deepEqual(after.disposed, before.disposed, `${label}: disposed`);
  after.values.forEach((v, i) =>
    assert.deepEqual(v, before.values[i], `${label}: tensor ${i} changed`)
  );
}

// --- factories ----------------------------------------------------------------

const badFactoryCall = fc.oneof(
  // a learning rate that no optimizer takes (a function is a schedule, which
  // every optimizer takes)
  fc.record({
    name: fc.constantFrom(...NAMES),
    kind: fc.constant("learningRate" as const),
    value: fc.oneof(notFloat32, fc.constantFrom(-1, -1e-3), wrongType),
  }).filter((c) => typeof c.value !== "function"),
  // a numeric option out of its range, not a float32 or of the wrong type
  // (an optimizer with no numeric option, such as signSgd, has no such call)
  fc.constantFrom(
    ...NAMES.filter((n) => Object.keys(OPTIMIZERS[n]!.numbers).length > 0),
  ).chain((name) => {
    const keys = Object.keys(OPTIMIZERS[name]!.numbers);
    return fc.record({
      name: fc.constant(name),
      kind: fc.constant("number" as const),
      key: fc.constantFrom(...keys),
      value: fc.oneof(notFloat32, fc.constantFrom(-0.5, 1.5), wrongType),
    });
  }),
  // a boolean option that is not a boolean
  fc.constantFrom(...NAMES).chain((name) =>
    fc.record({
      name: fc.constant(name),
      kind: fc.constant("boolean" as const),
      key: fc.constantFrom(...OPTIMIZERS[name]!.booleans),
      value: fc.oneof(fc.constantFrom("no", "yes", 0, 1, null, {}), wrongType),
    }).filter((c) =>
      // gc also takes "conv" and an axes resolver (a function)
      !(c.key === "gc" && typeof c.value === "function")
    )
  ),
  // a key the optimizer does not have (a typo, or a property of Object)
  fc.record({
    name: fc.constantFrom(...NAMES),
    kind: fc.constant("unknown" as const),
    key: fc.oneof(
      fc.constantFrom("momentun", "toString", "constructor", "lr", "beta1"),
      fc.string({ minLength: 1, maxLength: 8 }).map((s) => `x_${s}`),
    ),
    value: fc.constantFrom(0.5, true, "a"),
  }),
  // options that are not an options object
  fc.record({
    name: fc.constantFrom(...NAMES),
    kind: fc.constant("options" as const),
    value: fc.constantFrom(5, "adam", true, [0.9]),
  }),
);

testOnBackends(
  "hostile input: a malformed optimizer factory call is a TypeError/RangeError naming the value, and allocates nothing",
  async (backend) => {
    await fc.assert(
      fc.asyncProperty(badFactoryCall, async (c) => {
        const f = OPTIMIZERS[c.name]!.make;
        const value = c.value as unknown;
        // boolean options may be skipped when the range is [0, 1] and the
        // value is in it: those are no faults
        if (
          c.kind === "number" &&
          typeof value === "number" &&
          Number.isFinite(value) &&
          Math.abs(value) < 3.4e38 &&
          value >= OPTIMIZERS[c.name]!.numbers[c.key]!.min &&
          value <= OPTIMIZERS[c.name]!.numbers[c.key]!.max
        ) return;
        const label = `${c.name}(${JSON.stringify(c)})`;
        switch (c.kind) {
          case "learningRate":
            await assertRefused(label, () => f(value as number), [
              "learningRate",
              ...shown(value),
            ]);
            break;
          case "options":
            await assertRefused(
              label,
              () => f(0.1, value as Record<string, unknown>),
              ["options", ...shown(value)],
            );
            break;
          default:
            await assertRefused(label, () => f(0.1, { [c.key]: value }), [
              c.key,
            ]);
        }
      }),
      { seed: SEED, numRuns: runs(backend, 300) },
    );
  },
);

// --- drivers ------------------------------------------------------------------

type DriverFault =
  | "unknown name"
  | "wrong shape"
  | "int32"
  | "bool"
  | "disposed"
  | "not a tensor"
  | "grads not an object";

const driverCall = fc.record({
  optimizer: fc.constantFrom(...NAMES),
  gc: fc.boolean(),
  driver: fc.constantFrom("runStep", "runUpdate", "applyUpdates"),
  fault: fc.constantFrom<DriverFault>(
    "unknown name",
    "wrong shape",
    "int32",
    "bool",
    "disposed",
    "not a tensor",
    "grads not an object",
  ),
  which: fc.constantFrom(0, 1),
  junk: fc.constantFrom(0, "g", null, [1, 2]),
  stray: fc.oneof(
    fc.constantFrom("toString", "constructor", "__proto__x", ""),
    fc.string({ minLength: 1, maxLength: 6 }).map((s) => `stray/${s}`),
  ),
});

testOnBackends(
  "hostile input: malformed gradients or updates are refused by every driver, naming them, with weights, state and tensor count unchanged",
  async (backend) => {
    await fc.assert(
      fc.asyncProperty(driverCall, async (c) => {
        const w = makeWorld(c.optimizer, c.gc);
        const names = Object.keys(w.vars);
        const target = names[c.which]!;
        const grads = gradsFor(w.vars, 7);
        const made: tf.Tensor[] = [];
        let bad: unknown = grads;
        const mention: string[] = [target];
        switch (c.fault) {
          case "unknown name": {
            const t = tf.zeros([2]);
            made.push(t);
            bad = { ...grads, [c.stray]: t };
            mention.splice(0, 1, c.stray === "" ? '""' : c.stray);
            break;
          }
          case "wrong shape": {
            const t = tf.zeros([5]);
            made.push(t);
            bad = { ...grads, [target]: t };
            break;
          }
          case "int32":
          case "bool": {
            const t = tf.zeros(w.vars[target]!.shape, c.fault);
            made.push(t);
            bad = { ...grads, [target]: t };
            mention.push(c.fault);
            break;
          }
          case "disposed": {
            const t = tf.zeros(w.vars[target]!.shape);
            t.dispose();
            bad = { ...grads, [target]: t };
            break;
          }
          case "not a tensor":
            bad = { ...grads, [target]: c.junk };
            break;
          case "grads not an object":
            bad = c.junk;
            mention.splice(
              0,
              1,
              "grads",
              "gradients",
              "updates",
              String(c.junk),
            );
            break;
        }
        const watched = [...Object.values(w.vars), ...tensorsOf(w.state)];
        const label = `${c.driver}(${c.optimizer}, ${c.fault})`;
        try {
          await assertRefused(
            label,
            () => {
              const g = bad as Record<string, tf.Tensor>;
              if (c.driver === "runStep") runStep(w.tx, g, w.state, w.vars);
              else if (c.driver === "runUpdate") {
                runUpdate(w.tx, g, w.state, w.vars);
              } else applyUpdates(w.vars, g);
            },
            mention,
            watched,
          );
        } finally {
          tf.dispose([...Object.values(grads), ...made]);
          disposeWorld(w);
        }
      }),
      { seed: SEED, numRuns: runs(backend, 120) },
    );
  },
);

const stateCall = fc.record({
  optimizer: fc.constantFrom(...NAMES),
  other: fc.constantFrom(...NAMES),
  fault: fc.constantFrom("another chain", "null", "number", "disposed"),
});

testOnBackends(
  "hostile input: a state that is not this chain's is refused by runStep and runUpdate, with weights and tensor count unchanged",
  async (backend) => {
    await fc.assert(
      fc.asyncProperty(stateCall, async (c) => {
        if (c.fault === "another chain" && c.other === c.optimizer) return;
        const w = makeWorld(c.optimizer, false);
        const o = makeWorld(c.other, true);
        const grads = gradsFor(w.vars, 3);
        let bad: unknown;
        if (c.fault === "another chain") bad = o.state;
        else if (c.fault === "null") bad = null;
        else if (c.fault === "number") bad = 3;
        else {
          bad = initState(w.tx, w.vars);
          // a state without tensors cannot be disposed: no fault to find
          if (tensorsOf(bad).length === 0) {
            tf.dispose(Object.values(grads));
            disposeWorld(w);
            disposeWorld(o);
            return;
          }
          disposeState(bad);
        }
        const watched = [...Object.values(w.vars), ...tensorsOf(w.state)];
        try {
          for (const driver of ["runStep", "runUpdate"]) {
            await assertRefused(
              `${driver}(${c.optimizer}, ${c.fault})`,
              () => {
                if (driver === "runStep") runStep(w.tx, grads, bad, w.vars);
                else runUpdate(w.tx, grads, bad, w.vars);
              },
              ["state"],
              watched,
            );
          }
        } finally {
          tf.dispose(Object.values(grads));
          disposeWorld(w);
          disposeWorld(o);
        }
      }),
      { seed: SEED, numRuns: runs(backend, 40) },
    );
  },
);

// --- ChainOptimizer -------------------------------------------------------------

const optimizerCall = fc.oneof(
  fc.record({
    kind: fc.constant("from name" as const),
    name: fc.oneof(
      fc.constantFrom(
        "constructor",
        "toString",
        "valueOf",
        "__proto__",
        "hasOwnProperty",
        "Adam",
        "",
      ),
      fc.string({ minLength: 1, maxLength: 8 }).map((s) => `no_${s}`),
    ),
  }),
  fc.record({
    kind: fc.constant("from option" as const),
    name: fc.constantFrom(...NAMES),
    key: fc.constantFrom(
      "learningRate",
      "momentun",
      "toString",
      "constructor",
      "gc",
    ),
    value: fc.oneof(notFloat32, fc.constantFrom(-1, "x", null, [1], {})),
  }),
  fc.record({
    kind: fc.constant("setHyperparam" as const),
    name: fc.constantFrom(...NAMES),
    key: fc.constantFrom("learningRate", "toString", "constructor", "lr"),
    value: fc.oneof(notFloat32, fc.constantFrom(-1, -1e-9, "0.1", null)),
  }),
);

testOnBackends(
  "hostile input: ChainOptimizer refuses bad names, options and hyperparameters by name, before and after a step, with nothing changed",
  async (backend) => {
    await fc.assert(
      fc.asyncProperty(optimizerCall, fc.boolean(), async (c, stepFirst) => {
        const label = JSON.stringify(c);
        if (c.kind === "from name") {
          await assertRefused(
            label,
            () => ChainOptimizer.from(c.name, {}),
            [JSON.stringify(c.name), c.name],
          );
          return;
        }
        if (c.kind === "from option") {
          const v = c.value as unknown;
          if (
            c.key === "gc" && typeof v === "boolean"
          ) return;
          await assertRefused(
            label,
            () =>
              ChainOptimizer.from(c.name, {
                learningRate: 0.1,
                [c.key]: v,
              } as never),
            [c.key],
          );
          return;
        }
        const opt = ChainOptimizer.from(c.name, { learningRate: 0.1 });
        const v = tf.variable(tf.ones([2]), true, `hostile${serial++}/w`);
        try {
          if (stepFirst) {
            const g = tf.ones([2]);
            opt.applyGradients({ [v.name]: g });
            g.dispose();
          }
          // before the first step, the refused call must not even leave the
          // state it builds to read the hyperparameters (nothing is read
          // first, so the tensor count is the one before any state exists)
          const stateBefore = opt.state;
          const watched = [v, ...tensorsOf(stateBefore)];
          const before = stepFirst ? { ...(opt.hyperparams() ?? {}) } : null;
          await assertRefused(
            label,
            () => opt.setHyperparam(c.key, c.value as number),
            c.key === "learningRate"
              ? [c.key, ...shown(c.value)]
              : [JSON.stringify(c.key), c.key],
            watched,
          );
          assert.equal(opt.state === null, stateBefore === null, "state kept");
          if (before !== null) {
            assert.deepEqual(opt.hyperparams() ?? {}, before);
          }
        } finally {
          opt.dispose();
          v.dispose();
        }
      }),
      { seed: SEED, numRuns: runs(backend, 150) },
    );
  },
);
