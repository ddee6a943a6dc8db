// Issue 16: ChainOptimizer and trainStep run the fused step by default, and
// `{ fused: false }` runs op by op, with the same results (to float32
// rounding) and the same state, so a checkpoint of either loads into the
// other.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adam,
  chain,
  disposeState,
  type GradientTransformation,
  initState,
  type OptimizerName,
  OPTIMIZERS,
  scale,
  trace,
} from "@centra/chain";
import { dispatchStats, fuse } from "@centra/webgpu";
import {
  assertClose,
  HAS_WEBGPU,
  testOnBackends,
} from "@centra/testing/mod.ts";
import { OPTIMIZER_ROWS } from "@centra/testing/optimizer_table.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import type { JsonObject } from "./register_chain.ts";
import { trainStep } from "./train_step.ts";
import { fusedForm } from "./_fused.ts";
import { memoryIO, readWeights, tinyData, tinyModel } from "./_test_utils.ts";

/** Agreement to float32 rounding (the project's fused tolerance). */
const FLOAT32 = { rtol: 1e-4, atol: 1e-5 };

let runId = 0;

/** Variables with the layouts of a small conv net: kernel, bias, dense. */
function variables(id: number): tf.Variable[] {
  return tf.tidy(() => [
    tf.variable(
      tf.randomNormal([3, 3, 2, 4], 0, 0.5, "float32", 1),
      true,
      `fused_opt${id}/conv/kernel`,
    ),
    tf.variable(
      tf.randomNormal([4], 0, 0.5, "float32", 2),
      true,
      `fused_opt${id}/conv/bias`,
    ),
    tf.variable(
      tf.randomNormal([6, 3], 0, 0.5, "float32", 3),
      true,
      `fused_opt${id}/dense/kernel`,
    ),
  ]);
}

/** Seeded gradients of step `i` for `vars`. */
function gradsOf(vars: tf.Variable[], i: number): tf.NamedTensorMap {
  return tf.tidy(() =>
    Object.fromEntries(
      vars.map((v, k) => [
        v.name,
        tf.randomNormal(v.shape, 0.1, 1, "float32", 100 * i + k + 1),
      ]),
    )
  );
}

/** The state as names, shapes and values, in getWeights's order. */
async function stateOf(
  opt: ChainOptimizer,
  rename: (name: string) => string,
): Promise<Array<[string, number[], Float32Array]>> {
  const ws = await opt.getWeights();
  return await Promise.all(
    ws.map(async (w): Promise<[string, number[], Float32Array]> => [
      rename(w.name),
      w.tensor.shape,
      (await w.tensor.data()) as Float32Array,
    ]),
  );
}

/** The optimizers of the table with their JSON options, with and without GC. */
const CASES: Array<[OptimizerName, JsonObject]> = OPTIMIZER_ROWS.flatMap((
  [name, row],
) =>
  row.json.flatMap((o): Array<[OptimizerName, JsonObject]> =>
    Object.hasOwn(OPTIMIZERS[name].options, "gc")
      ? [[name, { ...o, gc: false } as JsonObject], [name, {
        ...o,
        gc: true,
      } as JsonObject]]
      : [[name, o as JsonObject]]
  )
);

testOnBackends(
  "ChainOptimizer: fused (the default) and { fused: false } agree to float32 rounding and hold the same state, for every optimizer of the table",
  async (backend) => {
    const steps = backend === "cpu" ? 12 : 4;
    for (const [name, options] of CASES) {
      const what = `${name} ${JSON.stringify(options)}`;
      const runs = [];
      for (const fused of [true, false]) {
        const id = runId++;
        const vars = variables(id);
        const opt = fused
          ? ChainOptimizer.from(name, options)
          : ChainOptimizer.from(name, options, { fused: false });
        assert.equal(opt.fused, fused);
        let n = 0;
        for (let i = 0; i < steps; i++) {
          const g = gradsOf(vars, i);
          opt.applyGradients(g);
          tf.dispose(Object.values(g));
          if (i === 1) n = tf.memory().numTensors;
        }
        assert.equal(tf.memory().numTensors, n, `${what}: flat per step`);
        const prefix = `fused_opt${id}/`;
        runs.push({
          weights: await Promise.all(vars.map(async (v) => await v.data())),
          state: await stateOf(opt, (s) => s.replaceAll(prefix, "")),
        });
        opt.dispose();
        tf.dispose(vars);
      }
      const [f, p] = runs as [typeof runs[0], typeof runs[0]];
      f.weights.forEach((w, i) =>
        assertClose(w, p.weights[i]!, { ...FLOAT32, what: `${what} w${i}` })
      );
      // the same slots, by name and shape, in the same order
      assert.deepEqual(
        f.state.map(([s, shape]) => [s, shape]),
        p.state.map(([s, shape]) => [s, shape]),
        what,
      );
      f.state.forEach(([s, , v], i) =>
        assertClose(v, p.state[i]![2], { ...FLOAT32, what: `${what} ${s}` })
      );
    }
  },
);

