// Kernels, models, predictions and fit runs: the numbers in each chart's data
// against values computed here, and each SVG fallback's marks.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as gp from "../lib";
import type { FitRunDisplayData, KernelDisplayData, ModelDisplayData, PredictionDisplayData } from "../lib/displayData";
import { countPathsInMark } from "./helpers/displayFixtures";

const VL = "application/vnd.vegalite.v5+json";
type Row = Record<string, number | string>;
type Spec = { $schema: string; data?: { values: Row[] }; datasets?: Record<string, Row[]>; usermeta: { gplab: Record<string, unknown> } };
const OUT = path.resolve(__dirname, "../../test-output");

function save(name: string, svg: string): void {
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, `display-${name}.svg`), svg);
}

const xs = Array.from({ length: 50 }, (_, i) => i / 49);
const trainX = xs.filter((_, i) => i % 5 === 0);

test("1-D prediction: mean, ±2σ band from the variance, training points; SVG has band, line and one symbol per training point", async () => {
  const data: PredictionDisplayData = {
    kind: "prediction",
    inputDims: 1,
    x: xs.map((v) => [v]).reverse(), // unsorted input: the chart sorts by x
    mean: xs.map((v) => [Math.sin(6 * v)]).reverse(),
    variance: xs.map((v) => [0.01 + 0.04 * v]).reverse(),
    noise: false,
    train: { x: trainX.map((v) => [v]), y: trainX.map((v) => [Math.sin(6 * v) + 0.05]) },
  };
  const b = await gp.display.bundle(data);
  const spec = b[VL] as Spec;
  assert.equal(spec.$schema, "https://vega.github.io/schema/vega-lite/v5.json");
  const rows = (spec.data as { values: Row[] }).values.filter((r) => r.series === "prediction");
  assert.equal(rows.length, 50);
  rows.forEach((r, k) => {
    const v = xs[k]; // sorted ascending
    assert.equal(r.pos, v);
    const s = Math.sqrt(0.01 + 0.04 * v);
    assert.ok(Math.abs((r.lower as number) - (Math.sin(6 * v) - 2 * s)) < 1e-12);
    assert.ok(Math.abs((r.upper as number) - (Math.sin(6 * v) + 2 * s)) < 1e-12);
  });
  const svg = b["image/svg+xml"] as string;
  assert.equal(countPathsInMark(svg, "mark-area role-mark layer_0_marks"), 1);
  assert.equal(countPathsInMark(svg, "mark-line role-mark layer_1_marks"), 1);
  assert.equal(countPathsInMark(svg, "mark-symbol role-mark layer_2_marks"), trainX.length);
  assert.match(b["text/plain"], /prediction of f at 50 points \(1-D inputs, 1 task\)/);
  save("prediction-1d", svg);
});

test("multitask prediction: one panel per task, in task order", async () => {
  const data: PredictionDisplayData = {
    kind: "prediction",
    inputDims: 1,
    x: xs.map((v) => [v]),
    mean: xs.map((v) => [Math.sin(6 * v), Math.cos(6 * v), v]),
    variance: xs.map(() => [0.01, 0.02, 0.03]),
    noise: false,
    train: { x: trainX.map((v) => [v]), y: trainX.map((v) => [Math.sin(6 * v), Math.cos(6 * v), v]) },
    taskNames: ["sin", "cos", "linear"],
  };
  const b = await gp.display.bundle(data);
  const svg = b["image/svg+xml"] as string;
  assert.equal(svg.split("mark-area role-mark child_layer_0_marks").length - 1, 3, "three bands");
  assert.equal(svg.split("mark-line role-mark child_layer_1_marks").length - 1, 3, "three mean lines");
  const titles = [...svg.matchAll(/>(sin|cos|linear)</g)].map((m) => m[1]);
  assert.deepEqual(titles.slice(0, 3), ["sin", "cos", "linear"]);
  // sd of task 2 = sqrt(0.03) = 0.1732
  assert.match(b["text/plain"], /linear\s+0\s+1\s+0\.1732\s+0\.1732/);
  save("prediction-multitask", svg);
});

