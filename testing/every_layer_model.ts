// Test fixture: a small functional model holding every layer type
// @centra/match knows (inputs included), for the describeParams, gcAxes and
// recipe tests; its description, written out by hand, is
// every_layer_expected.ts.
import * as tf from "@tensorflow/tfjs";

type Sym = tf.SymbolicTensor;

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
