// The hyperparameter table kernels and models share: name, constrained
// value(s), shape and constraint, as text and as HTML.

import type { HyperparameterRow } from "../displayData";
import { fmtShapeList, fmtValues, htmlTable, textTable } from "./format";

const HEADER = ["hyperparameter", "value", "shape", "constraint"];

function cells(rows: readonly HyperparameterRow[]): string[][] {
  return rows.map((r) => [r.name, fmtValues(r.value), fmtShapeList(r.shape), r.constraint]);
}

export function hyperparameterText(rows: readonly HyperparameterRow[]): string {
  return rows.length ? textTable(HEADER, cells(rows)) : "(no hyperparameters)";
}

export function hyperparameterHtml(rows: readonly HyperparameterRow[]): string {
  return rows.length ? htmlTable(HEADER, cells(rows)) : "<p>(no hyperparameters)</p>";
}
