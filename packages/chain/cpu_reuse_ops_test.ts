// Adversarial tests of the cpu output pool (`_cpu_pool.ts`): every way found
// of holding a fused step's output past the step, through tfjs's own ops and
// backends, must keep what it holds, and a run with reuse must give the
// numbers of a run into fresh arrays. Each test also checks that arrays were
// reused in the same run, so that the pool's guard was needed there. What a
// holder saw is copied by a kernel (`tf.mul(t, 1)`), never read out, where
// the read itself would protect the array.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { runStep } from "@centra/chain";
import { cpuReuse } from "./_cpu_pool.ts";
import { cpuArenaTests } from "./_test_utils.ts";
import { collectTensors } from "./_tree.ts";
import {
  fusedGcAdamwClip,
  noisyGrads,
  SeededRun,
} from "@centra/testing/fused_drivers.ts";

const SHAPES: Record<string, number[]> = {
  "conv/kernel": [3, 3, 4, 8],
  "dense/kernel": [24, 6],
  "dense/bias": [6],
};

const cpuTest = cpuArenaTests;

/** A run of the fused chain over this file's shapes. */
class Run extends SeededRun {
  constructor(tx = fusedGcAdamwClip()) {
    super(tx, SHAPES, "cpuholes", 900);
  }
}

const weight = (run: Run) => run.vars["conv/kernel"]!;
const moment = (run: Run) =>
  [...collectTensors(run.state)].find((t) => t.rank === 4)!;

/** Values copied by a kernel: what `t` holds now, without reading `t` out. */
function copyOf(t: tf.Tensor): number[] {
  const c = tf.mul(t, 1);
  const v = Array.from(c.dataSync());
  c.dispose();
  return v;
}

/** A way to hold on to (part of) a step's output past the next steps. */
interface Hold {
  what: string;
  /** The tensors held (the test reads them after more steps). */
  take(run: Run): tf.Tensor[];
}

const HOLDS: Hold[] = [
  {
    what: "the rows of tf.unstack (slices on cpu)",
    take: (run) => tf.unstack(moment(run), 0),
  },
  {
    what: "a tf.stridedSlice of one contiguous block",
    take: (
      run,
    ) => [
      tf.stridedSlice(weight(run), [1, 0, 0, 0], [2, 3, 4, 8], [1, 1, 1, 1]),
    ],
  },
  {
    what: "tf.gather of rows",
    take: (run) => [tf.gather(moment(run), [2, 0], 0)],
  },
  {
    what: "tf.concat of one tensor",
    take: (run) => [tf.concat([weight(run)], 0)],
  },
  {
    what: "tf.cast to float32 and tf.expandDims",
    take: (run) => [
      tf.cast(moment(run), "float32"),
      tf.expandDims(weight(run), 0),
    ],
  },
  {
    what: "tf.real of tf.complex (complex parts are stored arrays)",
    take: (run) => {
      const c = tf.complex(weight(run), moment(run));
      const parts = [tf.real(c), tf.imag(c)];
      // the complex tensor itself is held too
      return [c, ...parts];
    },
  },
  {
    what: "a tf.variable made from a state slot",
    take: (run) => [tf.variable(moment(run), false)],
  },
  {
    what: "tf.keep of a tf.tidy returning a state slot",
    take: (run) => [tf.keep(tf.tidy(() => tf.reshape(moment(run), [-1])))],
  },
];

for (const hold of HOLDS) {
  cpuTest(
    `a tensor held across fused cpu steps keeps its values: ${hold.what}`,
    () => {
      const before = tf.memory().numTensors;
      const run = new Run();
      run.step(3);
      const held = hold.take(run);
      const seen = held.map((t) => t.dtype === "complex64" ? [] : copyOf(t));
      const reused0 = cpuReuse.reused;
      run.step(6);
      assert.ok(cpuReuse.reused > reused0, "no array was reused");
      held.forEach((t, k) => {
        if (t.dtype === "complex64") return;
        assert.deepEqual(Array.from(t.dataSync()), seen[k], `tensor ${k}`);
      });
      tf.dispose(held);
      run.dispose();
      assert.equal(tf.memory().numTensors, before);
    },
  );
}

cpuTest(
  "a variable assigned a tensor the user keeps, then stepped, leaves the kept tensor's values",
  () => {
    const run = new Run();
    run.step(3);
    // the user writes a moment into the weight's variable of the same shape
    const kept = tf.keep(tf.clone(moment(run)));
    weight(run).assign(kept);
    const seen = copyOf(kept);
    const reused0 = cpuReuse.reused;
    run.step(6);
    assert.ok(cpuReuse.reused > reused0, "no array was reused");
    assert.deepEqual(Array.from(kept.dataSync()), seen);
    kept.dispose();
    run.dispose();
  },
);

