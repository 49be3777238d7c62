/**
 * Observable Plot rendered to SVG text without a browser (linkedom supplies
 * the DOM), for static reports and notebooks alike.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";

// Plot only needs createElement/createElementNS and friends, which linkedom provides.
// deno-lint-ignore no-explicit-any
let doc: any = null;

/** Renders a Plot spec to an SVG (or figure) string. */
export function plotSvg(options: Plot.PlotOptions): string {
  doc ??=
    (parseHTML("<!DOCTYPE html><html><body></body></html>") as unknown as { document: unknown })
      .document;
  const el = Plot.plot({ style: { background: "white" }, ...options, document: doc });
  return (el as unknown as { outerHTML: string }).outerHTML;
}

export { Plot };