Deno.test({
  name:
    "ChainOptimizer: by default the step runs fused kernels; { fused: false } runs tfjs's ops [webgpu]",
  // dispatches are counted on webgpu only
  ignore: !HAS_WEBGPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await tf.setBackend("webgpu");
    const counts: number[] = [];
    for (const settings of [{}, { fused: false }]) {
      const vars = variables(runId++);
      const opt = ChainOptimizer.from(
        "adamw",
        { learningRate: 1e-3, gc: true },
        settings,
      );
      const g0 = gradsOf(vars, 0);
      opt.applyGradients(g0); // builds state and kernels
      const g = gradsOf(vars, 1);
      counts.push(dispatchStats(() => opt.applyGradients(g)).dispatches);
      await vars[0]!.data();
      tf.dispose([...Object.values(g0), ...Object.values(g), ...vars]);
      opt.dispose();
    }
    const [fused, plain] = counts as [number, number];
    assert.ok(
      fused > 0 && fused * 3 < plain,
      `fused ${fused}, op by op ${plain}`,
    );
  },
});

testOnBackends(
  "ChainOptimizer: a model saved fused loads op by op and the other way round, and trains on as if uninterrupted",
  async (backend) => {
    const { xs, ys } = tinyData(16);
    const spec: JsonObject = {
      learningRate: { schedule: "cosineDecay", initValue: 0.05, decaySteps: 8 },
      weightDecay: 1e-3,
      gc: true,
    };
    const fitArgs = { batchSize: 8, shuffle: false, verbose: 0 as const };
    const compile = (m: tf.LayersModel, opt: ChainOptimizer) =>
      m.compile({ optimizer: opt, loss: "categoricalCrossentropy" });
    // uninterrupted, op by op: 4 steps
    const ref = tinyModel(9, `fused_ref${runId++}`);
    compile(ref, ChainOptimizer.from("adamw", spec, { fused: false }));
    await ref.fit(xs, ys, { ...fitArgs, epochs: 2 });
    const want = await readWeights(ref);
    const specsOf: string[][] = [];
    for (const savedFused of [true, false]) {
      const m = tinyModel(9, `fused_save${runId++}`);
      const opt = ChainOptimizer.from("adamw", spec, { fused: savedFused });
      compile(m, opt);
      await m.fit(xs, ys, { ...fitArgs, epochs: 1 });
      const io = memoryIO();
      await m.save(io.save, { includeOptimizer: true });
      const artifacts = io.artifacts();
      const specs = artifacts.weightSpecs!.filter((s) =>
        s.group === "optimizer"
      );
      specsOf.push(
        specs.map((s) =>
          `${s.name.replace(/^fused_save\d+/, "")} [${s.shape}]`
        ),
      );
      // the config says fused: false only when off
      const config = (artifacts.trainingConfig!.optimizer_config as {
        config: Record<string, unknown>;
      }).config;
      assert.equal(config.fused, savedFused ? undefined : false);
      // load it the other way
      if (savedFused) config.fused = false;
      else delete config.fused;
      const loaded = await tf.loadLayersModel(io.load());
      const lopt = loaded.optimizer as ChainOptimizer;
      assert.ok(lopt instanceof ChainOptimizer);
      assert.equal(lopt.fused, !savedFused);
      assert.equal(lopt.iterations, 2);
      await loaded.fit(xs, ys, { ...fitArgs, epochs: 1 });
      const got = await readWeights(loaded);
      got.forEach((w, i) =>
        assertClose(w, want[i]!, {
          ...FLOAT32,
          what: `saved ${savedFused ? "fused" : "op by op"}, weight ${i}`,
        })
      );
      opt.dispose();
      lopt.dispose();
      m.dispose();
      loaded.dispose();
    }
    // the same optimizer weights, by name and shape, in the same order
    assert.deepEqual(specsOf[0], specsOf[1]);
    assert.ok(specsOf[0]!.length > 1 && specsOf[0]![0] === "iter []");
    (ref.optimizer as ChainOptimizer).dispose();
    ref.dispose();
    tf.dispose([xs, ys]);
    void backend;
  },
);

