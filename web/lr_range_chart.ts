/**
 * The learning-rate range test's curve (`lrRangeTest` from `@centra/tfjs`)
 * as a panel of the project's chart writer: the raw loss of each step as
 * points, the smoothed loss as a line, and the suggested rate as a marked
 * point, against log10 of the learning rate. `chart` draws it in a page,
 * `renderChart` (web/chart_svg.ts) writes it as an SVG file.
 *
 * @module
 */
import type { LrRangeTestResult } from "@centra/tfjs/lr-range";
import type { Panel } from "./chart.ts";

/**
 * One panel of {@linkcode LrRangeTestResult}: x is log10(learning rate).
 *
 * @param result What `lrRangeTest` returned.
 * @param title The panel's title. Default "learning-rate range test".
 * @returns The panel: series "loss" (points), "smoothed loss" (line) and,
 * when there is a suggestion, "suggested rate" (one point on the smoothed
 * curve).
 */
export function lrRangePanel(
  result: LrRangeTestResult,
  title = "learning-rate range test",
): Panel {
  const x = result.learningRates.map(Math.log10);
  const at = result.suggestion === null
    ? -1
    : result.learningRates.indexOf(result.suggestion);
  return {
    title,
    xLabel: "log10(learning rate)",
    series: [
      { label: "loss", x, y: result.losses, points: true },
      {
        label: "smoothed loss",
        x: x.slice(0, result.smoothed.length),
        y: result.smoothed,
      },
      ...(at < 0 ? [] : [{
        label: `suggested rate ${result.suggestion!.toPrecision(2)}`,
        x: [x[at]!],
        y: [result.smoothed[at]!],
        points: true,
        hollow: true,
      }]),
    ],
  };
}
