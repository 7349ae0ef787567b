// The live fit chart: first update shows, later ones redraw in place at most
// once per interval, the last update is never lost, close() draws the final
// state with its SVG, and without a live display nothing happens.

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import * as gp from "../lib";
import type { FitRunDisplayData } from "../lib/displayData";
import { liveFitChart } from "../lib/display/liveFitChart";

const SYM = Symbol.for("Jupyter.display");
type Displayable = { [SYM]: () => Promise<gp.MimeBundle> };

/** A stand-in for the kernel's display: records show / update with timestamps. */
function recorder() {
  const events: { op: "show" | "update"; at: number; value: Displayable }[] = [];
  const display: gp.LiveDisplay = {
    show(value) {
      events.push({ op: "show", at: performance.now(), value: value as Displayable });
      return { update: (v) => events.push({ op: "update", at: performance.now(), value: v as Displayable }) };
    },
  };
  return { display, events };
}

function runSoFar(k: number, done = false): FitRunDisplayData {
  const iterations = Array.from({ length: k }, (_, i) => i);
  return { kind: "fitRun", iterations, losses: iterations.map((i) => 1 / (i + 1)), hyperparameters: { noise: iterations.map((i) => 0.5 + i / 100) }, seconds: iterations.map((i) => i * 0.002), done };
}

test("updates are throttled to one redraw per interval, into one display, and the last one is never lost", async () => {
  const { display, events } = recorder();
  const chart = liveFitChart({ display, intervalMs: 40 });
  assert.equal(chart.active, true);
  const start = performance.now();
  for (let k = 1; k <= 100; k++) {
    chart.update(runSoFar(k));
    await sleep(2);
  }
  const elapsed = performance.now() - start;
  await sleep(60); // the trailing redraw of the last update
  assert.equal(events[0].op, "show");
  assert.ok(events.slice(1).every((e) => e.op === "update"), "one output, updated in place");
  // About elapsed / 40 redraws (plus the first and the trailing one), far fewer than 100 updates.
  assert.ok(events.length <= Math.ceil(elapsed / 40) + 2, `${events.length} redraws in ${elapsed.toFixed(0)} ms`);
  assert.ok(events.length >= 3);
  for (let e = 1; e < events.length; e++) assert.ok(events[e].at - events[e - 1].at >= 38, "at least an interval apart");
  const last = await events[events.length - 1].value[SYM]();
  assert.match(last["text/plain"], /^fit run: 100 iterations \(running\)/);
  assert.equal(last["image/svg+xml"], undefined, "live redraws skip the SVG");
  assert.ok(last["application/vnd.vegalite.v5+json"]);

  chart.close(runSoFar(100, true));
  const final = await events[events.length - 1].value[SYM]();
  assert.match(final["text/plain"], /100 iterations \(done\)/);
  assert.match(final["image/svg+xml"] as string, /^<svg/);
  const count = events.length;
  chart.update(runSoFar(101));
  chart.close();
  assert.equal(events.length, count, "nothing after close");
});

test("a drawn snapshot does not change when the caller keeps mutating its arrays", async () => {
  const { display, events } = recorder();
  const chart = liveFitChart({ display, intervalMs: 1000 });
  const run = runSoFar(3);
  chart.update(run);
  run.iterations.push(3);
  run.losses.push(0.25);
  const shown = await events[0].value[SYM]();
  assert.match(shown["text/plain"], /3 iterations/);
  chart.close();
});

test("an update with done: true closes the chart with the final picture", async () => {
  const { display, events } = recorder();
  const chart = liveFitChart({ display, intervalMs: 10_000 });
  chart.update(runSoFar(1));
  chart.update(runSoFar(2, true)); // inside the interval, but final
  assert.equal(events.length, 2);
  assert.match((await events[1].value[SYM]())["image/svg+xml"] as string, /^<svg/);
});

test("without a live display (outside a kernel) the chart is inactive and silent", () => {
  gp.setLiveDisplay(null);
  const chart = liveFitChart();
  assert.equal(chart.active, false);
  chart.update(runSoFar(5));
  chart.close();
  assert.equal(chart.draws, 0);
});
