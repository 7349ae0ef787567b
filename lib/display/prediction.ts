// Predictions: for 1-D inputs the mean with a +-2 sigma band and the training
// points; for several tasks one panel per task; for d > 1 inputs predicted
// against observed (or against the test index) with +-2 sigma error bars.

import type { PredictionDisplayData } from "../displayData";
import type { MimeBundle } from "../displayHooks";
import { escapeHtml, fmtInt, fmtNum, htmlTable, textTable } from "./format";
import { type ChartOptions, chartBundle } from "./chartBundle";
import { type VegaLiteSpec, vegaLiteSpec } from "./vegaLite";

/** Options of a prediction's chart. */
export interface PredictionDisplayOptions extends ChartOptions {
  /** Most test points drawn per task; more are thinned evenly (default 2000). */
  maxPoints?: number;
}

export type PredictionLayout = "1d" | "observed" | "index";

export async function predictionBundle(data: PredictionDisplayData, options: PredictionDisplayOptions = {}): Promise<MimeBundle> {
  const { text, html } = predictionTables(data);
  return chartBundle(text, html, predictionSpec(data, options), options);
}

const taskCount = (d: PredictionDisplayData) => d.mean[0]?.length ?? 1;
const taskName = (d: PredictionDisplayData, t: number) => d.taskNames?.[t] ?? `task ${t}`;
const sd = (v: number) => Math.sqrt(Math.max(v, 0));
const what = (d: PredictionDisplayData) => (d.noise ? "y (with noise)" : "f");

export function predictionLayout(d: PredictionDisplayData): PredictionLayout {
  if (d.inputDims === 1) return "1d";
  return d.observed ? "observed" : "index";
}

/** Indices 0..n-1 thinned to at most maxPoints, evenly. */
function thin(n: number, maxPoints: number): number[] {
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: maxPoints }, (_, k) => Math.floor((k * (n - 1)) / (maxPoints - 1)));
}

export function predictionSpec(d: PredictionDisplayData, options: PredictionDisplayOptions = {}): VegaLiteSpec {
  const layout = predictionLayout(d);
  const tasks = taskCount(d);
  const n = d.mean.length;
  let picked = thin(n, options.maxPoints ?? 2000);
  if (layout === "1d") picked = picked.slice().sort((a, b) => d.x[a][0] - d.x[b][0]);
  const trainCount = d.train?.x.length ?? 0;
  const trainPicked = thin(trainCount, options.maxPoints ?? 2000);

  // One table for every layer and panel; `series` says which layer a row feeds.
  const rows: Record<string, string | number>[] = [];
  for (let t = 0; t < tasks; t++) {
    const task = taskName(d, t);
    for (const p of picked) {
      const mean = d.mean[p][t];
      const s = sd(d.variance[p][t]);
      const pos = layout === "1d" ? d.x[p][0] : layout === "observed" ? (d.observed as number[][])[p][t] : p;
      rows.push({ series: "prediction", task, pos, mean, lower: mean - 2 * s, upper: mean + 2 * s });
    }
    if (layout === "1d" && d.train) {
      // Training points are thinned like test points: a 100,000-point model must not make a 100,000-point chart.
      const train = d.train;
      for (const q of trainPicked) rows.push({ series: "train", task, pos: train.x[q][0], y: train.y[q][t] });
    }
    if (layout === "observed") {
      // The y = x reference line across the observed range.
      const obs = picked.map((p) => (d.observed as number[][])[p][t]);
      const lo = Math.min(...obs);
      const hi = Math.max(...obs);
      rows.push({ series: "ref", task, pos: lo, mean: lo }, { series: "ref", task, pos: hi, mean: hi });
    }
  }

  const only = (series: string) => [{ filter: `datum.series === '${series}'` }];
  const xTitle = { "1d": "x", observed: "observed", index: "test point" }[layout];
  const x = { field: "pos", type: "quantitative", title: xTitle, scale: { zero: false } };
  const yTitle = layout === "1d" ? `${what(d)}` : `predicted ${what(d)}`;
  const y = (field: string) => ({ field, type: "quantitative", title: yTitle, scale: { zero: false } });
  const layers =
    layout === "1d"
      ? [
          { transform: only("prediction"), mark: { type: "area", opacity: 0.25, color: "#4c78a8" }, encoding: { x, y: y("lower"), y2: { field: "upper" } } },
          { transform: only("prediction"), mark: { type: "line", color: "#1f4e79" }, encoding: { x, y: y("mean") } },
          ...(d.train ? [{ transform: only("train"), mark: { type: "point", filled: true, color: "black", size: 18 }, encoding: { x, y: y("y") } }] : []),
        ]
      : [
          { transform: only("prediction"), mark: { type: "rule", color: "#4c78a8", opacity: 0.6 }, encoding: { x, y: y("lower"), y2: { field: "upper" } } },
          { transform: only("prediction"), mark: { type: "point", filled: true, color: "#1f4e79", size: 20 }, encoding: { x, y: y("mean") } },
          ...(layout === "observed" ? [{ transform: only("ref"), mark: { type: "line", color: "gray", strokeDash: [4, 4] }, encoding: { x, y: y("mean") } }] : []),
        ];
  const thinned = picked.length < n ? `, ${fmtInt(picked.length)} of ${fmtInt(n)} points shown` : "";
  const subtitle = {
    "1d": `mean, ±2σ band${d.train ? (trainPicked.length < trainCount ? `, ${fmtInt(trainPicked.length)} of ${fmtInt(trainCount)} training points` : ", training points") : ""}${thinned}`,
    observed: `predicted mean ±2σ against observed; dashed: y = x${thinned}`,
    index: `mean ±2σ at each test point (${d.inputDims}-D inputs)${thinned}`,
  }[layout];
  const title = { text: `prediction of ${what(d)}`, subtitle, anchor: "start" };
  const usermeta = { gplab: { kind: "prediction", layout, tasks, points: picked.length } };
  if (tasks === 1) return vegaLiteSpec({ title, width: 420, height: 240, data: { values: rows }, layer: layers, usermeta });
  return vegaLiteSpec({
    title,
    data: { values: rows },
    facet: { field: "task", type: "nominal", title: null, sort: Array.from({ length: tasks }, (_, t) => taskName(d, t)) },
    columns: Math.min(tasks, 3),
    spec: { width: 260, height: 180, layer: layers },
    resolve: { scale: { y: "independent", x: "independent" } },
    usermeta,
  });
}

function predictionTables(d: PredictionDisplayData): { text: string; html: string } {
  const tasks = taskCount(d);
  const header = ["task", "mean min", "mean max", "sd min", "sd max"];
  const rows: string[][] = [];
  for (let t = 0; t < tasks; t++) {
    const means = d.mean.map((r) => r[t]);
    const sds = d.variance.map((r) => sd(r[t]));
    rows.push([taskName(d, t), fmtNum(Math.min(...means)), fmtNum(Math.max(...means)), fmtNum(Math.min(...sds)), fmtNum(Math.max(...sds))]);
  }
  const head = `prediction of ${what(d)} at ${fmtInt(d.mean.length)} points (${d.inputDims}-D inputs, ${tasks} task${tasks > 1 ? "s" : ""})`;
  return {
    text: `${head}\n${textTable(header, rows)}`,
    html: `<div class="gplab-prediction"><strong>${escapeHtml(head)}</strong>${htmlTable(header, rows)}</div>`,
  };
}
