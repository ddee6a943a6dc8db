// Adversarial tests of the cpu output pool (`@centra/chain`'s
// `_cpu_pool.ts`) through tfjs-layers and `ChainOptimizer`: training with
// `model.fit` while callbacks read the weights, saves started mid-training,
// weights cloned across `fit`, an optimizer's weights saved and set back.
// Each compares a run that reuses arrays with one into fresh arrays
// (`cpuReuse.enabled = false`) and checks that arrays were reused in it.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { cpuReuse, idleArrays } from "../chain/_cpu_pool.ts";
import { cpuArenaTests } from "../chain/_test_utils.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { withEmaWeights } from "./ema_weights.ts";
import { fileSystem } from "./file_system.ts";
import { lrRangeTest } from "./lr_range.ts";
import { memoryIO, tinyData, tinyModel } from "./_test_utils.ts";

// each test over the pool's JavaScript arrays and over arenas with SIMD loops
const cpuTest = cpuArenaTests;

/** A seeded model compiled with a fused AdamW (GC, EMA of the weights). */
function compiled(prefix: string): {
  model: tf.Sequential;
  optimizer: ChainOptimizer;
} {
  const model = tinyModel(4, prefix);
  const optimizer = ChainOptimizer.from("adamw", {
    learningRate: 0.02,
    weightDecay: 0.01,
    gc: true,
    useEma: true,
  });
  assert.equal(optimizer.fused, true);
  model.compile({ optimizer, loss: "categoricalCrossentropy" });
  return { model, optimizer };
}

/** Values copied by a kernel, without reading `t` itself out. */
function copyOf(t: tf.Tensor): number[] {
  const c = tf.mul(t, 1);
  const v = Array.from(c.dataSync());
  c.dispose();
  return v;
}

/** The artifacts' weight bytes as one float32 array. */
function weightFloats(a: tf.io.ModelArtifacts): number[] {
  const d = a.weightData!;
  const parts = Array.isArray(d) ? d : [d];
  return parts.flatMap((p) => Array.from(new Float32Array(p)));
}

/** `model.fit` quietly, batches in order. */
async function fitInOrder(
  model: tf.LayersModel,
  xs: tf.Tensor,
  ys: tf.Tensor,
  epochs: number,
  batchSize: number,
): Promise<tf.History> {
  return await model.fit(xs, ys, {
    epochs,
    batchSize,
    verbose: 0,
    shuffle: false,
  });
}

/** What `freshThenReused` hands each run of its body. */
interface ReuseRun {
  /** Whether this run reuses arrays (the second run). */
  enabled: boolean;
  /** Starts counting reused arrays. */
  start(): void;
  /** In the run that reuses arrays, asserts one was reused since `start()`. */
  check(): void;
}

/**
 * Runs `body` into fresh arrays (`cpuReuse.enabled = false`), then reusing
 * arrays, and asserts both runs return deepEqual results. The body calls
 * `start()` and `check()` around the steps that must reuse arrays.
 */
async function freshThenReused<T>(
  body: (run: ReuseRun) => T | Promise<T>,
): Promise<void> {
  const out: T[] = [];
  for (const enabled of [false, true]) {
    cpuReuse.enabled = enabled;
    let reused0 = NaN; // check() before start() fails
    out.push(
      await body({
        enabled,
        start: () => {
          reused0 = cpuReuse.reused;
        },
        check: () => {
          if (enabled) {
            assert.ok(cpuReuse.reused > reused0, "no array was reused");
          }
        },
      }),
    );
  }
  assert.deepEqual(out[1], out[0]);
}

cpuTest(
  "model.fit with callbacks that read the weights (sync and async) gives fresh arrays' weights, losses and reads, and every read array keeps its values",
  async () => {
    const before = tf.memory().numTensors;
    const { xs, ys } = tinyData(16, 3);
    await freshThenReused(async ({ enabled, start, check }) => {
      const { model, optimizer } = compiled(`holesfit${enabled}`);
      const reads: { a: ArrayLike<number>; seen: number[] }[] = [];
      const pending: Promise<void>[] = [];
      start();
      const history = await model.fit(xs, ys, {
        epochs: 4,
        batchSize: 4,
        shuffle: false,
        verbose: 0,
        callbacks: {
          onBatchEnd: async (batch) => {
            if (batch % 3 === 0) {
              // a sync read of one layer's kernel
              const a = model.layers[2]!.getWeights()[0]!.dataSync();
              reads.push({ a, seen: Array.from(a) });
            } else if (batch % 3 === 1) {
              // an awaited read of the output bias
              const a = await model.layers[3]!.getWeights()[1]!.data();
              reads.push({ a, seen: Array.from(a) });
            } else {
              // a read not awaited by the callback
              pending.push(
                model.layers[0]!.getWeights()[0]!.data().then((a) => {
                  reads.push({ a, seen: Array.from(a) });
                }),
              );
            }
          },
        },
      });
      await Promise.all(pending);
      check();
      reads.forEach(({ a, seen }, k) =>
        assert.deepEqual(Array.from(a), seen, `read ${k}`)
      );
      const state = (await optimizer.getWeights()).map((w) =>
        Array.from(w.tensor.dataSync())
      );
      const result = {
        loss: history.history.loss,
        weights: model.getWeights().map((w) => Array.from(w.dataSync())),
        state,
        reads: reads.map((r) => r.seen),
      };
      model.dispose();
      optimizer.dispose();
      return result;
    });
    tf.dispose([xs, ys]);
    assert.equal(tf.memory().numTensors, before);
  },
);

