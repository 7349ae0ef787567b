// Which MIME types a bundle carries.
//
// JupyterLab shows the one MIME type of lowest rank it can render:
// text/html has rank 50, its Vega-Lite renderer 57 (svg 80, text/plain 120).
// A bundle holding text/html and Vega-Lite is therefore shown as HTML, and the
// chart never appears. So a bundle with a chart carries text/plain, Vega-Lite
// and the SVG fallback (what Altair does too) and puts its key facts in the
// chart's titles; text/html (the compact table) comes only when asked for with
// { html: true }. A bundle without a chart (a model) carries text/html.

import type { MimeBundle } from "../displayHooks";
import { VEGALITE_MIME, type VegaLiteSpec, renderSvg } from "./vegaLite";

/** Options of every gplab chart. */
export interface ChartOptions {
  /** Include the server-side image/svg+xml (default true). */
  svg?: boolean;
  /**
   * Include text/html beside a chart (default false: JupyterLab would show
   * the HTML instead of the chart). Bundles without a chart always have it.
   */
  html?: boolean;
}

export async function chartBundle(text: string, html: string, spec: VegaLiteSpec | null, options: ChartOptions = {}): Promise<MimeBundle> {
  if (!spec) return { "text/plain": text, "text/html": html };
  const bundle: MimeBundle = { "text/plain": text, [VEGALITE_MIME]: spec };
  if (options.svg ?? true) bundle["image/svg+xml"] = await renderSvg(spec);
  if (options.html) bundle["text/html"] = html;
  return bundle;
}
