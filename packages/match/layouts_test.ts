import assert from "node:assert/strict";
import { axesOf, type Layout, layoutOf, registerLayouts } from "./layouts.ts";

Deno.test("layoutOf() knows every built-in layer's weights", () => {
  const cases: [string, string, number[], Layout][] = [
    ["Dense", "kernel", [4, 3], "output_last"],
    ["Conv1D", "kernel", [3, 4, 8], "output_last"],
    ["Conv2D", "kernel", [3, 3, 4, 8], "output_last"],
    ["Conv3D", "kernel", [2, 3, 3, 4, 8], "output_last"],
    ["Conv2DTranspose", "kernel", [3, 3, 8, 4], "output_second_last"],
    ["Conv3DTranspose", "kernel", [2, 3, 3, 8, 4], "output_second_last"],
    ["DepthwiseConv2D", "depthwise_kernel", [3, 3, 4, 2], "depthwise"],
    ["SeparableConv2D", "depthwise_kernel", [3, 3, 4, 2], "depthwise"],
    ["SeparableConv2D", "pointwise_kernel", [1, 1, 8, 16], "output_last"],
    ["SimpleRNN", "kernel", [5, 3], "output_last"],
    ["SimpleRNN", "recurrent_kernel", [3, 3], "output_last"],
    ["LSTM", "kernel", [5, 12], "output_last"],
    ["LSTM", "recurrent_kernel", [3, 12], "output_last"],
    ["GRU", "kernel", [5, 9], "output_last"],
    ["GRU", "recurrent_kernel", [3, 9], "output_last"],
    ["RNN", "kernel", [5, 8], "output_last"],
    ["ConvLSTM2D", "recurrent_kernel", [3, 3, 2, 8], "output_last"],
    ["Embedding", "embeddings", [100, 8], "embedding"],
    ["PReLU", "alpha", [8, 8, 3], "none"],
    ["centra>GroupedConv2D", "kernel", [3, 3, 2, 8], "output_last"],
    // rank 0 and 1, and biases of any rank, are never centralized
    ["BatchNormalization", "gamma", [8], "none"],
    ["BatchNormalization", "moving_variance", [8], "none"],
    ["LayerNormalization", "beta", [8], "none"],
    ["Dense", "bias", [3], "none"],
    ["MatchTestBiased", "bias", [3, 3], "none"],
    ["MatchTestScalar", "kernel", [], "none"],
    // what is not known is said so
    ["MatchTestUnknown", "kernel", [4, 3], "unknown"],
    ["Dense", "scale", [4, 3], "unknown"],
  ];
  for (const [layerClass, role, shape, want] of cases) {
    assert.equal(
      layoutOf({ layerClass, role, shape }),
      want,
      `${layerClass} ${role}`,
    );
  }
});

Deno.test("layoutOf() takes options over registrations over built-ins", () => {
  const kernel = { layerClass: "MatchTestReg", role: "kernel", shape: [4, 3] };
  assert.equal(layoutOf(kernel), "unknown");
  registerLayouts("MatchTestReg", { kernel: "output_second_last" });
  assert.equal(layoutOf(kernel), "output_second_last");
  registerLayouts("MatchTestReg", { kernel: "depthwise" });
  assert.equal(layoutOf(kernel), "depthwise", "a later registration replaces");
  assert.equal(
    layoutOf(kernel, { layouts: { MatchTestReg: { kernel: "none" } } }),
    "none",
  );
  // options for other roles fall through to the registry
  assert.equal(
    layoutOf(kernel, { layouts: { MatchTestReg: { other: "none" } } }),
    "depthwise",
  );
  assert.equal(
    layoutOf(
      { layerClass: "Dense", role: "kernel", shape: [4, 3] },
      { layouts: { Dense: { kernel: "none" } } },
    ),
    "none",
  );
});

Deno.test("registerLayouts() rejects bad names and layouts", () => {
  assert.throws(
    () => registerLayouts("", {}),
    /className must be a non-empty string/,
  );
  assert.throws(
    () => registerLayouts("MatchTestBad", { kernel: "last" as Layout }),
    (e: Error) =>
      e instanceof TypeError &&
      e.message.includes(
        'layout of "MatchTestBad" role "kernel" must be one of',
      ) &&
      e.message.includes('got "last"'),
  );
  assert.throws(
    () => registerLayouts("MatchTestBad", null as never),
    /layouts for "MatchTestBad" must be a record of layouts by role, got null/,
  );
});

Deno.test("axesOf() gives the output axes and GC axes of each layout", () => {
  const cases: [Layout, number[], number[] | null, number[] | null][] = [
    ["output_last", [4, 3], [1], [0]],
    ["output_last", [3, 3, 4, 8], [3], [0, 1, 2]],
    ["output_last", [2, 3, 3, 4, 8], [4], [0, 1, 2, 3]],
    ["output_second_last", [3, 3, 8, 4], [2], [0, 1, 3]],
    ["output_second_last", [2, 3, 3, 8, 4], [3], [0, 1, 2, 4]],
    ["depthwise", [3, 3, 4, 2], [2, 3], [0, 1]],
    ["embedding", [100, 8], [1], null],
    ["none", [3, 3], null, null],
    ["unknown", [3, 3], null, null],
    // a fan-in of one element: GC would zero the gradient
    ["output_last", [1, 5], [1], null],
    ["output_last", [1, 1, 1, 5], [3], null],
    ["depthwise", [1, 1, 4, 2], [2, 3], null],
    ["output_second_last", [1, 1, 8, 1], [2], null],
    // too small a rank for the layout
    ["output_last", [5], null, null],
    ["depthwise", [5], null, null],
    ["depthwise", [3, 4], [0, 1], null],
  ];
  for (const [layout, shape, outputAxes, gcAxes] of cases) {
    assert.deepEqual(
      axesOf(layout, shape),
      { outputAxes, gcAxes },
      `${layout} [${shape}]`,
    );
  }
  assert.deepEqual(axesOf("embedding", [100, 8], { embeddings: true }), {
    outputAxes: [1],
    gcAxes: [0],
  });
  assert.deepEqual(axesOf("embedding", [1, 8], { embeddings: true }), {
    outputAxes: [1],
    gcAxes: null,
  });
});
