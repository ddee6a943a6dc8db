// Private: the layer classes this package knows, one row each: the layout
// of each weight by role, and whether the layer is a convolution (what
// `convLayers` selects). A new built-in layer is one row here.
import type { RoleLayouts } from "./types.ts";

/** What this package knows of a tfjs layer class. */
export interface LayerRow {
  /** The layout of each weight, keyed by role. */
  readonly roles: RoleLayouts;
  /** Whether its kernel is a convolution (for `convLayers`). */
  readonly convolution: boolean;
}

const conv: RoleLayouts = { kernel: "output_last" };
const recurrent: RoleLayouts = {
  kernel: "output_last",
  recurrent_kernel: "output_last",
};
const norm: RoleLayouts = {
  gamma: "none",
  beta: "none",
  moving_mean: "none",
  moving_variance: "none",
};

const dense: LayerRow = { roles: conv, convolution: false };
const convolution = (roles: RoleLayouts): LayerRow => ({
  roles,
  convolution: true,
});
const other = (roles: RoleLayouts): LayerRow => ({
  roles,
  convolution: false,
});

/** The layer classes this package knows, by tfjs class name. */
export const BUILTIN_LAYERS: Readonly<Record<string, LayerRow>> = {
  Dense: dense,
  Conv1D: convolution(conv),
  Conv2D: convolution(conv),
  Conv3D: convolution(conv),
  Conv2DTranspose: convolution({ kernel: "output_second_last" }),
  Conv3DTranspose: convolution({ kernel: "output_second_last" }),
  DepthwiseConv2D: convolution({ depthwise_kernel: "depthwise" }),
  SeparableConv2D: convolution({
    depthwise_kernel: "depthwise",
    pointwise_kernel: "output_last",
  }),
  SimpleRNN: other(recurrent),
  LSTM: other(recurrent),
  GRU: other(recurrent),
  RNN: other(recurrent),
  ConvLSTM2D: convolution(recurrent),
  Embedding: other({ embeddings: "embedding" }),
  BatchNormalization: other(norm),
  LayerNormalization: other(norm),
  PReLU: other({ alpha: "none" }),
  // @centra/zoo's grouped convolution keeps Keras's [k, k, in/groups, out].
  "centra>GroupedConv2D": convolution(conv),
};

/** The convolution classes, in the order of {@linkcode BUILTIN_LAYERS}. */
export const CONVOLUTION_CLASSES: readonly string[] = Object.entries(
  BUILTIN_LAYERS,
).filter(([, row]) => row.convolution).map(([name]) => name);
