// The facts an operator's text, HTML and chart titles share, as short phrases.

import type { BlockSummary } from "./blockSummary";
import { fmtBytes, fmtInt, fmtNum } from "./format";
import type { OperatorSummary } from "./operatorSummary";

export const shapeText = (s: OperatorSummary) => `${fmtInt(s.shape[0])} x ${fmtInt(s.shape[1])}`;

export function denseText(s: OperatorSummary): string {
  return `dense would need ${fmtBytes(s.denseBytesF32)} as float32 (${fmtBytes(s.denseBytesF64)} as float64)`;
}

export function diagonalText(s: OperatorSummary): string {
  const d = s.diagonal;
  if (d.length === 0) return "(empty)";
  const bad = d.nonFinite ? ` (${fmtInt(d.nonFinite)} non-finite entries left out)` : "";
  return `min ${fmtNum(d.min)}  mean ${fmtNum(d.mean)}  max ${fmtNum(d.max)}${bad}`;
}

/** One line on what the heatmap shows and why. */
export function blocksText(b: BlockSummary, shape: readonly [number, number]): string {
  const grid = `${b.rows} x ${b.cols}`;
  switch (b.mode) {
    case "exact":
      return `all ${grid} entries (exact)`;
    case "blockMeans":
      return `${grid} block means (exact, from one product with the block indicators)`;
    case "subgrid":
      return (
        `entries on an evenly spaced ${grid} subgrid, not block means ` +
        `(block means need ${fmtNum(shape[0] * shape[1], 2)} pair evaluations, over the budget of ${fmtNum(b.pairBudget, 2)})`
      );
  }
}
