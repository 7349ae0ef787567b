// Kernels: structure tree, hyperparameter table and, when the kernel gives
// one, a 1-D slice k(x0, x) along the first input dimension.

import type { KernelDisplayData } from "../displayData";
import type { MimeBundle } from "../displayHooks";
import { escapeHtml } from "./format";
import { hyperparameterHtml, hyperparameterText } from "./hyperparameters";
import { parseNameTree, treeLines } from "./structureTree";
import { VEGALITE_MIME, type VegaLiteSpec, renderSvg, vegaLiteSpec } from "./vegaLite";

export interface ChartOptions {
  /** Include the server-side image/svg+xml (default true). */
  svg?: boolean;
}

export async function kernelBundle(data: KernelDisplayData, options: ChartOptions = {}): Promise<MimeBundle> {
  const tree = treeLines(parseNameTree(data.name));
  const text = [`kernel ${data.name}`, ...(tree.length > 1 ? ["structure:", ...tree.map((l) => `  ${l}`)] : []), hyperparameterText(data.hyperparameters)].join("\n");
  const html = `<div class="gplab-kernel"><strong>${escapeHtml(data.name)}</strong>${tree.length > 1 ? `<pre style="margin:0">${escapeHtml(tree.join("\n"))}</pre>` : ""}${hyperparameterHtml(data.hyperparameters)}</div>`;
  const bundle: MimeBundle = { "text/plain": text, "text/html": html };
  if (data.slice && data.slice.x.length > 0) {
    const spec = kernelSliceSpec(data);
    bundle[VEGALITE_MIME] = spec;
    if (options.svg ?? true) bundle["image/svg+xml"] = await renderSvg(spec);
  }
  return bundle;
}

/** k(x0, x) against x along dimension 0, the other dimensions held at x0. */
export function kernelSliceSpec(data: KernelDisplayData): VegaLiteSpec {
  const slice = data.slice as { x: number[]; k: number[] };
  return vegaLiteSpec({
    title: { text: data.name, subtitle: "slice k(x0, x) along dimension 0, x0 = 0" },
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