cpuTest(
  "model.save started during training, with steps taken before it is awaited, saves the weights of when it started, as with fresh arrays",
  async () => {
    const { xs, ys } = tinyData(16, 5);
    await freshThenReused(async ({ enabled, start, check }) => {
      const { model, optimizer } = compiled(`holessave${enabled}`);
      await fitInOrder(model, xs, ys, 2, 4);
      const io = memoryIO();
      const snapshot = model.getWeights().flatMap(copyOf);
      const saving = model.save(io.save, { includeOptimizer: true });
      // steps before the save is awaited (its reads started at the call)
      start();
      for (let k = 0; k < 4; k++) {
        optimizer.minimize(
          () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs) as tf.Tensor),
        );
      }
      check();
      await saving;
      const floats = weightFloats(io.artifacts());
      assert.deepEqual(floats.slice(0, snapshot.length), snapshot);
      // and a save during fit, from a callback that does not await it
      const io2 = memoryIO();
      let second: Promise<unknown> | undefined;
      let atSave: number[] = [];
      await model.fit(xs, ys, {
        epochs: 2,
        batchSize: 4,
        verbose: 0,
        shuffle: false,
        callbacks: {
          onBatchEnd: (batch) => {
            if (batch === 1 && second === undefined) {
              atSave = model.getWeights().flatMap(copyOf);
              second = model.save(io2.save);
            }
          },
        },
      });
      await second;
      assert.deepEqual(weightFloats(io2.artifacts()), atSave);
      const result = [floats, atSave];
      model.dispose();
      optimizer.dispose();
      return result;
    });
    tf.dispose([xs, ys]);
  },
);

cpuTest(
  "clones of a model's weights taken before fit keep their values, and EMA swaps during fit give fresh arrays' results",
  async () => {
    const { xs, ys } = tinyData(16, 9);
    await freshThenReused(async ({ enabled, start, check }) => {
      const { model, optimizer } = compiled(`holesclone${enabled}`);
      await fitInOrder(model, xs, ys, 1, 4);
      const clones = model.getWeights().map((w) => tf.clone(w));
      const seen = clones.map(copyOf);
      const evals: number[] = [];
      start();
      await model.fit(xs, ys, {
        epochs: 3,
        batchSize: 4,
        verbose: 0,
        shuffle: false,
        callbacks: {
          onEpochEnd: async () => {
            evals.push(
              await withEmaWeights(
                optimizer,
                () => (model.evaluate(xs, ys) as tf.Scalar).dataSync()[0]!,
              ),
            );
          },
        },
      });
      check();
      clones.forEach((c, k) =>
        assert.deepEqual(Array.from(c.dataSync()), seen[k], `clone ${k}`)
      );
      tf.dispose(clones);
      const result = {
        evals,
        weights: model.getWeights().map((w) => Array.from(w.dataSync())),
      };
      model.dispose();
      optimizer.dispose();
      return result;
    });
    tf.dispose([xs, ys]);
  },
);

cpuTest(
  "an optimizer's weights set back mid-training (getWeights, more steps, setWeights) give fresh arrays' numbers",
  async () => {
    const { xs, ys } = tinyData(16, 11);
    await freshThenReused(async ({ enabled, start, check }) => {
      const { model, optimizer } = compiled(`holesset${enabled}`);
      await fitInOrder(model, xs, ys, 1, 4);
      // what a checkpoint holds: clones of the optimizer's weights
      const held = (await optimizer.getWeights()).map((w) => ({
        name: w.name,
        tensor: tf.clone(w.tensor),
      }));
      const seen = held.map((w) => copyOf(w.tensor));
      start();
      await fitInOrder(model, xs, ys, 2, 4);
      check();
      held.forEach((w, k) =>
        assert.deepEqual(Array.from(w.tensor.dataSync()), seen[k], w.name)
      );
      await optimizer.setWeights(held);
      tf.dispose(held.map((w) => w.tensor));
      await fitInOrder(model, xs, ys, 2, 4);
      const result = {
        weights: model.getWeights().map((w) => Array.from(w.dataSync())),
        state: (await optimizer.getWeights()).map((w) =>
          Array.from(w.tensor.dataSync())
        ),
      };
      model.dispose();
      optimizer.dispose();
      return result;
    });
    tf.dispose([xs, ys]);
  },
);