test("d > 1 prediction: predicted against observed with ±2σ error bars and a y = x line; without observed, against the test index", async () => {
  const data: PredictionDisplayData = {
    kind: "prediction",
    inputDims: 3,
    x: xs.map((v) => [v, v, v]),
    mean: xs.map((v) => [v + 0.1 * Math.sin(20 * v)]),
    variance: xs.map(() => [0.0025]),
    noise: true,
    observed: xs.map((v) => [v]),
  };
  const b = await gp.display.bundle(data);
  const spec = b[VL] as Spec;
  assert.equal(spec.usermeta.gplab.layout, "observed");
  const rows = (spec.data as { values: Row[] }).values.filter((r) => r.series === "prediction");
  rows.forEach((r, k) => assert.ok(Math.abs((r.upper as number) - (r.lower as number) - 4 * 0.05) < 1e-12 && r.pos === xs[k]));
  const svg = b["image/svg+xml"] as string;
  assert.equal(countPathsInMark(svg, "mark-rule role-mark layer_0_marks", "line"), 50, "one error bar per point");
  assert.equal(countPathsInMark(svg, "mark-symbol role-mark layer_1_marks"), 50);
  assert.equal(countPathsInMark(svg, "mark-line role-mark layer_2_marks"), 1, "y = x");
  assert.match(svg, /predicted y \(with noise\)/);
  save("prediction-observed", svg);

  const byIndex = await gp.display.bundle({ ...data, observed: undefined }, { svg: false });
  assert.equal((byIndex[VL] as Spec).usermeta.gplab.layout, "index");
});

test("long predictions are thinned evenly for the chart, and the chart says so", async () => {
  const n = 10_000;
  const data: PredictionDisplayData = {
    kind: "prediction",
    inputDims: 1,
    x: Array.from({ length: n }, (_, i) => [i]),
    mean: Array.from({ length: n }, () => [0]),
    variance: Array.from({ length: n }, () => [1]),
    noise: false,
  };
  const spec = (await gp.display.bundle(data, { svg: false }))[VL] as Spec;
  const rows = (spec.data as { values: Row[] }).values;
  assert.equal(rows.length, 2000);
  assert.equal(rows[0].pos, 0);
  assert.equal(rows[1999].pos, n - 1);
  assert.match(JSON.stringify(spec), /2,000 of 10,000 points shown/);
});

test("fit run: loss curve and one trajectory per hyperparameter; text gives first / last / best", async () => {
  const iterations = Array.from({ length: 50 }, (_, i) => i);
  const data: FitRunDisplayData = {
    kind: "fitRun",
    iterations,
    losses: iterations.map((i) => 1 + Math.exp(-i / 10) + (i === 30 ? -0.5 : 0)),
    hyperparameters: { "likelihood.noise": iterations.map((i) => 0.7 * Math.exp(-i / 20) + 0.05), "covarModule.outputscale": iterations.map((i) => 1 + i / 50) },
    seconds: iterations.map((i) => (i + 1) * 0.01),
    done: true,
  };
  const b = await gp.display.bundle(data);
  const spec = b[VL] as Spec;
  assert.equal((spec.datasets as Record<string, Row[]>).losses.length, 50);
  assert.equal((spec.datasets as Record<string, Row[]>).hyperparameters.length, 100);
  const svg = b["image/svg+xml"] as string;
  assert.equal(countPathsInMark(svg, "mark-line role-mark concat_0_marks"), 1, "loss curve");
  assert.equal(svg.split("mark-line role-mark concat_1_marks").length - 1, 2, "two trajectories");
  assert.match(svg, /likelihood\.noise/);
  // loss[0] = 2; loss[30] = 1 + e^-3 - 0.5 = 0.5498 is the best.
  assert.match(svg, /50 iterations \(done\)/);
  assert.match(b["text/plain"], /50 iterations \(done\) in 0\.5 s; loss 2 -> 1\.007 \(best 0\.5498 at iteration 30\)/);
  assert.match(b["text/plain"], /covarModule\.outputscale\s+1\s+1\.98/);
  save("fit", svg);
});

const hyperparameters = [
  { name: "outputscale", value: [2], shape: [], constraint: "Positive (softplus)" },
  { name: "baseKernel.lengthscale", value: [0.5, 1, 2], shape: [1, 3], constraint: "Positive (softplus)" },
];

