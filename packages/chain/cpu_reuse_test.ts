// The cpu generator writes a step's outputs into the arrays of its earlier
// outputs once tfjs has freed them (`_cpu_pool.ts`). These tests hold it to
// what that must not change: the numbers (the same as into fresh arrays),
// anything a user read out or still views (a `dataSync` array, a `data()`
// array, a `bufferSync` buffer, a slice, a reshape, a clone, a split), the
// tensor count, and a failed step's "nothing changed". Each one also checks
// that arrays were reused in the same run, so that the guard it tests was
// needed there.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  applyUpdates,
  disposeState,
  fuse,
  type GradientTransformation,
  runStep,
  runUpdate,
  sgd,
} from "@centra/chain";
import { cpuReuse, idleArrays } from "./_cpu_pool.ts";
import { cpuFaults } from "./_cpu_generator.ts";
import { cpuArenaTests } from "./_test_utils.ts";
import { collectTensors } from "./_tree.ts";
import {
  fusedGcAdamwClip,
  noisyGrads,
  SeededRun,
} from "@centra/testing/fused_drivers.ts";

const SHAPES: Record<string, number[]> = {
  "conv/kernel": [3, 3, 4, 8],
  "conv/bias": [8],
  "dense/kernel": [24, 6],
  "tall/kernel": [101, 3],
};

const cpuTest = cpuArenaTests;

/** A run of the fused chain over this file's shapes. */
class Run extends SeededRun {
  constructor(tx = fusedGcAdamwClip()) {
    super(tx, SHAPES, "cpureuse", 500);
  }
}

cpuTest(
  "a fused cpu step reuses freed output arrays and gives the numbers it gives into fresh ones",
  () => {
    const before = tf.memory().numTensors;
    cpuReuse.enabled = false;
    const fresh = new Run();
    fresh.step(12);
    cpuReuse.enabled = true;
    const reused0 = cpuReuse.reused;
    const pooled = new Run();
    pooled.step(12);
    // 4 tensors x 3 outputs (weight, two moments) from the third step on
    assert.ok(
      cpuReuse.reused - reused0 >= 4 * 3 * 10,
      `reused ${cpuReuse.reused - reused0} arrays`,
    );
    assert.deepEqual(pooled.values(), fresh.values());
    fresh.dispose();
    pooled.dispose();
    assert.equal(tf.memory().numTensors, before);
  },
);

/** What a holder saw when it took hold, and how to look again. */
interface Held {
  seen: number[];
  read(): number[];
  free(): void;
}

/** A way a user can hold on to a tensor's values across steps. */
interface Hold {
  what: string;
  take(run: Run): Held;
}

/**
 * A tensor held on to: what it holds is copied by a kernel (not read out,
 * which alone would stop reuse), so that only the hold itself can protect it.
 */
function heldTensors(...ts: tf.Tensor[]): Held {
  const copies = ts.map((t) => tf.mul(t, 1));
  const seen = copies.flatMap((c) => Array.from(c.dataSync()));
  tf.dispose(copies);
  return {
    seen,
    read: () => ts.flatMap((t) => Array.from(t.dataSync())),
    free: () => tf.dispose(ts),
  };
}

/** An array read out: what it held then. */
function heldArray(a: ArrayLike<number>): Held {
  return { seen: Array.from(a), read: () => Array.from(a), free() {} };
}

const weight = (run: Run) => run.vars["conv/kernel"]!;
/** The first state slot of conv/kernel's shape (a moment). */
const firstMoment = (run: Run) =>
  [...collectTensors(run.state)].find((t) => t.rank === 4)!;

const HOLDS: Hold[] = [
  {
    what: "a weight's dataSync() array",
    take: (run) => heldArray(weight(run).dataSync()),
  },
  {
    what: "a state slot's dataSync() array",
    take: (run) => heldArray(firstMoment(run).dataSync()),
  },
  {
    what: "a weight's bufferSync() buffer",
    take: (run) => heldArray(weight(run).bufferSync().values),
  },
  {
    what: "a contiguous slice of a weight (a view of its array on cpu)",
    take: (run) =>
      heldTensors(tf.slice(weight(run), [1, 0, 0, 0], [1, 3, 4, 8])),
  },
  {
    what: "a split of a state slot (views of its array on cpu)",
    take: (run) => heldTensors(...tf.split(firstMoment(run), 3, 0)),
  },
  {
    what: "a reshape of a weight",
    take: (run) => heldTensors(tf.reshape(weight(run), [-1])),
  },
  {
    what: "a clone of a state slot",
    take: (run) => heldTensors(tf.clone(firstMoment(run))),
  },
];

