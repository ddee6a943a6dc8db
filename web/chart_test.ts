import assert from "node:assert/strict";
import { parseHTML } from "linkedom";
import { chart } from "./chart.ts";
import { renderChart } from "./chart_svg.ts";

function doc(): Document {
  return parseHTML("<!doctype html><html><body></body></html>")
    .document as unknown as Document;
}

Deno.test("chart() draws one Plot figure per panel in a grid, with a legend", () => {
  const svg = chart(
    [
      {
        title: "a",
        xLabel: "x",
        series: [{ label: "A", x: [1, 2], y: [1, 2] }],
      },
      {
        title: "b",
        xLabel: "x",
        series: [{ label: "A", x: [1, 2], y: [3, 4] }],
      },
      {
        title: "c",
        xLabel: "x",
        series: [{ label: "A", x: [1, 2], y: [5, 6] }],
      },
    ],
    { title: "grid", columns: 2, panelWidth: 200, panelHeight: 150 },
    doc(),
  );
  const panels = [...svg.querySelectorAll("svg")];
  assert.deepEqual(
    panels.map((p) => [p.getAttribute("x"), p.getAttribute("y")]),
    [["0", "30"], ["200", "30"], ["0", "180"]],
  );
  assert.equal(svg.getAttribute("width"), "400");
  assert.equal(svg.getAttribute("height"), String(30 + 2 * 150 + 30));
  const legend = svg.querySelector('g[aria-label="legend"]')!;
  assert.equal(legend.textContent, "A");
});

Deno.test("chart() leaves out values a log axis cannot show, and NaN", () => {
  const text = renderChart([{
    title: "log",
    xLabel: "step",
    logY: true,
    series: [
      // the band's lower edge goes below 0 at x = 1
      { label: "A", x: [1, 2, 3], y: [0.5, 0.1, 0.01], band: [1, 0.05, 0.001] },
      { label: "B", x: [1, 2, 3], y: [NaN, -1, 0.02] },
    ],
  }], { title: "t" });
  assert.doesNotMatch(text, /NaN|Infinity/);
  assert.equal(text.match(/aria-label="area"><path /g)?.length, 1);
  // B keeps its one positive value: a line of one point, and its dot
  assert.equal(text.match(/aria-label="line"><path /g)?.length, 2);
  assert.match(text, />1e-3</);
  assert.match(text, />1e0</);
});

Deno.test("chart() with no panels draws the title only; bad columns throw", () => {
  const svg = chart([], { title: "empty" }, doc());
  assert.equal(svg.querySelectorAll("svg").length, 0);
  assert.match(svg.textContent ?? "", /empty/);
  assert.throws(
    () => chart([], { title: "t", columns: 0 }, doc()),
    {
      name: "RangeError",
      message: /columns must be a positive integer, got 0/,
    },
  );
});
