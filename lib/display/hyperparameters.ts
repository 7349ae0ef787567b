// The hyperparameter table kernels and models share: name, constrained
// value(s), shape and constraint, as text and as HTML; a "prior" column
// appears when any parameter has a prior.

import type { HyperparameterRow } from "../displayData";
import { fmtShapeList, fmtValues, htmlTable, textTable } from "./format";

const HEADER = ["hyperparameter", "value", "shape", "constraint"];

function withPriors(rows: readonly HyperparameterRow[]): boolean {
  return rows.some((r) => r.prior !== undefined);
}

function header(rows: readonly HyperparameterRow[]): string[] {
  return withPriors(rows) ? [...HEADER, "prior"] : HEADER;
}

function cells(rows: readonly HyperparameterRow[]): string[][] {
  const priors = withPriors(rows);
  return rows.map((r) => [r.name, fmtValues(r.value), fmtShapeList(r.shape), r.constraint, ...(priors ? [r.prior ?? ""] : [])]);
}

export function hyperparameterText(rows: readonly HyperparameterRow[]): string {
  return rows.length ? textTable(header(rows), cells(rows)) : "(no hyperparameters)";
}

export function hyperparameterHtml(rows: readonly HyperparameterRow[]): string {
  return rows.length ? htmlTable(header(rows), cells(rows)) : "<p>(no hyperparameters)</p>";
}
