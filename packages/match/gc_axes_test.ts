import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  applyUpdates,
  centralize,
  initState,
  runUpdate,
  sgd,
} from "@centra/chain";
import type { Params, Updates } from "@centra/chain/types";
import { describeParams } from "./describe_params.ts";
import { gcAxes } from "./gc_axes.ts";
import { byClass } from "./selectors.ts";
import {
  everyLayerExpected,
  everyLayerInputs,
  everyLayerModel,
  meansOver,
  uniquePrefix,
} from "./_test_utils.ts";
import { randn, read, testOnBackends } from "@centra/testing/mod.ts";

/** The trainable variables of a model, keyed by name. */
function variablesOf(model: tf.LayersModel): Record<string, tf.Variable> {
  return Object.fromEntries(
    model.trainableWeights.map((w) => [w.name, w.read() as tf.Variable]),
  );
}

/**
 * Gradients of a fixed loss of the model's first output. tfjs 4.22 has no
 * gradient for Conv3DTranspose (Conv3DBackpropInputV2), so its variables get
 * seeded random gradients instead.
 */
function gradients(
  model: tf.LayersModel,
  inputs: tf.Tensor[],
  step: number,
): Updates {
  const vars = variablesOf(model);
  const synthetic = Object.keys(vars).filter((n) => /c3dt\//.test(n));
  const real = Object.entries(vars)
    .filter(([n]) => !synthetic.includes(n))
    .map(([, v]) => v);
  const { value, grads } = tf.variableGrads(() =>
    tf.tidy(() => {
      const y = (model.apply(inputs, { training: true }) as tf.Tensor[])[0]!;
      const target = tf.tensor2d([[0.5, -0.25], [-1, 0.75]]);
      return tf.mean(tf.square(tf.sub(y, target))) as tf.Scalar;
    }), real);
  value.dispose();
  const out: Updates = { ...grads };
  for (const [i, n] of synthetic.entries()) {
    const shape = vars[n]!.shape;
    const size = shape.reduce((a, b) => a * b, 1);
    out[n] = tf.tensor(Float32Array.from(randn(size, 1000 * step + i)), shape);
  }
  return out;
}

/** `g` minus its means over `axes`, on the host. */
function centre(
  g: Float64Array,
  shape: readonly number[],
  axes: readonly number[],
): Float64Array {
  const means = meansOver(g, shape, axes);
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const idx = new Array<number>(shape.length).fill(0);
  const out = new Float64Array(g.length);
  for (let flat = 0; flat < g.length; flat++) {
    let key = 0;
    for (const a of kept) key = key * shape[a]! + idx[a]!;
    out[flat] = g[flat]! - means[key]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]! += 1;
      if (idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

function maxAbs(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, Math.abs(xs[i]!));
  return m;
}

testOnBackends(
  "gcAxes(model): centralized gradients have zero per-unit means over exactly each layer's axes",
  async () => {
    const p = uniquePrefix("gcg");
    const model = everyLayerModel(p);
    const expected = everyLayerExpected(p);
    const inputs = everyLayerInputs();
    const grads = gradients(model, inputs, 0);
    const [centred] = centralize({ axes: gcAxes(model) }).update(grads, {});
    let checked = 0;
    for (const [name, g] of Object.entries(grads)) {
      const want = expected[name]!;
      const raw = await read(g);
      const out = await read(centred[name]!);
      const scale = maxAbs(raw);
      assert.ok(scale > 0, `${name}: the gradient is zero`);
      if (want.gcAxes === null) {
        assert.deepEqual(out, raw, `${name} must pass through unchanged`);
        continue;
      }
      checked += 1;
      const means = meansOver(out, want.shape, want.gcAxes);
      assert.ok(
        maxAbs(means) <= 1e-5 * scale,
        `${name}: per-unit means over [${want.gcAxes}] are not zero: ${
          maxAbs(means)
        }`,
      );
      // and P g is g minus exactly these per-unit means, element by element
      const exact = centre(raw, want.shape, want.gcAxes);
      const err = maxAbs(exact.map((x, i) => x - out[i]!));
      assert.ok(err <= 1e-5 * scale, `${name}: P g is off by ${err}`);
      // The rules that are wrong for these layouts would give another
      // result: optax's (keep axis 0) for conv kernels, and the Dense/Conv
      // rule (keep the last axis) for transposed and depthwise kernels.
      const all = want.shape.map((_, i) => i);
      const wrong: number[][] = [];
      if (want.shape.length >= 3) wrong.push(all.slice(1));
      if (want.layout !== "output_last") wrong.push(all.slice(0, -1));
      for (const axes of wrong) {
        const other = centre(raw, want.shape, axes);
        const gap = maxAbs(other.map((x, i) => x - out[i]!));
        assert.ok(
          gap > 1e-3 * scale,
          `${name}: GC over [${axes}] gives the same result`,
        );
      }
    }
    // every layer type with GC axes was checked
    assert.equal(
      checked,
      Object.values(expected).filter((e) => e.trainable && e.gcAxes !== null)
        .length,
    );
    tf.dispose([grads, centred, inputs]);
    model.dispose();
  },
);

testOnBackends(
  "gcAxes(model): 20 steps of SGDM + GC keep each unit's weight mean for every layer type (Theorem 4.1)",
  async () => {
    const p = uniquePrefix("gct");
    const model = everyLayerModel(p);
    const expected = everyLayerExpected(p);
    const inputs = everyLayerInputs();
    const vars = variablesOf(model);
    const params: Params = vars;
    const before: Record<string, Float64Array> = {};
    for (const [n, v] of Object.entries(vars)) before[n] = await read(v);
    const tx = sgd(0.1, { momentum: 0.9, gc: gcAxes(model) });
    let state = initState(tx, params);
    let baseline = -1;
    for (let step = 0; step < 20; step++) {
      const grads = gradients(model, inputs, step);
      const [updates, next] = runUpdate(tx, grads, state, params);
      state = next;
      applyUpdates(vars, updates);
      tf.dispose([grads, updates]);
      if (step === 0) baseline = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, baseline, "tensors leaked per step");
    const kinds = new Set<string>();
    for (const [n, v] of Object.entries(vars)) {
      const want = expected[n]!;
      const after = await read(v);
      const moved = maxAbs(after.map((x, i) => x - before[n]![i]!));
      if (want.gcAxes === null) {
        if (want.layout === "embedding") {
          // off by default: the per-dimension means over the vocabulary move
          const m0 = meansOver(before[n]!, want.shape, [0]);
          const m1 = meansOver(after, want.shape, [0]);
          assert.ok(maxAbs(m1.map((x, i) => x - m0[i]!)) > 1e-4, n);
        }
        continue;
      }
      assert.ok(moved > 1e-5, `${n} did not train (moved ${moved})`);
      const m0 = meansOver(before[n]!, want.shape, want.gcAxes);
      const m1 = meansOver(after, want.shape, want.gcAxes);
      const drift = maxAbs(m1.map((x, i) => x - m0[i]!));
      assert.ok(
        drift <= 1e-6 && drift <= 1e-2 * moved,
        `${n}: a unit's weight mean drifted by ${drift} (moved ${moved})`,
      );
      kinds.add(`${want.layerClass}/${want.role}`);
    }
    assert.deepEqual([...kinds].sort(), [
      "Conv1D/kernel",
      "Conv2D/kernel",
      "Conv2DTranspose/kernel",
      "Conv3D/kernel",
      "Conv3DTranspose/kernel",
      "ConvLSTM2D/kernel",
      "ConvLSTM2D/recurrent_kernel",
      "Dense/kernel",
      "DepthwiseConv2D/depthwise_kernel",
      "GRU/kernel",
      "GRU/recurrent_kernel",
      "LSTM/kernel",
      "LSTM/recurrent_kernel",
      "RNN/kernel",
      "RNN/recurrent_kernel",
      "SeparableConv2D/depthwise_kernel",
      "SeparableConv2D/pointwise_kernel",
      "SimpleRNN/kernel",
      "SimpleRNN/recurrent_kernel",
    ]);
    tf.dispose([inputs, state as tf.TensorContainer]);
    model.dispose();
  },
);

testOnBackends(
  "gcAxes(model, { embeddings: true }): SGDM + GC keeps each embedding dimension's mean over the vocabulary",
  async () => {
    const p = uniquePrefix("gce");
    const model = tf.sequential({
      layers: [
        tf.layers.embedding({
          inputDim: 6,
          outputDim: 3,
          inputShape: [4],
          name: `${p}emb`,
        }),
        tf.layers.flatten({}),
        tf.layers.dense({ units: 2, name: `${p}fc` }),
      ],
    });
    const vars = variablesOf(model);
    const emb = vars[`${p}emb/embeddings`]!;
    const before = await read(emb);
    const tx = sgd(0.1, {
      momentum: 0.9,
      gc: gcAxes(model, { embeddings: true }),
    });
    let state = initState(tx, vars);
    const ids = tf.tensor2d([[0, 1, 2, 1], [3, 3, 0, 1]], [2, 4], "int32");
    for (let step = 0; step < 20; step++) {
      const { value, grads } = tf.variableGrads(
        () =>
          tf.tidy(() =>
            tf.sum(
              tf.square(tf.sub(model.apply(ids) as tf.Tensor, 1)),
            ) as tf.Scalar
          ),
        Object.values(vars),
      );
      const [u, next] = runUpdate(tx, grads, state, vars);
      state = next;
      applyUpdates(vars, u);
      tf.dispose([value, grads, u]);
    }
    const after = await read(emb);
    // rows 4 and 5 were never looked up, yet GC moves them: the cost of
    // centralizing a sparse gradient, and why it is off by default
    assert.ok(
      maxAbs(after.slice(12).map((x, i) => x - before[12 + i]!)) > 1e-4,
    );
    const drift = meansOver(after, [6, 3], [0]).map((x, i) =>
      x - meansOver(before, [6, 3], [0])[i]!
    );
    assert.ok(maxAbs(drift) <= 1e-5, `drift ${maxAbs(drift)}`);
    tf.dispose([ids, state as tf.TensorContainer]);
    model.dispose();
  },
);

Deno.test("gcAxes() resolver rejects names and shapes the model does not have", async () => {
  await tf.setBackend("cpu");
  const p = uniquePrefix("gcr");
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 2, inputShape: [3], name: `${p}fc` })],
  });
  const axes = gcAxes(model);
  assert.deepEqual(axes(`${p}fc/kernel`, [3, 2]), [0]);
  assert.equal(axes(`${p}fc/bias`, [2]), null);
  assert.throws(
    () => axes("nope/kernel", [3, 2]),
    (e: Error) =>
      e instanceof TypeError &&
      e.message.includes(
        `"nope/kernel" is not a variable of model "${model.name}"`,
      ),
  );
  assert.throws(
    () => axes(`${p}fc/kernel`, [2, 3]),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.includes("has shape [2,3] but the variable has [3,2]"),
  );
  // a fresh array each call: callers may not corrupt the table
  axes(`${p}fc/kernel`, [3, 2])!.push(7);
  assert.deepEqual(axes(`${p}fc/kernel`, [3, 2]), [0]);
  model.dispose();
});