cpuTest(
  "a save to disk with fileSystem, steps taken before it is awaited, loads back the weights of when it started",
  async () => {
    const { xs, ys } = tinyData(16, 13);
    const dir = await Deno.makeTempDir();
    try {
      await freshThenReused(async ({ enabled, start, check }) => {
        const { model, optimizer } = compiled(`holesdisk${enabled}`);
        await fitInOrder(model, xs, ys, 2, 4);
        const snapshot = model.getWeights().map(copyOf);
        const path = `${dir}/m${enabled}`;
        const saving = model.save(fileSystem(path), { includeOptimizer: true });
        start();
        for (let k = 0; k < 4; k++) {
          optimizer.minimize(() =>
            tf.losses.softmaxCrossEntropy(ys, model.apply(xs) as tf.Tensor)
          );
        }
        check();
        await saving;
        const back = await tf.loadLayersModel(fileSystem(path));
        const values = back.getWeights().map((w) => Array.from(w.dataSync()));
        assert.deepEqual(values, snapshot);
        const opt = back.optimizer as ChainOptimizer;
        const state = (await opt.getWeights()).map((w) =>
          Array.from(w.tensor.dataSync())
        );
        const result = { values, state };
        back.optimizer?.dispose();
        back.dispose();
        model.dispose();
        optimizer.dispose();
        return result;
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    tf.dispose([xs, ys]);
  },
);

cpuTest(
  "lrRangeTest with a fused optimizer puts back the weights it started from, and training after it gives fresh arrays' numbers",
  async () => {
    const { xs, ys } = tinyData(32, 17);
    await freshThenReused(async ({ enabled, start, check }) => {
      const { model, optimizer } = compiled(`holeslr${enabled}`);
      await fitInOrder(model, xs, ys, 1, 8);
      const before = model.getWeights().map(copyOf);
      start();
      const r = await lrRangeTest(model, { xs, ys }, {
        minLr: 1e-4,
        maxLr: 1,
        steps: 12,
        batchSize: 8,
      });
      check();
      assert.deepEqual(model.getWeights().map(copyOf), before);
      await fitInOrder(model, xs, ys, 2, 8);
      const result = {
        losses: r.losses,
        weights: model.getWeights().map((w) => Array.from(w.dataSync())),
      };
      model.dispose();
      optimizer.dispose();
      return result;
    });
    tf.dispose([xs, ys]);
  },
);

cpuTest(
  "two ChainOptimizers on one chain (one fused form, one pool) training the same variables in turn, one disposed midway, give fresh arrays' numbers",
  async () => {
    const before = tf.memory().numTensors;
    await freshThenReused(({ enabled, start, check }) => {
      const tx = ChainOptimizer.from("adamw", {
        learningRate: 0.05,
        gc: true,
      }).tx;
      const vars = tf.tidy(() =>
        [[3, 3, 2, 4], [10, 4], [4]].map((s, k) =>
          tf.variable(
            tf.randomNormal(s, 0, 1, "float32", 40 + k),
            true,
            `holestwo${enabled}/${k}`,
          )
        )
      );
      const a = new ChainOptimizer(tx), b = new ChainOptimizer(tx);
      const held = tf.keep(tf.clone(vars[0]!));
      const seen = copyOf(held);
      start();
      for (let k = 0; k < 12; k++) {
        const g = tf.tidy(() =>
          Object.fromEntries(
            vars.map((v, i) => [
              v.name,
              tf.add(
                tf.mul(v, 0.3),
                tf.randomNormal(v.shape, 0, 0.2, "float32", 1000 + 100 * k + i),
              ),
            ]),
          )
        );
        (k % 2 === 0 || k > 7 ? a : b).applyGradients(g);
        tf.dispose(Object.values(g));
        if (k === 7) b.dispose();
      }
      check();
      assert.deepEqual(Array.from(held.dataSync()), seen);
      const result = vars.map((v) => Array.from(v.dataSync()));
      held.dispose();
      a.dispose();
      tf.dispose(vars);
      return result;
    });
    assert.equal(tf.memory().numTensors, before);
  },
);

cpuTest(
  "ChainOptimizer.dispose() lets go of the arrays its fused steps kept for reuse, the model kept",
  async () => {
    const base = idleArrays();
    const { xs, ys } = tinyData(16, 3);
    const { model, optimizer } = compiled("holesdispose");
    const reused0 = cpuReuse.reused;
    await model.fit(xs, ys, { epochs: 2, batchSize: 4, verbose: 0 });
    assert.ok(cpuReuse.reused > reused0, "no array was reused");
    assert.ok(idleArrays() > base, "nothing held between steps");
    optimizer.dispose();
    assert.equal(idleArrays(), base);
    // the model trains on with a new optimizer
    model.compile({
      optimizer: ChainOptimizer.from("adam", { learningRate: 0.01 }),
      loss: "categoricalCrossentropy",
    });
    await model.fit(xs, ys, { epochs: 1, batchSize: 4, verbose: 0 });
    (model.optimizer as ChainOptimizer).dispose();
    model.dispose();
    tf.dispose([xs, ys]);
  },
);
