// The Vega-Lite picture of an operator: (a) the diagonal along the index,
// every entry or a min / mean / max envelope; (b) the b x b heatmap of block
// means, subgrid entries or the exact small matrix (blockSummary.ts). The top
// title repeats the text/plain facts, since in JupyterLab the chart is all
// the user sees.

import { fmtInt, fmtNum } from "./format";
import { denseText, diagonalText, shapeText } from "./operatorFacts";
import type { OperatorSummary } from "./operatorSummary";
import { type VegaLiteSpec, vegaLiteSpec } from "./vegaLite";

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

// Large indices as 200k, 1M: full numbers collide on a 320 px axis.
const COMPACT = "datum.value >= 1e6 ? format(datum.value / 1e6, '~r') + 'M' : datum.value >= 1e3 ? format(datum.value / 1e3, '~r') + 'k' : format(datum.value, '~r')";
const indexAxis = (size: number) => (size >= 1e5 ? { axis: { labelExpr: COMPACT } } : {});

/** Chart (a) and its rows: {i, value} points or {start, end, mid, min, mean, max} buckets. */
function diagonalChart(s: OperatorSummary): { chart: VegaLiteSpec; values: Record<string, number | null>[] } {
  const series = s.series;
  const x = { type: "quantitative", title: "index i", ...indexAxis(Math.min(s.shape[0], s.shape[1])) };
  const yScale = diagonalScale(s);
  const frame = { width: 320, height: 220, data: { name: "diagonal" } };
  if (series.mode === "exact") {
    return {
      values: series.points.map((p) => ({ i: p.i, value: num(p.value) })),
      chart: {
        title: { text: "diagonal K[i, i]", subtitle: `all ${fmtInt(series.points.length)} entries` },
        ...frame,
        mark: { type: "line", point: series.points.length <= 64, tooltip: true },
        encoding: { x: { field: "i", ...x }, y: { field: "value", type: "quantitative", title: "K[i, i]", scale: yScale } },
      },
    };
  }
  return {
    values: series.buckets.map((bk) => ({ start: bk.start, end: bk.end, mid: (bk.start + bk.end - 1) / 2, min: num(bk.min), mean: num(bk.mean), max: num(bk.max) })),
    chart: {
      title: { text: "diagonal K[i, i]", subtitle: `min / max envelope and mean over ${fmtInt(series.buckets.length)} buckets of ${fmtInt(series.bucketSize)}` },
      ...frame,
      layer: [
        {
          mark: { type: "area", opacity: 0.35, color: "#4c78a8" },
          encoding: { x: { field: "mid", ...x }, y: { field: "min", type: "quantitative", title: "K[i, i]", scale: yScale }, y2: { field: "max" } },
        },
        { mark: { type: "line", color: "#1f4e79", strokeWidth: 1 }, encoding: { x: { field: "mid", ...x }, y: { field: "mean", type: "quantitative" } } },
      ],
    },
  };
}

/** Chart (b) and its cells: {r0, r1, c0, c1, value} (+ the sampled i, j on a subgrid), row-major. */
function heatmapChart(s: OperatorSummary): { chart: VegaLiteSpec; values: Record<string, number | null>[] } {
  const [n, m] = s.shape;
  const b = s.blocks;
  const values: Record<string, number | null>[] = [];
  for (let a = 0; a < b.rows; a++) {
    for (let c = 0; c < b.cols; c++) {
      const cell: Record<string, number | null> = { r0: b.rowStarts[a], r1: b.rowStarts[a + 1], c0: b.colStarts[c], c1: b.colStarts[c + 1], value: num(b.values[a * b.cols + c]) };
      if (b.rowIndex && b.colIndex) (cell.i = b.rowIndex[a]), (cell.j = b.colIndex[c]);
      values.push(cell);
    }
  }
  const title = {
    exact: { text: "entries K[i, j]", subtitle: "every entry" },
    blockMeans: { text: `block means (${b.rows} x ${b.cols}, exact)`, subtitle: "mean of K over each block, from one K @ B product" },
    subgrid: {
      text: `entries on a ${b.rows} x ${b.cols} subgrid`,
      subtitle: ["K[i, j] at evenly spaced rows and columns, not block means:", `${fmtNum(n * m, 2)} pairs exceed the ${fmtNum(b.pairBudget, 2)} budget`],
    },
  }[b.mode];
  const q = (field: string, title?: string) => ({ field, type: "quantitative", ...(title ? { title } : {}) });
  const tooltip =
    b.mode === "subgrid"
      ? [q("i"), q("j"), q("value", "K[i, j]")]
      : [q("r0", "rows from"), q("r1", "rows to (excl.)"), q("c0", "cols from"), q("c1", "cols to (excl.)"), q("value", b.mode === "exact" ? "K[i, j]" : "block mean")];
  return {
    values,
    chart: {
      title,
      width: 260,
      height: 260,
      data: { name: "blocks" },
      transform: [{ calculate: "datum.value", as: "edge" }],
      mark: { type: "rect", strokeWidth: 0.6 },
      encoding: {
        x: { ...q("c0", "column j"), scale: { domain: [0, m], nice: false, zero: false }, ...indexAxis(m) },
        x2: { field: "c1" },
        y: { ...q("r0", "row i"), scale: { domain: [0, n], nice: false, zero: false, reverse: true }, ...indexAxis(n) },
        y2: { field: "r1" },
        color: { ...q("value", b.mode === "blockMeans" ? "mean" : "K[i, j]"), scale: { scheme: "viridis" } },
        // A hairline of the cell's own colour closes the anti-aliasing seams between cells.
        // (A copy of the field, or the colour legend would merge with this one and vanish.)
        stroke: { field: "edge", type: "quantitative", scale: { scheme: "viridis" }, legend: null },
        tooltip,
      },
    },
  };
}

export function operatorSpec(s: OperatorSummary): VegaLiteSpec {
  const diagonal = diagonalChart(s);
  const heatmap = heatmapChart(s);
  const series = s.series;
  const b = s.blocks;
  return vegaLiteSpec({
    title: {
      text: `${s.className}: ${shapeText(s)}, ${s.dtype}`,
      subtitle: [s.description, `${denseText(s)}; backend ${s.backend}`, `diagonal ${diagonalText(s)}`],
      anchor: "start",
    },
    datasets: { diagonal: diagonal.values, blocks: heatmap.values },
    usermeta: {
      gplab: {
        kind: "operator",
        diagonal: series.mode === "exact" ? { mode: "exact", points: series.points.length } : { mode: "envelope", buckets: series.buckets.length, bucketSize: series.bucketSize },
        heatmap: { mode: b.mode, rows: b.rows, cols: b.cols, pairBudget: b.pairBudget, pairs: b.pairs },
      },
    },
    hconcat: [diagonal.chart, heatmap.chart],
    spacing: 40,
    align: "none",
  });
}
