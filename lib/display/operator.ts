// The MIME bundle of a covariance operator: text/plain (and text/html on
// request, see chartBundle.ts) with its structure, shape, dtype, backend,
// dense size and diagonal stats; a Vega-Lite chart of the diagonal and a
// b x b summary heatmap, titled with the same facts; the same chart as SVG.
// Numbers come from operatorSummary.ts (never n x m).

import type { MimeBundle } from "../displayHooks";
import type { LinearOperator } from "../operators/LinearOperator";
import type { BlockSummary } from "./blockSummary";
import { chartBundle } from "./chartBundle";
import { escapeHtml, fmtBytes, fmtInt, fmtNum, htmlTable } from "./format";
import { type OperatorDisplayOptions, type OperatorSummary, summarizeOperator } from "./operatorSummary";
import { operatorTree, treeLines } from "./structureTree";
import { type VegaLiteSpec, vegaLiteSpec } from "./vegaLite";

export async function operatorBundle(op: LinearOperator, options: OperatorDisplayOptions = {}): Promise<MimeBundle> {
  const s = summarizeOperator(op, options);
  return chartBundle(operatorText(s), operatorHtml(s), operatorSpec(s), options);
}

const shapeText = (s: OperatorSummary) => `${fmtInt(s.shape[0])} x ${fmtInt(s.shape[1])}`;

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

/** null for NaN / infinities, which JSON and Vega treat as missing. */
const num = (v: number): number | null => (Number.isFinite(v) ? v : null);

/**
 * The diagonal chart's y scale. A (nearly) constant diagonal, e.g. every
 * stationary kernel's, gets a +-10% domain; otherwise rounding noise of
 * 1e-16 would fill the whole axis.
 */
function diagonalScale(s: OperatorSummary): Record<string, unknown> {
  const { min, max } = s.diagonal;
  const size = Math.max(Math.abs(min), Math.abs(max));
  if (!Number.isFinite(size) || max - min > 1e-9 * size) return { zero: false };
  const pad = size > 0 ? 0.1 * size : 1;
  return { zero: false, domain: [min - pad, max + pad] };
}

