// Private test fixtures: a small model holding every layer type this package
// knows, with the description of each variable written out by hand.
import * as tf from "@tensorflow/tfjs";
import type { Layout } from "./layouts.ts";

type Sym = tf.SymbolicTensor;

/** What a test expects `describeParams` to say about one variable. */
export interface Expected {
  layerName: string;
  layerPath: string[];
  layerClass: string;
  role: string;
  shape: number[];
  trainable: boolean;
  layout: Layout;
  outputAxes: number[] | null;
  gcAxes: number[] | null;
}

let serial = 0;

/** A prefix that makes the layer names of one model unique in the process. */
export function uniquePrefix(tag: string): string {
  serial += 1;
  return `${tag}${serial}_`;
}

/**
 * A nested Sequential backbone (conv, optional batch norm, flatten) under a
 * Dense head; every layer name carries the prefix `p`.
 */
export function nestedModel(
  p: string,
  options: { side: number; units: number; batchNorm?: boolean },
): { model: tf.Sequential; backbone: tf.Sequential } {
  const backbone = tf.sequential({
    name: `${p}backbone`,
    layers: [
      tf.layers.conv2d({
        filters: 2,
        kernelSize: 3,
        inputShape: [options.side, options.side, 1],
        name: `${p}conv`,
      }),
      ...(options.batchNorm
        ? [tf.layers.batchNormalization({ name: `${p}bn` })]
        : []),
      tf.layers.flatten({ name: `${p}flat` }),
    ],
  });
  const model = tf.sequential({
    name: `${p}model`,
    layers: [
      backbone,
      tf.layers.dense({ units: options.units, name: `${p}head` }),
    ],
  });
  return { model, backbone };
}

/**
 * Every supported layer type in one functional model with five inputs:
 *
 * - img `[6, 6, 2]`: Conv2D, BatchNormalization, Conv2DTranspose,
 *   DepthwiseConv2D (3x3 and 1x1), SeparableConv2D, PReLU,
 *   LayerNormalization, then a shared Dense;
 * - seq `[4, 3]`: LSTM, Bidirectional(GRU), TimeDistributed(Dense),
 *   SimpleRNN (then the shared Dense again), and an RNN of stacked LSTM and
 *   GRU cells;
 * - tok `[5]` (ints below 7): Embedding, Conv1D;
 * - vol `[3, 4, 4, 1]`: Conv3D, ConvLSTM2D, and Conv3DTranspose on its own
 *   output (tfjs 4.22 has no gradient for Conv3DTranspose);
 * - one `[1]`: a Dense whose fan-in has one element;
 *
 * then a nested Sequential of two Dense layers.
 */
