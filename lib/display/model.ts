// Models: class, covariance structure, training-set size and the
// hyperparameter table (text and HTML; a table needs no chart).

import type { ModelDisplayData } from "../displayData";
import type { MimeBundle } from "../displayHooks";
import { escapeHtml, fmtInt, htmlTable } from "./format";
import { hyperparameterHtml, hyperparameterText } from "./hyperparameters";
import { parseNameTree, treeLines } from "./structureTree";

export function modelBundle(data: ModelDisplayData): MimeBundle {
  const tree = treeLines(parseNameTree(data.structure));
  const facts: string[][] = [
    ["covariance", data.structure],
    ["training points", fmtInt(data.numTrainingPoints)],
    ["input dimensions", fmtInt(data.inputDims)],
  ];
  const text = [
    data.name,
    "covariance:",
    ...tree.map((l) => `  ${l}`),
    `training points: ${fmtInt(data.numTrainingPoints)}, input dimensions: ${fmtInt(data.inputDims)}`,
    hyperparameterText(data.hyperparameters),
  ].join("\n");
  const html =
    `<div class="gplab-model"><strong>${escapeHtml(data.name)}</strong>` +
    `${htmlTable(null, facts)}${tree.length > 1 ? `<pre style="margin:0">${escapeHtml(tree.join("\n"))}</pre>` : ""}` +
    `${hyperparameterHtml(data.hyperparameters)}</div>`;
  return { "text/plain": text, "text/html": html };
}