export function operatorSpec(s: OperatorSummary): VegaLiteSpec {
  const [n, m] = s.shape;
  const series = s.series;
  const diagonalValues =
    series.mode === "exact"
      ? series.points.map((p) => ({ i: p.i, value: num(p.value) }))
      : series.buckets.map((bk) => ({ start: bk.start, end: bk.end, mid: (bk.start + bk.end - 1) / 2, min: num(bk.min), mean: num(bk.mean), max: num(bk.max) }));
  // Large indices as 200k, 1M: full numbers collide on a 320 px axis.
  const compact = "datum.value >= 1e6 ? format(datum.value / 1e6, '~r') + 'M' : datum.value >= 1e3 ? format(datum.value / 1e3, '~r') + 'k' : format(datum.value, '~r')";
  const indexAxis = (size: number) => (size >= 1e5 ? { axis: { labelExpr: compact } } : {});
  const x = { type: "quantitative", title: "index i", ...indexAxis(Math.min(n, m)) };
  const yScale = diagonalScale(s);
  const diagonalChart =
    series.mode === "exact"
      ? {
          title: { text: "diagonal K[i, i]", subtitle: `all ${fmtInt(series.points.length)} entries` },
          width: 320,
          height: 220,
          data: { name: "diagonal" },
          mark: { type: "line", point: series.points.length <= 64, tooltip: true },
          encoding: { x: { field: "i", ...x }, y: { field: "value", type: "quantitative", title: "K[i, i]", scale: yScale } },
        }
      : {
          title: { text: "diagonal K[i, i]", subtitle: `min / max envelope and mean over ${fmtInt(series.buckets.length)} buckets of ${fmtInt(series.bucketSize)}` },
          width: 320,
          height: 220,
          data: { name: "diagonal" },
          layer: [
            {
              mark: { type: "area", opacity: 0.35, color: "#4c78a8" },
              encoding: { x: { field: "mid", ...x }, y: { field: "min", type: "quantitative", title: "K[i, i]", scale: yScale }, y2: { field: "max" } },
            },
            { mark: { type: "line", color: "#1f4e79", strokeWidth: 1 }, encoding: { x: { field: "mid", ...x }, y: { field: "mean", type: "quantitative" } } },
          ],
        };

  const b = s.blocks;
  const cells: Record<string, number | null>[] = [];
  for (let a = 0; a < b.rows; a++) {
    for (let c = 0; c < b.cols; c++) {
      const cell: Record<string, number | null> = { r0: b.rowStarts[a], r1: b.rowStarts[a + 1], c0: b.colStarts[c], c1: b.colStarts[c + 1], value: num(b.values[a * b.cols + c]) };
      if (b.rowIndex && b.colIndex) (cell.i = b.rowIndex[a]), (cell.j = b.colIndex[c]);
      cells.push(cell);
    }
  }
  const heatTitle = { exact: "entries K[i, j]", blockMeans: `block means (${b.rows} x ${b.cols}, exact)`, subgrid: `entries on a ${b.rows} x ${b.cols} subgrid` }[b.mode];
  const heatSubtitle = {
    exact: "every entry",
    blockMeans: "mean of K over each block, from one K @ B product",
    subgrid: ["K[i, j] at evenly spaced rows and columns, not block means:", `${fmtNum(n * m, 2)} pairs exceed the ${fmtNum(b.pairBudget, 2)} budget`],
  }[b.mode];
  const tooltip =
    b.mode === "subgrid"
      ? [{ field: "i", type: "quantitative" }, { field: "j", type: "quantitative" }, { field: "value", type: "quantitative", title: "K[i, j]" }]
      : [{ field: "r0", title: "rows from", type: "quantitative" }, { field: "r1", title: "rows to (excl.)", type: "quantitative" }, { field: "c0", title: "cols from", type: "quantitative" }, { field: "c1", title: "cols to (excl.)", type: "quantitative" }, { field: "value", type: "quantitative", title: b.mode === "exact" ? "K[i, j]" : "block mean" }];
  const heatmap = {
    title: { text: heatTitle, subtitle: heatSubtitle },
    width: 260,
    height: 260,
    data: { name: "blocks" },
    mark: { type: "rect" },
    encoding: {
      x: { field: "c0", type: "quantitative", title: "column j", scale: { domain: [0, m], nice: false, zero: false }, ...indexAxis(m) },
      x2: { field: "c1" },
      y: { field: "r0", type: "quantitative", title: "row i", scale: { domain: [0, n], nice: false, zero: false, reverse: true }, ...indexAxis(n) },
      y2: { field: "r1" },
      color: { field: "value", type: "quantitative", title: b.mode === "blockMeans" ? "mean" : "K[i, j]", scale: { scheme: "viridis" } },
      tooltip,
    },
  };

  return vegaLiteSpec({
    // The text/plain facts, so that the chart alone (all JupyterLab shows) tells them.
    title: {
      text: `${s.className}: ${shapeText(s)}, ${s.dtype}`,
      subtitle: [s.description, `${denseText(s)}; backend ${s.backend}`, `diagonal ${diagonalText(s)}`],
      anchor: "start",
    },
    datasets: { diagonal: diagonalValues, blocks: cells },
    usermeta: {
      gplab: {
        kind: "operator",
        diagonal: series.mode === "exact" ? { mode: "exact", points: series.points.length } : { mode: "envelope", buckets: series.buckets.length, bucketSize: series.bucketSize },
        heatmap: { mode: b.mode, rows: b.rows, cols: b.cols, pairBudget: b.pairBudget, pairs: b.pairs },
      },
    },
    hconcat: [diagonalChart, heatmap],
    spacing: 40,
    align: "none",
  });
}
