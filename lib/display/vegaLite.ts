// Vega-Lite v5 specs out, SVG back: the chart JupyterLab 4 draws in the
// browser and the static picture for viewers without JavaScript come from
// the same spec. vega / vega-lite load on first use (they take a while to
// import and most `import "gplab"` never draws).

/** The MIME type of a Vega-Lite v5 spec in a bundle (JupyterLab draws it). */
export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";
/** The `$schema` URL of Vega-Lite v5 specs. */
export const VEGALITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** A Vega-Lite spec (JSON); kept loose because the renderers build it as plain data. */
export type VegaLiteSpec = Record<string, unknown>;

import { vegaTextWidth } from "./textWidth";

type VegaModule = typeof import("vega");
type VegaLiteModule = typeof import("vega-lite");
let vegaModules: { vega: VegaModule; vl: VegaLiteModule } | null = null;

function modules(): { vega: VegaModule; vl: VegaLiteModule } {
  if (!vegaModules) {
    vegaModules = { vega: require("vega") as VegaModule, vl: require("vega-lite") as VegaLiteModule };
    // No canvas in Node: lay text out with sans-serif widths, not vega's 0.8 em per character.
    (vegaModules.vega as unknown as { textMetrics: { width: unknown } }).textMetrics.width = vegaTextWidth;
  }
  return vegaModules;
}

/**
 * A complete top-level spec: schema, white background, the given body. ARIA
 * labels are off: they repeat every datum's fields on every mark, which
 * triples the SVG of a 64 x 64 heatmap; tooltips still work in the browser.
 */
export function vegaLiteSpec(body: VegaLiteSpec): VegaLiteSpec {
  return { $schema: VEGALITE_SCHEMA, background: "white", ...body, config: { aria: false, ...(body.config as object | undefined) } };
}

/** Server-side SVG of a Vega-Lite spec (no canvas, no DOM). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const { vega, vl } = modules();
  const compiled = vl.compile(spec as unknown as Parameters<VegaLiteModule["compile"]>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return roundGeometry(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** Geometry attributes (paths, transforms, positions) to 2 decimals (1/100 px): a smaller file, the same picture. */
function roundGeometry(svg: string): string {
  return svg.replace(/ (d|transform|x|y|x1|y1|x2|y2|width|height)="([^"]*)"/g, (_, attr: string, value: string) => ` ${attr}="${value.replace(/(\.\d\d)\d+/g, "$1")}"`);
}
