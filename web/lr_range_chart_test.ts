import assert from "node:assert/strict";
import { lrRangePanel } from "./lr_range_chart.ts";
import { renderChart } from "./chart_svg.ts";

Deno.test("lrRangePanel() draws the losses, the smoothed curve and the suggestion on a log10 axis", () => {
  const result = {
    learningRates: [1e-3, 1e-2, 1e-1, 1],
    losses: [2, 1.5, 0.8, 3],
    smoothed: [2, 1.8, 1.4, 1.9],
    suggestion: 1e-1,
    minimum: { learningRate: 1e-1, loss: 1.4 },
    diverged: true,
  };
  const panel = lrRangePanel(result);
  assert.deepEqual(panel.series[0]!.x, [-3, -2, -1, 0]);
  assert.deepEqual(panel.series[2]!.x, [-1]);
  assert.deepEqual(panel.series[2]!.y, [1.4]);
  assert.equal(panel.series[2]!.label, "suggested rate 0.10");
  const svg = renderChart([panel], { title: "range test" });
  assert.match(svg, /^<svg /);
  assert.match(svg, /suggested rate 0\.10/);
  assert.doesNotMatch(svg, /NaN/);
  const none = lrRangePanel({ ...result, suggestion: null });
  assert.equal(none.series.length, 2);
});
