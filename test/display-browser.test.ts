// Bundles rendered by JupyterLab's own renderers (@jupyterlab/rendermime with
// @jupyterlab/vega5-extension, bundled by esbuild into a page) in headless
// Chromium: the MIME type JupyterLab picks is the Vega-Lite one, the charts
// draw their marks, and the page logs no errors. Saves a screenshot of the
// page and PNGs of the SVG fallbacks under test-output/ for a human to look at.
// Skipped when no Chromium is installed (CHROMIUM=path overrides /usr/bin/chromium).

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import * as gp from "../lib";
import type { FitRunDisplayData, PredictionDisplayData } from "../lib/displayData";
import { points, rbfOperator } from "./helpers/displayFixtures";

const ROOT = path.resolve(__dirname, "../..");
const OUT = path.join(ROOT, "test-output", "browser");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const VL = "application/vnd.vegalite.v5+json";
const haveChromium = fs.existsSync(CHROMIUM);

type Rendered = { mimeType: string; marks: Record<string, number>; items: number; canvas: { width: number; height: number; inkedPixels: number } | null; pngAdded: boolean };
type Browser = import("playwright-core").Browser;
type Page = import("playwright-core").Page;

let browser: Browser;
let page: Page;
const problems: string[] = [];

before(async () => {
  if (!haveChromium) return;
  fs.mkdirSync(OUT, { recursive: true });
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [path.join(ROOT, "test/browser/vegaPage.js")],
    bundle: true,
    format: "iife",
    platform: "browser",
    outfile: path.join(OUT, "page.js"),
    loader: { ".css": "empty", ".svg": "text" },
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "error",
  });
  fs.writeFileSync(path.join(OUT, "index.html"), `<!doctype html><html><head><meta charset="utf-8"><style>body{font-family:sans-serif;margin:12px;width:1200px}</style></head><body><script src="page.js"></script></body></html>`);
  const { chromium } = await import("playwright-core");
  // playwright starts Chromium with a fresh temporary --user-data-dir.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  await page.goto(`file://${path.join(OUT, "index.html")}`);
  await page.waitForFunction(() => (globalThis as unknown as { pageReady?: boolean }).pageReady === true);
});

after(async () => {
  await browser?.close();
});

async function render(bundle: gp.MimeBundle, title: string): Promise<Rendered> {
  return page.evaluate(([b, t]) => (globalThis as unknown as { renderBundle: (b: unknown, t: string) => Promise<Rendered> }).renderBundle(b, t), [bundle, title] as const);
}

/** The SVG fallback as a PNG, for looking at. */
async function svgToPng(svg: string, name: string): Promise<void> {
  const p = await browser.newPage();
  await p.setContent(`<html><body style="margin:0">${svg}</body></html>`);
  await p.locator("svg").first().screenshot({ path: path.join(OUT, `${name}.png`) });
  await p.close();
}

test("JupyterLab's renderer draws gplab's Vega-Lite bundles with no console errors", { skip: !haveChromium && `no Chromium at ${CHROMIUM}` }, async () => {
  const n = 1_000_000;
  const big = rbfOperator({ n, d: 2, x: points(n, 2, 4, 100), lengthscale: 3, outputscale: 2 });
  const noise = new Float64Array(n).map((_, i) => 0.1 + 0.05 * Math.sin(i / 50_000));
  const K = big.add(new gp.operators.DiagLinearOperator(noise));
  const small = rbfOperator({ n: 2000, d: 1, x: points(2000, 1, 8, 10), lengthscale: 0.7, outputscale: 1 }).addDiagonal(0.05);
  const xs = Array.from({ length: 80 }, (_, i) => i / 79);
  const prediction: PredictionDisplayData = {
    kind: "prediction",
    inputDims: 1,
    x: xs.map((v) => [v]),
    mean: xs.map((v) => [Math.sin(6 * v)]),
    variance: xs.map((v) => [0.005 + 0.03 * v * v]),
    noise: false,
    train: { x: xs.filter((_, i) => i % 8 === 0).map((v) => [v]), y: xs.filter((_, i) => i % 8 === 0).map((v) => [Math.sin(6 * v) + 0.03]) },
  };
  const it = Array.from({ length: 60 }, (_, i) => i);
  const fit: FitRunDisplayData = {
    kind: "fitRun",
    iterations: it,
    losses: it.map((i) => 0.8 + Math.exp(-i / 12)),
    hyperparameters: { "likelihood.noise": it.map((i) => 0.69 * Math.exp(-i / 25) + 0.05), "covarModule.outputscale": it.map((i) => 0.69 + i / 80) },
    seconds: it.map((i) => i * 0.02),
    done: true,
  };

  const cases: [string, gp.MimeBundle, Record<string, number>][] = [
    // Scenegraph items: one per heatmap cell, per envelope bucket (area and mean line), per point.
    ["operator-1e6", await gp.display.bundle(K), { rect: 64 * 64, area: 1000, line: 1000 }],
    ["operator-2000", await gp.display.bundle(small), { rect: 64 * 64, area: 1000, line: 1000 }],
    ["prediction", await gp.display.bundle(prediction), { area: 80, line: 80, symbol: 10 }],
    ["fit", await gp.display.bundle(fit), { line: 60 * 3 }],
  ];
  for (const [name, bundle, expected] of cases) {
    const t0 = performance.now();
    const r = await render(bundle, name);
    console.log(`${name}: rendered in ${((performance.now() - t0) / 1000).toFixed(2)} s, marks ${JSON.stringify(r.marks)}`);
    assert.equal(r.mimeType, VL, `${name}: JupyterLab picks the Vega-Lite renderer`);
    for (const [mark, count] of Object.entries(expected)) assert.equal(r.marks[mark], count, `${name}: ${mark} marks ${JSON.stringify(r.marks)}`);
    assert.ok(r.canvas && r.canvas.inkedPixels > 5000, `${name}: the canvas has ink (${JSON.stringify(r.canvas)})`);
    assert.ok(r.pngAdded, `${name}: the renderer exported its PNG`);
    await svgToPng(bundle["image/svg+xml"] as string, `svg-${name}`);
  }

  // Why chart bundles leave text/html out by default: with it, JupyterLab shows the HTML instead.
  const withHtml = await gp.display.bundle(small, { html: true, svg: false });
  assert.equal(await page.evaluate((b) => (globalThis as unknown as { preferredMimeType: (b: unknown) => string }).preferredMimeType(b), withHtml), "text/html");

  await page.screenshot({ path: path.join(OUT, "jupyterlab-vega.png"), fullPage: true });
  assert.deepEqual(problems, [], "no console errors or warnings");
});
