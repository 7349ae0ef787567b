// Kernels: structure tree, hyperparameter table and, when the kernel gives
// one, a 1-D slice k(x0, x) along the first input dimension.

import type { KernelDisplayData } from "../displayData";
import type { MimeBundle } from "../displayHooks";
import { type ChartOptions, chartBundle } from "./chartBundle";
import { escapeHtml, fmtShapeList, fmtValues } from "./format";
import { hyperparameterHtml, hyperparameterText } from "./hyperparameters";
import { parseNameTree, treeLines } from "./structureTree";
import { type VegaLiteSpec, vegaLiteSpec } from "./vegaLite";

export async function kernelBundle(data: KernelDisplayData, options: ChartOptions = {}): Promise<MimeBundle> {
  const tree = treeLines(parseNameTree(data.name));
  const text = [`kernel ${data.name}`, ...(tree.length > 1 ? ["structure:", ...tree.map((l) => `  ${l}`)] : []), hyperparameterText(data.hyperparameters)].join("\n");
  const html = `<div class="gplab-kernel"><strong>${escapeHtml(data.name)}</strong>${tree.length > 1 ? `<pre style="margin:0">${escapeHtml(tree.join("\n"))}</pre>` : ""}${hyperparameterHtml(data.hyperparameters)}</div>`;
  return chartBundle(text, html, data.slice && data.slice.x.length > 0 ? kernelSliceSpec(data) : null, options);
}

/** k(x0, x) against x along dimension 0, the other dimensions held at x0. */
export function kernelSliceSpec(data: KernelDisplayData): VegaLiteSpec {
  const slice = data.slice as { x: number[]; k: number[] };
  return vegaLiteSpec({
    // The hyperparameters go in the subtitle: in JupyterLab the chart is all the user sees.
    title: { text: data.name, subtitle: [...hyperparameterLines(data), "slice k(x0, x) along dimension 0, x0 = 0"], anchor: "start" },
    width: 360,
    height: 220,
    data: { values: slice.x.map((x, i) => ({ x, k: slice.k[i] })) },
    mark: { type: "line", tooltip: true },
    encoding: {
      x: { field: "x", type: "quantitative", title: "x (dimension 0)" },
      y: { field: "k", type: "quantitative", title: "k(x0, x)" },
    },
    usermeta: { gplab: { kind: "kernel" } },
  });
}

/** "baseKernel.lengthscale = [0.5, 1, 2]  [1, 3]", at most 8 lines. */
function hyperparameterLines(data: KernelDisplayData): string[] {
  const lines = data.hyperparameters.slice(0, 8).map((h) => `${h.name} = ${fmtValues(h.value)}${h.shape.length > 1 || (h.shape[0] ?? 1) > 1 ? `  ${fmtShapeList(h.shape)}` : ""}`);
  if (data.hyperparameters.length > 8) lines.push(`... ${data.hyperparameters.length - 8} more`);
  return lines;
}