cpuTest(
  "a state slot passed in as a gradient gives the numbers of fresh arrays",
  () => {
    const both = [false, true].map((enabled) => {
      cpuReuse.enabled = enabled;
      const run = new Run();
      run.step(3);
      const reused0 = cpuReuse.reused;
      for (let k = 0; k < 6; k++) {
        const g = noisyGrads(run.vars, run.steps++, 900);
        // the conv kernel's gradient is its own first moment
        tf.dispose(g["conv/kernel"]!);
        g["conv/kernel"] = moment(run);
        try {
          run.state = runStep(run.tx, g, run.state, run.vars);
        } finally {
          tf.dispose(
            Object.entries(g).filter(([n]) => n !== "conv/kernel").map((
              [, t],
            ) => t),
          );
        }
      }
      if (enabled) assert.ok(cpuReuse.reused > reused0, "no array reused");
      const v = run.values();
      run.dispose();
      return v;
    });
    assert.deepEqual(both[1], both[0]);
  },
);

cpuTest(
  "reads through tf.engine().readSync and tf.backend().readSync keep their arrays",
  () => {
    const run = new Run();
    run.step(3);
    const a = tf.engine().readSync(weight(run).dataId) as Float32Array;
    const b = tf.backend().readSync(moment(run).dataId) as Float32Array;
    const seen = [Array.from(a), Array.from(b)];
    const reused0 = cpuReuse.reused;
    run.step(6);
    assert.ok(cpuReuse.reused > reused0, "no array was reused");
    assert.deepEqual([Array.from(a), Array.from(b)], seen);
    run.dispose();
  },
);

/** A second cpu backend, "cpu-b", with every kernel of "cpu". */
function secondCpu(): void {
  if (tf.findBackend("cpu-b") !== null) return;
  const Cpu = tf.findBackend("cpu")!.constructor as new () => tf.KernelBackend;
  tf.registerBackend("cpu-b", () => new Cpu());
  for (const k of tf.getKernelsForBackend("cpu")) {
    tf.registerKernel({ ...k, backendName: "cpu-b" });
  }
}

cpuTest(
  "training that moves to a second cpu backend and back gives fresh arrays' numbers, and held tensors keep theirs",
  async () => {
    secondCpu();
    const results = [];
    for (const enabled of [false, true]) {
      cpuReuse.enabled = enabled;
      await tf.setBackend("cpu");
      const run = new Run();
      run.step(3);
      const held = [tf.clone(moment(run)), tf.reshape(weight(run), [-1])];
      const seen = held.map(copyOf);
      const reused0 = cpuReuse.reused;
      await tf.setBackend("cpu-b");
      run.step(4);
      await tf.setBackend("cpu");
      run.step(4);
      await tf.setBackend("cpu-b");
      run.step(2);
      await tf.setBackend("cpu");
      if (enabled) assert.ok(cpuReuse.reused > reused0, "no array reused");
      held.forEach((t, k) =>
        assert.deepEqual(Array.from(t.dataSync()), seen[k], `held ${k}`)
      );
      tf.dispose(held);
      results.push(run.values());
      run.dispose();
    }
    assert.deepEqual(results[1], results[0]);
  },
);

cpuTest(
  "a custom cpu kernel that returns a view of its input (through makeTensorInfo) keeps the view's values",
  () => {
    const name = "CentraHolesView";
    if (!tf.getKernel(name, "cpu")) {
      tf.registerKernel({
        kernelName: name,
        backendName: "cpu",
        kernelFunc: ({ inputs, backend }) => {
          const x = inputs.x as tf.TensorInfo;
          const b = backend as unknown as {
            data: { get(id: object): { values: Float32Array } };
            makeTensorInfo(
              s: number[],
              d: string,
              v: Float32Array,
            ): tf.TensorInfo;
          };
          const v = b.data.get(x.dataId).values;
          return b.makeTensorInfo([8], "float32", v.subarray(8, 16));
        },
      });
    }
    const run = new Run();
    run.step(3);
    const view = tf.engine().runKernel(name, { x: moment(run) }) as tf.Tensor;
    const seen = copyOf(view);
    const reused0 = cpuReuse.reused;
    run.step(6);
    assert.ok(cpuReuse.reused > reused0, "no array was reused");
    assert.deepEqual(Array.from(view.dataSync()), seen);
    view.dispose();
    run.dispose();
  },
);

cpuTest(
  "training on after tfjs's cpu backend is removed and registered anew (a new instance, the data moved over lazily) gives fresh arrays' numbers, and held tensors keep theirs",
  async () => {
    const Cpu = tf.findBackend("cpu")!.constructor as new () =>
    tf.KernelBackend;
    const results = [];
    for (const enabled of [false, true]) {
      cpuReuse.enabled = enabled;
      const run = new Run();
      run.step(3);
      const held = [tf.clone(moment(run)), tf.reshape(weight(run), [-1])];
      const seen = held.map(copyOf);
      const reused0 = cpuReuse.reused;
      // a new cpu instance under the same name (the kernels stay registered)
      tf.removeBackend("cpu");
      tf.registerBackend("cpu", () => new Cpu());
      await tf.setBackend("cpu");
      run.step(6);
      if (enabled) assert.ok(cpuReuse.reused > reused0, "no array reused");
      held.forEach((t, k) =>
        assert.deepEqual(Array.from(t.dataSync()), seen[k], `held ${k}`)
      );
      tf.dispose(held);
      results.push(run.values());
      run.dispose();
    }
    assert.deepEqual(results[1], results[0]);
  },
);
