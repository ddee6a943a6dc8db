/**
 * {@linkcode chart} as an SVG file's text, outside a browser: the same
 * Observable Plot figures, built in a linkedom document and serialized.
 *
 * @module
 */
import { parseHTML } from "linkedom";
import { chart, type ChartOptions, type Panel } from "./chart.ts";

export type { ChartOptions, Panel, Series } from "./chart.ts";
export { COLORS } from "./chart.ts";

/**
 * Renders panels into one standalone SVG document (see {@linkcode chart}).
 *
 * @param panels The panels, left to right, then top to bottom.
 * @param options Title, layout and colours.
 * @returns The SVG file's text, ending with a newline.
 * @throws {RangeError} As {@linkcode chart}.
 */
export function renderChart(
  panels: readonly Panel[],
  options: ChartOptions,
): string {
  const { document } = parseHTML("<!doctype html><html><body></body></html>");
  const svg = chart(panels, options, document as unknown as Document);
  // a file needs the namespace that an inline <svg> gets from the page
  svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  return svg.outerHTML + "\n";
}
