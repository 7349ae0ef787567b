// liveFitChart: one chart of a training run that redraws in place while the
// run goes on, instead of printing a line per iteration.
//
// Contract (what gp.train.fit relies on):
//  - `const chart = liveFitChart()` before the loop. It uses the live display a
//    notebook kernel installs (displayHooks.setLiveDisplay); outside a kernel
//    there is none, `chart.active` is false and every call is a cheap no-op,
//    so the caller may print progress its own way instead.
//  - `chart.update(data)` after each iteration with the run so far. It is
//    cheap to call every iteration: the first call shows the chart, later calls
//    redraw it at most once every `intervalMs` (default 500 ms); an update that
//    falls inside the interval is kept and drawn when the interval ends (a
//    timer that does not keep the process alive), so the chart never lags far
//    behind. `data` is copied when drawn; the caller may keep mutating its own
//    arrays.
//  - Live redraws carry text/plain and Vega-Lite but no SVG (the
//    server-side SVG costs tens of ms); `close()` draws the final state with
//    the SVG too, so saved notebooks have a static picture.
//  - `chart.close(finalData?)` once, in a finally block: it cancels the timer
//    and draws `finalData` (or the last update). Calls after close are ignored.
//    An update with `done: true` closes the chart.

import type { FitRunDisplayData } from "../displayData";
import { JUPYTER_DISPLAY, type LiveDisplay, type LiveHandle, type MimeBundle, getLiveDisplay } from "../displayHooks";
import { fitRunBundle } from "./fitRun";

/** Options of `liveFitChart`. */
export interface LiveFitChartOptions {
  /** Least time between redraws (default 500 ms). */
  intervalMs?: number;
  /** Where to draw (default: the kernel's, getLiveDisplay(); null: nowhere). */
  display?: LiveDisplay | null;
}

/** A loss chart redrawn in place while a training loop runs. */
export interface LiveFitChart {
  /** Whether there is a live display to draw on. */
  readonly active: boolean;
  /** How many times the chart has been drawn (shown or updated). */
  readonly draws: number;
  /** Redraws with the run so far (at most every `intervalMs`). */
  update(data: FitRunDisplayData): void;
  /** Draws the final state and stops updating. */
  close(finalData?: FitRunDisplayData): void;
}

/** A value the kernel can display: its Jupyter.display method renders this snapshot. */
export function fitRunDisplayable(data: FitRunDisplayData, svg: boolean): { [JUPYTER_DISPLAY](): Promise<MimeBundle>; toString(): string } {
  return {
    [JUPYTER_DISPLAY]: () => fitRunBundle(data, { svg }),
    toString: () => `fit run: ${data.iterations.length} iterations`,
  };
}

function snapshot(d: FitRunDisplayData): FitRunDisplayData {
  const hyperparameters: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(d.hyperparameters)) hyperparameters[k] = v.slice();
  return { kind: "fitRun", iterations: d.iterations.slice(), losses: d.losses.slice(), hyperparameters, seconds: d.seconds.slice(), done: d.done };
}

/**
 * A live loss chart for your own training loop (gp.train.fit uses one): pass it the run's
 * display data after each step; draws nothing outside a notebook kernel.
 */
export function liveFitChart(options: LiveFitChartOptions = {}): LiveFitChart {
  const live = options.display !== undefined ? options.display : getLiveDisplay();
  const intervalMs = options.intervalMs ?? 500;
  let handle: LiveHandle | null = null;
  let latest: FitRunDisplayData | null = null;
  let drawnLatest = false;
  let lastDraw = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  let draws = 0;

  const cancelTimer = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  const draw = (final: boolean) => {
    if (!live || !latest) return;
    const value = fitRunDisplayable(snapshot(latest), final);
    if (handle) handle.update(value);
    else handle = live.show(value);
    draws++;
    drawnLatest = true;
    lastDraw = performance.now();
  };

  const chart: LiveFitChart = {
    get active() {
      return live !== null;
    },
    get draws() {
      return draws;
    },
    update(data) {
      if (!live || closed) return;
      latest = data;
      drawnLatest = false;
      if (data.done) return chart.close();
      const wait = lastDraw + intervalMs - performance.now();
      if (wait <= 0) {
        cancelTimer();
        draw(false);
      } else if (!timer) {
        timer = setTimeout(() => {
          timer = null;
          if (!closed && !drawnLatest) draw(false);
        }, wait);
        timer.unref?.();
      }
    },
    close(finalData) {
      if (closed) return;
      closed = true;
      cancelTimer();
      if (finalData) latest = finalData;
      draw(true);
    },
  };
  return chart;
}