for (const hold of HOLDS) {
  cpuTest(
    `a fused cpu step never reuses what someone holds: ${hold.what}`,
    () => {
      const before = tf.memory().numTensors;
      const run = new Run();
      run.step(3);
      const held = hold.take(run);
      const reused0 = cpuReuse.reused;
      run.step(6);
      assert.ok(cpuReuse.reused > reused0, "no array was reused");
      assert.deepEqual(held.read(), held.seen);
      held.free();
      run.dispose();
      assert.equal(tf.memory().numTensors, before);
    },
  );
}

cpuTest(
  "a fused cpu step never reuses an array read out with data()",
  async () => {
    const run = new Run();
    run.step(3);
    const a = await firstMoment(run).data();
    const seen = Array.from(a);
    const reused0 = cpuReuse.reused;
    run.step(6);
    assert.ok(cpuReuse.reused > reused0, "no array was reused");
    assert.deepEqual(Array.from(a), seen);
    run.dispose();
  },
);

cpuTest(
  "a failed fused cpu step with reused arrays changes nothing, and the next steps match a run that never failed",
  () => {
    for (const point of ["loop", "wrap"] as const) {
      for (const skip of [0, 5]) {
        const what = `${point} +${skip}`;
        const run = new Run(), twin = new Run();
        run.step(4);
        twin.step(4);
        const count = tf.memory().numTensors;
        // copies made by a kernel (a clone would share the data, and a read
        // out would stop reuse)
        const snapshot = tf.tidy(() =>
          [...Object.values(run.vars), ...collectTensors(run.state)].map((t) =>
            tf.mul(t, 1)
          )
        );
        const g = noisyGrads(run.vars, run.steps, 500);
        cpuFaults.point = point;
        cpuFaults.skip = skip;
        assert.throws(
          () => runStep(run.tx, g, run.state, run.vars),
          /injected fault/,
          what,
        );
        assert.equal(cpuFaults.point, null, `${what}: not reached`);
        tf.dispose(Object.values(g));
        assert.equal(tf.memory().numTensors, count + snapshot.length, what);
        const now = [...Object.values(run.vars), ...collectTensors(run.state)];
        now.forEach((t, k) =>
          assert.deepEqual(
            Array.from(t.dataSync()),
            Array.from(snapshot[k]!.dataSync()),
            `${what}: tensor ${k}`,
          )
        );
        tf.dispose(snapshot);
        const reused0 = cpuReuse.reused;
        run.step(5);
        twin.step(5);
        assert.ok(cpuReuse.reused > reused0, `${what}: no array was reused`);
        assert.deepEqual(run.values(), twin.values(), `${what}: after`);
        run.dispose();
        twin.dispose();
      }
    }
  },
);

cpuTest(
  "reuse keeps the tensor count flat over 60 fused cpu steps, and runs a chain whose outputs change size",
  () => {
    const before = tf.memory().numTensors;
    const run = new Run();
    run.step(2);
    const count = tf.memory().numTensors;
    run.step(60);
    assert.equal(tf.memory().numTensors, count);
    // a second optimizer over other shapes, then the first again
    const other = new Run(
      fuse(sgd(0.1, { momentum: 0.9, gc: true }) as GradientTransformation<
        unknown
      >),
    );
    other.step(5);
    run.step(5);
    other.dispose();
    run.dispose();
    assert.equal(tf.memory().numTensors, before);
  },
);

cpuTest(
  "a fused cpu run holds freed arrays between steps and lets go of them when its state is disposed, the weights kept",
  () => {
    const base = idleArrays();
    const run = new Run();
    run.step(5);
    // the arrays the last step replaced wait for the next one
    assert.ok(idleArrays() > base, "nothing held between steps");
    disposeState(run.state);
    assert.equal(idleArrays(), base);
    tf.dispose(Object.values(run.vars));
    assert.equal(idleArrays(), base);
  },
);

cpuTest(
  "with reuse off, a fused cpu run holds no arrays",
  () => {
    cpuReuse.enabled = false;
    const base = idleArrays();
    const run = new Run();
    run.step(5);
    assert.equal(idleArrays(), base);
    run.dispose();
  },
);

cpuTest(
  "updates disposed after every runUpdate do not stop reuse (only a disposed state does)",
  () => {
    const before = tf.memory().numTensors;
    const run = new Run();
    const reused0 = cpuReuse.reused;
    for (let step = 0; step < 8; step++) {
      const g = noisyGrads(run.vars, step, 500);
      const [u, next] = runUpdate(run.tx, g, run.state, run.vars);
      run.state = next;
      applyUpdates(run.vars, u);
      tf.dispose([...Object.values(g), ...Object.values(u)]);
    }
    // 4 tensors x 2 moments from the third step on, at least
    assert.ok(
      cpuReuse.reused - reused0 >= 4 * 2 * 6,
      `reused ${cpuReuse.reused - reused0}`,
    );
    run.dispose();
    assert.equal(tf.memory().numTensors, before);
  },
);