testOnBackends(
  "ChainOptimizer: a bad fused option is a TypeError naming it, and nothing is built",
  () => {
    const n = tf.memory().numTensors;
    const bad: unknown[] = ["yes", 1, null, 0];
    for (const fused of bad) {
      const shown = typeof fused === "string" ? `"${fused}"` : String(fused);
      assert.throws(
        () => new ChainOptimizer(adam(1e-3), { fused } as never),
        (e: unknown) =>
          e instanceof TypeError &&
          e.message.includes(
            `option fused must be true or false, got ${shown}`,
          ),
      );
      assert.throws(
        () =>
          ChainOptimizer.from("adam", { learningRate: 1e-3 }, {
            fused,
          } as never),
        (e: unknown) =>
          e instanceof TypeError &&
          e.message.startsWith("ChainOptimizer.from") &&
          e.message.includes(`got ${shown}`),
      );
      assert.throws(
        () =>
          ChainOptimizer.fromConfig(ChainOptimizer, {
            name: "adam",
            options: '{"learningRate":0.001}',
            fused: fused as never,
          }),
        (e: unknown) =>
          e instanceof TypeError && e.message.includes(`got ${shown}`),
      );
    }
    assert.throws(
      () => ChainOptimizer.from("adam", {}, { fuse: false } as never),
      /unknown setting "fuse" \(known: fused\)/,
    );
    assert.throws(
      () => ChainOptimizer.from("adam", {}, null as never),
      /settings must be \{ fused\? \}, got null/,
    );
    assert.equal(tf.memory().numTensors, n);
    // saved without the key when on, with fused: false when off
    const on = ChainOptimizer.from("adam", { learningRate: 1e-3 });
    const off = ChainOptimizer.from("adam", { learningRate: 1e-3 }, {
      fused: false,
    });
    assert.equal(Object.hasOwn(on.getConfig(), "fused"), false);
    assert.equal(off.getConfig().fused, false);
    const back = ChainOptimizer.fromConfig<ChainOptimizer>(
      ChainOptimizer,
      off.getConfig(),
    );
    assert.equal(back.fused, false);
    for (const o of [on, off, back]) o.dispose();
  },
);

testOnBackends(
  "ChainOptimizer and trainStep: a transformation that is already fused is not fused twice",
  async () => {
    const inner = fuse(
      adam(0.1, { gc: true }) as GradientTransformation<unknown>,
    );
    const calls = { step: 0, update: 0 };
    const tx: GradientTransformation<unknown> = {
      init: (p) => inner.init(p),
      update: (u, s, p) => {
        calls.update++;
        return inner.update(u, s, p);
      },
      step: (u, s, p) => {
        calls.step++;
        return inner.step!(u, s, p);
      },
    };
    assert.equal(fusedForm(tx), tx);
    const plain = adam(0.1);
    assert.equal(fusedForm(plain), fusedForm(plain), "built once per chain");
    assert.equal(fusedForm(fusedForm(plain)), fusedForm(plain));
    const vars = variables(runId++);
    const opt = new ChainOptimizer(tx);
    assert.equal(opt.tx, tx);
    const g = gradsOf(vars, 0);
    opt.applyGradients(g);
    opt.applyGradients(g);
    let state = initState(tx, { [vars[0]!.name]: vars[0]! });
    const loss = () => tf.sum(tf.square(vars[0]!)) as tf.Scalar;
    const r = trainStep(tx, state, { loss, variables: [vars[0]!] });
    state = r.state;
    r.loss.dispose();
    assert.deepEqual(calls, { step: 3, update: 0 });
    await vars[0]!.data();
    disposeState(state);
    opt.dispose();
    tf.dispose([...Object.values(g), ...vars]);
  },
);