export function everyLayerModel(p: string): tf.LayersModel {
  const L = tf.layers;
  const ap = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym =>
    layer.apply(x) as Sym;
  const seed = (n: number) => ({
    kernelInitializer: tf.initializers.glorotUniform({ seed: n }),
  });
  // RNN layers draw their recurrent kernels from an unseeded orthogonal
  // initializer by default; seed them so that every run trains alike.
  const rseed = (n: number) => ({
    ...seed(n),
    recurrentInitializer: tf.initializers.glorotUniform({ seed: 100 + n }),
  });
  const img = tf.input({ shape: [6, 6, 2], name: `${p}img` });
  let x = ap(
    L.conv2d({
      filters: 3,
      kernelSize: 3,
      padding: "same",
      name: `${p}c2d`,
      ...seed(1),
    }),
    img,
  );
  x = ap(L.batchNormalization({ name: `${p}bn` }), x);
  x = ap(
    L.conv2dTranspose({
      filters: 4,
      kernelSize: 2,
      padding: "same",
      name: `${p}c2dt`,
      ...seed(2),
    }),
    x,
  );
  x = ap(
    L.depthwiseConv2d({
      kernelSize: 3,
      depthMultiplier: 2,
      padding: "same",
      name: `${p}dw`,
      depthwiseInitializer: tf.initializers.glorotUniform({ seed: 3 }),
    }),
    x,
  );
  x = ap(
    L.separableConv2d({
      filters: 3,
      kernelSize: 2,
      // tfjs 4.22's SeparableConv2D.getConfig drops depthMultiplier, so a
      // saved model with another multiplier does not load back.
      depthMultiplier: 1,
      padding: "same",
      name: `${p}sep`,
      depthwiseInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      pointwiseInitializer: tf.initializers.glorotUniform({ seed: 5 }),
    }),
    x,
  );
  x = ap(
    L.depthwiseConv2d({
      kernelSize: 1,
      name: `${p}dw1`,
      depthwiseInitializer: tf.initializers.glorotUniform({ seed: 6 }),
    }),
    x,
  );
  x = ap(
    L.prelu({
      name: `${p}prelu`,
      alphaInitializer: tf.initializers.constant({ value: 0.25 }),
    }),
    x,
  );
  x = ap(L.layerNormalization({ name: `${p}ln` }), x);
  x = ap(L.globalAveragePooling2d({ name: `${p}gap` }), x);

  const seq = tf.input({ shape: [4, 3], name: `${p}seq` });
  let s = ap(
    L.lstm({ units: 3, returnSequences: true, name: `${p}lstm`, ...rseed(7) }),
    seq,
  );
  s = ap(
    L.bidirectional({
      layer: L.gru({
        units: 2,
        returnSequences: true,
        name: `${p}gru`,
        ...rseed(8),
      }) as tf.RNN,
      name: `${p}bi`,
    }),
    s,
  );
  s = ap(
    L.timeDistributed({
      layer: L.dense({ units: 2, name: `${p}td_dense`, ...seed(9) }),
      name: `${p}td`,
    }),
    s,
  );
  s = ap(L.simpleRNN({ units: 3, name: `${p}srnn`, ...rseed(10) }), s);
  const stacked = ap(
    L.rnn({
      cell: [
        L.lstmCell({ units: 2, ...rseed(11) }),
        L.gruCell({ units: 3, ...rseed(12) }),
      ],
      name: `${p}rnn`,
    }),
    seq,
  );

  const tok = tf.input({ shape: [5], name: `${p}tok` });
  let t = ap(
    L.embedding({
      inputDim: 7,
      outputDim: 3,
      name: `${p}emb`,
      embeddingsInitializer: tf.initializers.randomUniform({
        minval: -0.5,
        maxval: 0.5,
        seed: 13,
      }),
    }),
    tok,
  );
  t = ap(
    L.conv1d({ filters: 2, kernelSize: 2, name: `${p}c1d`, ...seed(14) }),
    t,
  );
  t = ap(L.flatten({ name: `${p}flat_t` }), t);

  const vol = tf.input({ shape: [3, 4, 4, 1], name: `${p}vol` });
  const v3 = ap(
    L.conv3d({
      filters: 2,
      kernelSize: 2,
      padding: "same",
      name: `${p}c3d`,
      ...seed(15),
    }),
    vol,
  );
  let v = ap(
    L.convLstm2d({
      filters: 2,
      kernelSize: 2,
      padding: "same",
      name: `${p}clstm`,
      ...rseed(16),
    }),
    v3,
  );
  v = ap(L.flatten({ name: `${p}flat_v` }), v);
  const up3 = ap(
    L.conv3dTranspose({
      filters: 3,
      kernelSize: 2,
      padding: "same",
      name: `${p}c3dt`,
      ...seed(17),
    }),
    v3,
  );

  const one = tf.input({ shape: [1], name: `${p}one` });
  const o = ap(L.dense({ units: 2, name: `${p}fan1`, ...seed(18) }), one);

  const shared = L.dense({ units: 4, name: `${p}shared`, ...seed(19) });
  const cat = ap(L.concatenate({ name: `${p}cat` }), [
    ap(shared, x),
    ap(shared, s),
    stacked,
    t,
    v,
    o,
  ]);
  const inner = tf.sequential({
    name: `${p}inner`,
    layers: [
      L.dense({ units: 4, inputShape: [53], name: `${p}in1`, ...seed(20) }),
      L.dense({ units: 2, name: `${p}in2`, ...seed(21) }),
    ],
  });
  const y = ap(inner, cat);
  return tf.model({
    inputs: [img, seq, tok, vol, one],
    outputs: [y, up3],
    name: `${p}model`,
  });
}