Deno.test("gcAxes() limits GC to a selection", async () => {
  await tf.setBackend("cpu");
  const p = uniquePrefix("gcs");
  const model = everyLayerModel(p);
  const axes = gcAxes(model, {
    select: byClass(["Conv2DTranspose", "DepthwiseConv2D"]),
  });
  assert.deepEqual(axes(`${p}c2dt/kernel`, [2, 2, 4, 3]), [0, 1, 3]);
  assert.deepEqual(axes(`${p}dw/depthwise_kernel`, [3, 3, 4, 2]), [0, 1]);
  assert.equal(axes(`${p}c2d/kernel`, [3, 3, 2, 3]), null);
  assert.equal(axes(`${p}in1/kernel`, [53, 4]), null);
  assert.throws(
    () => gcAxes(model, { select: byClass("Conv9D") }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.includes('byClass("Conv9D") matches no'),
  );
  model.dispose();
});

Deno.test("gcAxes() on an unknown layer: error by default, or skip, or the Dense rule", async () => {
  await tf.setBackend("cpu");
  const p = uniquePrefix("gcu");
  class MatchTestOpaque extends tf.layers.Layer {
    static className = "MatchTestOpaque";
    override build(): void {
      this.addWeight("kernel", [3, 2], "float32", tf.initializers.ones());
      this.addWeight(
        "frozen",
        [3, 2],
        "float32",
        tf.initializers.ones(),
        undefined,
        false,
      );
      this.built = true;
    }
    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.matMul(
        x as tf.Tensor2D,
        this.weights[0]!.read() as tf.Tensor2D,
      );
    }
    override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
      return [(s as tf.Shape)[0] ?? null, 2];
    }
  }
  const model = tf.sequential({
    layers: [new MatchTestOpaque({ name: `${p}op`, inputShape: [3] })],
  });
  assert.throws(
    () => gcAxes(model),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.includes(
        `"${p}op/kernel" (class MatchTestOpaque, role kernel)`,
      ) &&
      !e.message.includes("frozen"),
  );
  assert.equal(
    gcAxes(model, { unknown: "skip" })(`${p}op/kernel`, [3, 2]),
    null,
  );
  assert.deepEqual(
    gcAxes(model, { unknown: "output_last" })(`${p}op/kernel`, [3, 2]),
    [0],
  );
  assert.deepEqual(
    gcAxes(model, {
      layouts: { MatchTestOpaque: { kernel: "output_second_last" } },
    })(
      `${p}op/kernel`,
      [3, 2],
    ),
    [1],
  );
  assert.throws(
    () => gcAxes(model, { unknown: "guess" as "skip" }),
    /unknown must be "error", "skip" or "output_last", got guess/,
  );
  model.dispose();
});

Deno.test("gcAxes() takes a description in place of the model", async () => {
  await tf.setBackend("cpu");
  const p = uniquePrefix("gcd");
  const model = tf.sequential({
    layers: [
      tf.layers.conv2dTranspose({
        filters: 4,
        kernelSize: 2,
        inputShape: [4, 4, 3],
        name: `${p}up`,
      }),
    ],
  });
  const infos = describeParams(model);
  assert.deepEqual(gcAxes(infos)(`${p}up/kernel`, [2, 2, 4, 3]), [0, 1, 3]);
  assert.throws(
    () => gcAxes(infos, { embeddings: true }),
    /pass them to describeParams instead/,
  );
  assert.throws(
    () => gcAxes([{ name: 1 }] as never),
    /entry 0 of the description/,
  );
  assert.throws(() => gcAxes(null as never), /expected a tf\.LayersModel/);
  model.dispose();
});
