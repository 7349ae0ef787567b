// gp.display: pure functions from gplab objects to Jupyter MIME bundles
// (text/plain, text/html, Vega-Lite v5, SVG). Importing this module registers
// the renderers that operators, kernels, models, predictions and fit runs
// use in their [Symbol.for("Jupyter.display")]() methods.

import { inspect } from "node:util";
import type { DisplayData } from "../displayData";
import { JUPYTER_DISPLAY, type MimeBundle, registerRenderer } from "../displayHooks";
import { LinearOperator } from "../operators/LinearOperator";
import { fitRunBundle } from "./fitRun";
import type { ChartOptions } from "./chartBundle";
import { kernelBundle } from "./kernel";
import { modelBundle } from "./model";
import { operatorBundle } from "./operator";
import type { OperatorDisplayOptions } from "./operatorSummary";
import { type PredictionDisplayOptions, predictionBundle } from "./prediction";

/** Every option `bundle` takes: those of operator pictures, prediction charts and charts in general. */
export type DisplayOptions = OperatorDisplayOptions & PredictionDisplayOptions & ChartOptions;

const KINDS = new Set(["kernel", "model", "prediction", "fitRun"]);

function isDisplayData(x: unknown): x is DisplayData {
  return typeof x === "object" && x !== null && KINDS.has((x as { kind?: unknown }).kind as string);
}

/** The bundle for a DisplayData record. */
function renderData(data: DisplayData, options: DisplayOptions = {}): MimeBundle | Promise<MimeBundle> {
  switch (data.kind) {
    case "kernel":
      return kernelBundle(data, options);
    case "model":
      return modelBundle(data);
    case "prediction":
      return predictionBundle(data, options);
    case "fitRun":
      return fitRunBundle(data, options);
  }
}

registerRenderer("operator", (v) => operatorBundle(v as LinearOperator));
for (const kind of KINDS) registerRenderer(kind, (v) => renderData(v as DisplayData));

/**
 * The MIME bundle of `x`: an operator, a DisplayData record, an object with
 * displayData(), anything with a [Symbol.for("Jupyter.display")]() method
 * (awaited), else util.inspect as text/plain. `options` tune gplab's own
 * pictures (block size, pair budget, SVG on / off).
 */
export async function bundle(x: unknown, options: DisplayOptions = {}): Promise<MimeBundle> {
  if (x instanceof LinearOperator) return operatorBundle(x, options);
  if (isDisplayData(x)) return renderData(x, options);
  const withData = x as { displayData?: () => unknown } | null;
  if (typeof withData?.displayData === "function") {
    const data = withData.displayData();
    if (isDisplayData(data)) return renderData(data, options);
  }
  const method = (x as { [JUPYTER_DISPLAY]?: () => unknown } | null)?.[JUPYTER_DISPLAY];
  if (typeof method === "function") {
    const result = (await method.call(x)) as MimeBundle | null;
    if (result && typeof result === "object") return typeof result["text/plain"] === "string" ? result : { ...result, "text/plain": inspect(x) };
  }
  return { "text/plain": inspect(x) };
}

export type { OperatorDisplayOptions } from "./operatorSummary";
export type { BlockSummaryOptions } from "./blockSummary";
export type { ChartOptions } from "./chartBundle";
export type { PredictionDisplayOptions } from "./prediction";
export { renderSvg, VEGALITE_MIME, VEGALITE_SCHEMA } from "./vegaLite";
export type { VegaLiteSpec } from "./vegaLite";