/** Inputs for {@linkcode everyLayerModel}, batch 2, fixed values. */
export function everyLayerInputs(): tf.Tensor[] {
  const ramp = (shape: number[], k: number) =>
    tf.tidy(() => {
      const n = shape.reduce((a, b) => a * b, 1);
      return tf.sin(tf.mul(tf.range(0, n), k)).reshape(shape);
    });
  return [
    ramp([2, 6, 6, 2], 0.37),
    ramp([2, 4, 3], 0.91),
    tf.tensor2d([[1, 2, 3, 4, 5], [0, 6, 1, 2, 3]], [2, 5], "int32"),
    ramp([2, 3, 4, 4, 1], 0.53),
    tf.tensor2d([[0.5], [-1.5]]),
  ];
}

/**
 * The hand-written description of {@linkcode everyLayerModel}, keyed by
 * original variable name. Output axes and GC axes follow the tfjs layouts:
 * ConvND and Dense keep the last axis; transposed convs keep axis -2;
 * depthwise kernels keep (in, mult) and reduce (kh, kw); RNN kernels keep
 * the gate columns; embeddings, biases, norms and PReLU alpha are not
 * centralized; a fan-in of one element is left alone.
 */
export function everyLayerExpected(p: string): Record<string, Expected> {
  // Layer names are relative to the prefix unless `abs` is set.
  type Extra = { path?: string[]; trainable?: boolean; abs?: boolean };
  const e = (
    layer: string,
    layerClass: string,
    role: string,
    shape: number[],
    layout: Layout,
    outputAxes: number[] | null,
    gcAxes: number[] | null,
    extra: Extra = {},
  ): Expected => {
    const full = (n: string) => (extra.abs === true ? n : p + n);
    return {
      layerName: full(layer),
      layerPath: (extra.path ?? [layer]).map(full),
      layerClass,
      role,
      shape,
      trainable: extra.trainable ?? true,
      layout,
      outputAxes,
      gcAxes,
    };
  };
  const none = (
    layer: string,
    layerClass: string,
    role: string,
    shape: number[],
    extra: Extra = {},
  ): Expected => e(layer, layerClass, role, shape, "none", null, null, extra);
  // Bidirectional names its copies "forward_" and "backward_" + the layer's name.
  const fwd = `forward_${p}gru`;
  const bwd = `backward_${p}gru`;
  const bi = { path: [`${p}bi`, fwd], abs: true };
  const bb = { path: [`${p}bi`, bwd], abs: true };
  const td = { path: ["td", "td_dense"] };
  const in1 = { path: ["inner", "in1"] };
  const in2 = { path: ["inner", "in2"] };
  const list: [string, Expected][] = [
    [
      "c2d/kernel",
      e("c2d", "Conv2D", "kernel", [3, 3, 2, 3], "output_last", [3], [0, 1, 2]),
    ],
    ["c2d/bias", none("c2d", "Conv2D", "bias", [3])],
    ["bn/gamma", none("bn", "BatchNormalization", "gamma", [3])],
    ["bn/beta", none("bn", "BatchNormalization", "beta", [3])],
    [
      "bn/moving_mean",
      none("bn", "BatchNormalization", "moving_mean", [3], {
        trainable: false,
      }),
    ],
    [
      "bn/moving_variance",
      none("bn", "BatchNormalization", "moving_variance", [3], {
        trainable: false,
      }),
    ],
    // [kh, kw, out, in]: units on axis 2.
    [
      "c2dt/kernel",
      e(
        "c2dt",
        "Conv2DTranspose",
        "kernel",
        [2, 2, 4, 3],
        "output_second_last",
        [2],
        [0, 1, 3],
      ),
    ],
    ["c2dt/bias", none("c2dt", "Conv2DTranspose", "bias", [4])],
    // [kh, kw, in, mult]: one unit per (in, mult), fan-in kh * kw.
    [
      "dw/depthwise_kernel",
      e(
        "dw",
        "DepthwiseConv2D",
        "depthwise_kernel",
        [3, 3, 4, 2],
        "depthwise",
        [2, 3],
        [0, 1],
      ),
    ],
    ["dw/bias", none("dw", "DepthwiseConv2D", "bias", [8])],
    [
      "sep/depthwise_kernel",
      e(
        "sep",
        "SeparableConv2D",
        "depthwise_kernel",
        [2, 2, 8, 1],
        "depthwise",
        [2, 3],
        [0, 1],
      ),
    ],
    [
      "sep/pointwise_kernel",
      e(
        "sep",
        "SeparableConv2D",
        "pointwise_kernel",
        [1, 1, 8, 3],
        "output_last",
        [3],
        [0, 1, 2],
      ),
    ],
    ["sep/bias", none("sep", "SeparableConv2D", "bias", [3])],
    // 1x1 depthwise: each unit's fan-in is one weight, so GC is off.
    [
      "dw1/depthwise_kernel",
      e(
        "dw1",
        "DepthwiseConv2D",
        "depthwise_kernel",
        [1, 1, 3, 1],
        "depthwise",
        [2, 3],
        null,
      ),
    ],
    ["dw1/bias", none("dw1", "DepthwiseConv2D", "bias", [3])],
    ["prelu/alpha", none("prelu", "PReLU", "alpha", [6, 6, 3])],
    ["ln/gamma", none("ln", "LayerNormalization", "gamma", [3])],
    ["ln/beta", none("ln", "LayerNormalization", "beta", [3])],
    // [in, 4 * units] and [units, 4 * units]: each gate column is a unit.
    [
      "lstm/kernel",
      e("lstm", "LSTM", "kernel", [3, 12], "output_last", [1], [0]),
    ],
    [
      "lstm/recurrent_kernel",
      e("lstm", "LSTM", "recurrent_kernel", [3, 12], "output_last", [1], [0]),
    ],
    ["lstm/bias", none("lstm", "LSTM", "bias", [12])],
    [
      `bi/${fwd}/kernel`,
      e(fwd, "GRU", "kernel", [3, 6], "output_last", [1], [0], bi),
    ],
    [
      `bi/${fwd}/recurrent_kernel`,
      e(fwd, "GRU", "recurrent_kernel", [2, 6], "output_last", [1], [0], bi),
    ],
    [`bi/${fwd}/bias`, none(fwd, "GRU", "bias", [6], bi)],
    [
      `bi/${bwd}/kernel`,
      e(bwd, "GRU", "kernel", [3, 6], "output_last", [1], [0], bb),
    ],
    [
      `bi/${bwd}/recurrent_kernel`,
      e(bwd, "GRU", "recurrent_kernel", [2, 6], "output_last", [1], [0], bb),
    ],
    [`bi/${bwd}/bias`, none(bwd, "GRU", "bias", [6], bb)],
    [
      "td/kernel",
      e("td_dense", "Dense", "kernel", [4, 2], "output_last", [1], [0], td),
    ],
    ["td/bias", none("td_dense", "Dense", "bias", [2], td)],
    [
      "srnn/kernel",
      e("srnn", "SimpleRNN", "kernel", [2, 3], "output_last", [1], [0]),
    ],
    [
      "srnn/recurrent_kernel",
      e("srnn", "SimpleRNN", "recurrent_kernel", [3, 3], "output_last", [1], [
        0,
      ]),
    ],
    ["srnn/bias", none("srnn", "SimpleRNN", "bias", [3])],
    [
      "rnn/RNNCell_0/kernel",
      e("rnn", "RNN", "kernel", [3, 8], "output_last", [1], [0]),
    ],
    [
      "rnn/RNNCell_0/recurrent_kernel",
      e("rnn", "RNN", "recurrent_kernel", [2, 8], "output_last", [1], [0]),
    ],
    ["rnn/RNNCell_0/bias", none("rnn", "RNN", "bias", [8])],
    [
      "rnn/RNNCell_1/kernel",
      e("rnn", "RNN", "kernel", [2, 9], "output_last", [1], [0]),
    ],
    [
      "rnn/RNNCell_1/recurrent_kernel",
      e("rnn", "RNN", "recurrent_kernel", [3, 9], "output_last", [1], [0]),
    ],
    ["rnn/RNNCell_1/bias", none("rnn", "RNN", "bias", [9])],
    // [vocab, dim]: off by default.
    [
      "emb/embeddings",
      e("emb", "Embedding", "embeddings", [7, 3], "embedding", [1], null),
    ],
    [
      "c1d/kernel",
      e("c1d", "Conv1D", "kernel", [2, 3, 2], "output_last", [2], [0, 1]),
    ],
    ["c1d/bias", none("c1d", "Conv1D", "bias", [2])],
    [
      "c3d/kernel",
      e("c3d", "Conv3D", "kernel", [2, 2, 2, 1, 2], "output_last", [4], [
        0,
        1,
        2,
        3,
      ]),
    ],
    ["c3d/bias", none("c3d", "Conv3D", "bias", [2])],
    [
      "clstm/kernel",
      e("clstm", "ConvLSTM2D", "kernel", [2, 2, 2, 8], "output_last", [3], [
        0,
        1,
        2,
      ]),
    ],
    [
      "clstm/recurrent_kernel",
      e(
        "clstm",
        "ConvLSTM2D",
        "recurrent_kernel",
        [2, 2, 2, 8],
        "output_last",
        [3],
        [0, 1, 2],
      ),
    ],
    ["clstm/bias", none("clstm", "ConvLSTM2D", "bias", [8])],
    // [kd, kh, kw, out, in]: units on axis 3.
    [
      "c3dt/kernel",
      e(
        "c3dt",
        "Conv3DTranspose",
        "kernel",
        [2, 2, 2, 3, 2],
        "output_second_last",
        [3],
        [0, 1, 2, 4],
      ),
    ],
    ["c3dt/bias", none("c3dt", "Conv3DTranspose", "bias", [3])],
    // A Dense on a one-element input: GC would zero its gradient.
    [
      "fan1/kernel",
      e("fan1", "Dense", "kernel", [1, 2], "output_last", [1], null),
    ],
    ["fan1/bias", none("fan1", "Dense", "bias", [2])],
    [
      "shared/kernel",
      e("shared", "Dense", "kernel", [3, 4], "output_last", [1], [0]),
    ],
    ["shared/bias", none("shared", "Dense", "bias", [4])],
    [
      "in1/kernel",
      e("in1", "Dense", "kernel", [53, 4], "output_last", [1], [0], in1),
    ],
    ["in1/bias", none("in1", "Dense", "bias", [4], in1)],
    [
      "in2/kernel",
      e("in2", "Dense", "kernel", [4, 2], "output_last", [1], [0], in2),
    ],
    ["in2/bias", none("in2", "Dense", "bias", [2], in2)],
  ];
  return Object.fromEntries(list.map(([k, v]) => [p + k, v]));
}

