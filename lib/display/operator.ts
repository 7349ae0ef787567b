// The MIME bundle of a covariance operator: text/plain (and text/html on
// request, see chartBundle.ts) with its structure, shape, dtype, backend,
// dense size and diagonal stats; a Vega-Lite chart of the diagonal and a
// b x b summary heatmap, titled with the same facts; the same chart as SVG.
// Numbers come from operatorSummary.ts (never n x m).

import type { MimeBundle } from "../displayHooks";
import type { LinearOperator } from "../operators/LinearOperator";
import { chartBundle } from "./chartBundle";
import { escapeHtml, htmlTable } from "./format";
import { blocksText, denseText, diagonalText, shapeText } from "./operatorFacts";
import { type OperatorDisplayOptions, type OperatorSummary, summarizeOperator } from "./operatorSummary";
import { operatorSpec } from "./operatorChart";
import { operatorTree, treeLines } from "./structureTree";

export async function operatorBundle(op: LinearOperator, options: OperatorDisplayOptions = {}): Promise<MimeBundle> {
  const s = summarizeOperator(op, options);
  return chartBundle(operatorText(s), operatorHtml(s), operatorSpec(s), options);
}

export function operatorText(s: OperatorSummary): string {
  const tree = treeLines(operatorTree(s.structure)).map((l) => `  ${l}`);
  return [
    s.className,
    "structure:",
    ...tree,
    `shape:     ${shapeText(s)}`,
    `dtype:     ${s.dtype}`,
    `backend:   ${s.backend}`,
    `memory:    ${denseText(s)}; this summary never forms it`,
    `diagonal:  ${diagonalText(s)}`,
    `heatmap:   ${blocksText(s.blocks, s.shape)}`,
  ].join("\n");
}

export function operatorHtml(s: OperatorSummary): string {
  const tree = `<pre style="margin:0">${escapeHtml(treeLines(operatorTree(s.structure)).join("\n"))}</pre>`;
  const rows = htmlTable(null, [
    ["shape", shapeText(s)],
    ["dtype", s.dtype],
    ["backend", s.backend],
    ["memory", denseText(s)],
    ["diagonal", diagonalText(s)],
    ["heatmap", blocksText(s.blocks, s.shape)],
  ]);
  return `<div class="gplab-operator"><strong>${escapeHtml(s.className)}</strong>${tree}${rows}</div>`;
}