testOnBackends(
  "trainStep: fused (the default) and { fused: false } agree, share one state, keep memory flat, and refuse a bad fused before anything changes",
  async () => {
    const target = tf.tensor2d([[1, -1], [2, 0.5]]);
    const init = tf.tensor2d([[0.5, 0.1], [-0.3, 0.2]]);
    const a = tf.variable(init, true, `fused_opt_ts${runId++}/a`);
    const b = tf.variable(init, true, `fused_opt_ts${runId++}/b`);
    const lossOf = (v: tf.Variable) => () =>
      tf.sum(
        tf.square(tf.sub(tf.matMul(v, v, false, true), target)),
      ) as tf.Scalar;
    const tx = adam(0.01, { gc: true });
    let sa = initState(tx, { [a.name]: a });
    let sb = initState(tx, { [b.name]: b });
    let n = 0;
    for (let i = 0; i < 20; i++) {
      // a alternates fused and op by op on one state; b stays op by op
      const ra = trainStep(tx, sa, {
        loss: lossOf(a),
        variables: [a],
        ...(i % 2 === 0 ? {} : { fused: false }),
      });
      const rb = trainStep(tx, sb, {
        loss: lossOf(b),
        variables: [b],
        fused: false,
      });
      sa = ra.state;
      sb = rb.state;
      tf.dispose([ra.loss, rb.loss]);
      if (i === 1) n = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, n, "flat per step");
    assertClose(await a.data(), await b.data(), FLOAT32);
    const before = Array.from(await a.data());
    for (const fused of ["no", 1, null]) {
      assert.throws(
        () =>
          trainStep(tx, sa, {
            loss: lossOf(a),
            variables: [a],
            fused: fused as never,
          }),
        (e: unknown) =>
          e instanceof TypeError &&
          e.message.startsWith("trainStep: option fused must be true or false"),
      );
    }
    assert.equal(tf.memory().numTensors, n, "a refused call leaves nothing");
    assert.deepEqual(Array.from(await a.data()), before);
    disposeState(sa);
    disposeState(sb);
    tf.dispose([a, b, init, target]);
  },
);

testOnBackends(
  "ChainOptimizer (fused): a part that is not fused returning an update of the wrong shape is a TypeError naming it, anywhere in the chain, and nothing changes",
  async () => {
    for (const where of ["alone", "before trace", "before scale", "last"]) {
      const w = tf.variable(
        tf.tensor2d([[1, 2], [3, 4]]),
        true,
        `fused_opt_shape${runId++}/w`,
      );
      let bad = false;
      const opaque: GradientTransformation<unknown> = {
        init: () => ({}),
        update: (u, s) =>
          bad ? [{ [w.name]: tf.reshape(u[w.name]!, [4]) }, s] : [u, s],
      };
      const tx = where === "alone"
        ? opaque
        : where === "before trace"
        ? chain(opaque, trace(0.9), scale(-0.1))
        : where === "before scale"
        ? chain(opaque, scale(-0.1))
        : chain(trace(0.9), scale(-0.1), opaque);
      const opt = new ChainOptimizer(tx);
      const g = tf.ones([2, 2]);
      opt.applyGradients({ [w.name]: g });
      const snapshot = async () => ({
        w: Array.from(await w.data()),
        state: await Promise.all(
          (await opt.getWeights()).map(async (x) => [
            x.name,
            Array.from(await x.tensor.data()),
          ]),
        ),
        n: tf.memory().numTensors,
      });
      const before = await snapshot();
      bad = true;
      assert.throws(
        () => opt.applyGradients({ [w.name]: g }),
        (e: unknown) =>
          e instanceof TypeError && /shape \[4\]/.test(e.message) &&
          e.message.includes(w.name),
        where,
      );
      assert.deepEqual(await snapshot(), before, where);
      bad = false;
      opt.applyGradients({ [w.name]: g });
      assert.notDeepEqual(Array.from(await w.data()), before.w, where);
      opt.dispose();
      tf.dispose([w, g]);
    }
  },
);