/**
 * Means over `axes` of a row-major array of this shape, computed on the host
 * in float64: one mean per index of the kept axes, in row-major order.
 */
export function meansOver(
  values: ArrayLike<number>,
  shape: readonly number[],
  axes: readonly number[],
): Float64Array {
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const keptSize = kept.reduce((n, a) => n * shape[a]!, 1);
  const sums = new Float64Array(keptSize);
  const counts = new Float64Array(keptSize);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < values.length; flat++) {
    let key = 0;
    for (const a of kept) key = key * shape[a]! + idx[a]!;
    sums[key]! += values[flat]!;
    counts[key]! += 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]! += 1;
      if (idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return sums.map((s, i) => s / counts[i]!);
}

/** A tf.io handler that saves to and loads from files in `dir`. */
export function fileIO(dir: string): tf.io.IOHandler {
  const json = `${dir}/model.json`;
  const bin = `${dir}/weights.bin`;
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const data = artifacts.weightData === undefined
        ? new ArrayBuffer(0)
        : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      await Deno.writeFile(bin, new Uint8Array(data));
      await Deno.writeTextFile(
        json,
        JSON.stringify({
          modelTopology: artifacts.modelTopology,
          format: artifacts.format,
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy,
          weightsManifest: [{
            paths: ["weights.bin"],
            weights: artifacts.weightSpecs,
          }],
        }),
      );
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightDataBytes: data.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const model = JSON.parse(await Deno.readTextFile(json));
      const bytes = await Deno.readFile(bin);
      return {
        modelTopology: model.modelTopology,
        weightSpecs: model.weightsManifest[0].weights,
        weightData: bytes.buffer.slice(
          bytes.byteOffset,
          bytes.byteOffset + bytes.byteLength,
        ),
      };
    },
  };
}
