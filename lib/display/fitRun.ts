// Training runs: the loss curve and the hyperparameter trajectories, plus a
// text / HTML summary (iterations, time, first / last / best loss, final values).

import type { FitRunDisplayData } from "../displayData";
import type { MimeBundle } from "../displayHooks";
import { escapeHtml, fmtInt, fmtNum, htmlTable, textTable } from "./format";
import { type ChartOptions, chartBundle } from "./chartBundle";
import { type VegaLiteSpec, vegaLiteSpec } from "./vegaLite";

export async function fitRunBundle(data: FitRunDisplayData, options: ChartOptions = {}): Promise<MimeBundle> {
  const { text, html } = fitRunTables(data);
  return chartBundle(text, html, fitRunSpec(data), options);
}

export function fitRunSpec(d: FitRunDisplayData): VegaLiteSpec {
  const losses = d.iterations.map((iteration, k) => ({ iteration, loss: Number.isFinite(d.losses[k]) ? d.losses[k] : null }));
  const params: { iteration: number; name: string; value: number }[] = [];
  for (const [name, values] of Object.entries(d.hyperparameters)) {
    const count = Math.min(values.length, d.iterations.length);
    for (let k = 0; k < count; k++) if (Number.isFinite(values[k])) params.push({ iteration: d.iterations[k], name, value: values[k] });
  }
  const iteration = { field: "iteration", type: "quantitative", title: "iteration" };
  const lossChart = {
    title: "loss",
    width: 320,
    height: 220,
    data: { name: "losses" },
    mark: { type: "line", point: losses.length <= 40, tooltip: true },
    encoding: { x: iteration, y: { field: "loss", type: "quantitative", title: "loss", scale: { zero: false } } },
  };
  const paramChart = {
    title: "hyperparameters (constrained)",
    width: 320,
    height: 220,
    data: { name: "hyperparameters" },
    mark: { type: "line", tooltip: true },
    encoding: {
      x: iteration,
      y: { field: "value", type: "quantitative", title: "value", scale: { zero: false } },
      color: { field: "name", type: "nominal", title: null, legend: { orient: "bottom", columns: 2, labelLimit: 260 } },
    },
  };
  return vegaLiteSpec({
    title: { text: "fit run", subtitle: fitRunHeadline(d), anchor: "start" },
    datasets: { losses, hyperparameters: params },
    hconcat: params.length ? [lossChart, paramChart] : [lossChart],
    spacing: 40,
    align: "none",
    usermeta: { gplab: { kind: "fitRun", iterations: d.iterations.length, done: d.done } },
  });
}

/** "fit run: 100 iterations (done) in 3.2 s; loss 1.2 -> 0.5 (best 0.49 at iteration 97)" */
function fitRunHeadline(d: FitRunDisplayData): string {
  const k = d.losses.length;
  let best = -1;
  for (let i = 0; i < k; i++) if (Number.isFinite(d.losses[i]) && (best < 0 || d.losses[i] < d.losses[best])) best = i;
  const seconds = d.seconds.length ? d.seconds[d.seconds.length - 1] : 0;
  const head =
    `fit run: ${fmtInt(d.iterations.length)} iterations (${d.done ? "done" : "running"}) in ${fmtNum(seconds, 3)} s` +
    (k ? `; loss ${fmtNum(d.losses[0])} -> ${fmtNum(d.losses[k - 1])}` : "") +
    (best >= 0 ? ` (best ${fmtNum(d.losses[best])} at iteration ${d.iterations[best]})` : "");
  return head;
}

function fitRunTables(d: FitRunDisplayData): { text: string; html: string } {
  const head = fitRunHeadline(d);
  const rows = Object.entries(d.hyperparameters).map(([name, v]) => [name, v.length ? fmtNum(v[0]) : "", v.length ? fmtNum(v[v.length - 1]) : ""]);
  const header = ["hyperparameter", "first", "last"];
  return {
    text: rows.length ? `${head}\n${textTable(header, rows)}` : head,
    html: `<div class="gplab-fit"><strong>${escapeHtml(head)}</strong>${rows.length ? htmlTable(header, rows) : ""}</div>`,
  };
}
