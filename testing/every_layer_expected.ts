// Test fixture: what `describeParams` must say about each variable of
// every_layer_model.ts's model, written out by hand from the tfjs layouts.
import type { Layout } from "@centra/match/layouts";

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