test("kernel: structure tree, hyperparameter table and the k(x0, x) slice", async () => {
  const sx = xs.map((v) => 4 * v - 2);
  const data: KernelDisplayData = { kind: "kernel", name: "ScaleKernel(AdditiveKernel(RBFKernel, PeriodicKernel))", hyperparameters, slice: { x: sx, k: sx.map((v) => 2 * Math.exp(-2 * v * v)) } };
  const b = await gp.display.bundle(data, { html: true });
  assert.match(b["text/plain"], /ScaleKernel\n\s+└─ AdditiveKernel\n\s+├─ RBFKernel\n\s+└─ PeriodicKernel/);
  assert.match(b["text/plain"], /baseKernel\.lengthscale\s+\[0\.5, 1, 2\]\s+\[1, 3\]\s+Positive \(softplus\)/);
  assert.match(b["text/html"] as string, /<td[^>]*>\[0\.5, 1, 2\]<\/td>/);
  assert.equal(countPathsInMark(b["image/svg+xml"] as string, "mark-line role-mark marks"), 1);
  assert.match(b["image/svg+xml"] as string, /baseKernel\.lengthscale = \[0\.5, 1, 2\]/, "the chart titles carry the hyperparameters");
  save("kernel", b["image/svg+xml"] as string);
});

test("model: table of facts and hyperparameters, no chart", async () => {
  const data: ModelDisplayData = { kind: "model", name: "ExactGP", structure: "ScaleKernel(RBFKernel)", numTrainingPoints: 12345, inputDims: 2, hyperparameters };
  const b = await gp.display.bundle(data);
  assert.deepEqual(Object.keys(b).sort(), ["text/html", "text/plain"]);
  assert.match(b["text/plain"], /training points: 12,345, input dimensions: 2/);
  assert.match(b["text/html"] as string, /<th[^>]*>training points<\/th><td[^>]*>12,345<\/td>/);
});

test("real kernels display through their Jupyter.display method", async () => {
  const k = new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel());
  const viaSymbol = await (k as unknown as Record<symbol, () => Promise<gp.MimeBundle>>)[Symbol.for("Jupyter.display")]();
  assert.match(viaSymbol["text/plain"], /lengthscale/);
  assert.ok(viaSymbol[VL], "has a slice chart");
  assert.deepEqual(Object.keys(await gp.display.bundle(k)).sort(), Object.keys(viaSymbol).sort());
});

test("a user's own class chooses its bundle with the same symbol; anything else is text/plain", async () => {
  class Money {
    constructor(readonly cents: number) {}
    [Symbol.for("Jupyter.display")]() {
      return { "text/plain": `$${(this.cents / 100).toFixed(2)}`, "text/html": `<b>$${(this.cents / 100).toFixed(2)}</b>` };
    }
  }
  assert.deepEqual(await gp.display.bundle(new Money(1999)), { "text/plain": "$19.99", "text/html": "<b>$19.99</b>" });
  assert.deepEqual(await gp.display.bundle({ a: 1 }), { "text/plain": "{ a: 1 }" });
});

test("the README's user-class example: a Vega-Lite chart and its SVG", async () => {
  class Dataset {
    constructor(
      readonly name: string,
      readonly x: number[],
      readonly y: number[],
    ) {}

    async [Symbol.for("Jupyter.display")]() {
      const spec = {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json",
        title: `${this.name}: ${this.x.length} points`,
        data: { values: this.x.map((x, i) => ({ x, y: this.y[i] })) },
        mark: "point",
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
      };
      return {
        "text/plain": `${this.name}: ${this.x.length} points`,
        "application/vnd.vegalite.v5+json": spec,
        "image/svg+xml": await gp.display.renderSvg(spec),
      };
    }
  }
  const b = await gp.display.bundle(new Dataset("train", [0, 0.5, 1], [0.1, 0.9, 0.2]));
  assert.equal(b["text/plain"], "train: 3 points");
  assert.equal(countPathsInMark(b["image/svg+xml"] as string, "mark-symbol role-mark marks"), 3);
});
