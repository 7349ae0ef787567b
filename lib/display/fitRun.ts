// Training runs: the loss curve and the hyperparameter trajectories, plus a
// text / HTML summary (iterations, time, first / last / best loss, final values).

import type { FitRunDisplayData } from "../displayData";
import type { MimeBundle } from "../displayHooks";
import { escapeHtml, fmtInt, fmtNum, htmlTable, textTable } from "./format";
import type { ChartOptions } from "./kernel";
import { VEGALITE_MIME, type VegaLiteSpec, renderSvg, vegaLiteSpec } from "./vegaLite";

export async function fitRunBundle(data: FitRunDisplayData, options: ChartOptions = {}): Promise<MimeBundle> {
  const spec = fitRunSpec(data);
  const { text, html } = fitRunTables(data);
  const bundle: MimeBundle = { "text/plain": text, "text/html": html, [VEGALITE_MIME]: spec };
  if (options.svg ?? true) bundle["image/svg+xml"] = await renderSvg(spec);
  return bundle;
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
  const status = d.done ? "done" : "running";
  return vegaLiteSpec({
    title: { text: `fit: ${fmtInt(d.iterations.length)} iterations (${status})`, anchor: "start" },
    datasets: { losses, hyperparameters: params },
    hconcat: params.length ? [lossChart, paramChart] : [lossChart],
    spacing: 40,
    align: "none",
    usermeta: { gplab: { kind: "fitRun", iterations: d.iterations.length, done: d.done } },
  });
}

function fitRunTables(d: FitRunDisplayData): { text: string; html: string } {
  const k = d.losses.length;
  let best = -1;
  for (let i = 0; i < k; i++) if (Number.isFinite(d.losses[i]) && (best < 0 || d.losses[i] < d.losses[best])) best = i;
  const seconds = d.seconds.length ? d.seconds[d.seconds.length - 1] : 0;
  const head =
    `fit run: ${fmtInt(d.iterations.length)} iterations (${d.done ? "done" : "running"}) in ${fmtNum(seconds, 3)} s` +
    (k ? `; loss ${fmtNum(d.losses[0])} -> ${fmtNum(d.losses[k - 1])}` : "") +
    (best >= 0 ? ` (best ${fmtNum(d.losses[best])} at iteration ${d.iterations[best]})` : "");
  const rows = Object.entries(d.hyperparameters).map(([name, v]) => [name, v.length ? fmtNum(v[0]) : "", v.length ? fmtNum(v[v.length - 1]) : ""]);
  const header = ["hyperparameter", "first", "last"];
  return {
    text: rows.length ? `${head}\n${textTable(header, rows)}` : head,
    html: `<div class="gplab-fit"><strong>${escapeHtml(head)}</strong>${rows.length ? htmlTable(header, rows) : ""}</div>`,
  };
}
