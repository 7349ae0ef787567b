// A real client: Debian's Jupyter Notebook 6.4 server with the gplab
// kernelspec (installed by `gplab install --prefix` in a temp folder),
// driven by headless Chromium through playwright-core the way a user clicks:
// Cell > Run All on a notebook that trains, predicts and displays an
// operator; the charts are drawn (Notebook 6.4 has no Vega-Lite renderer, so
// the SVG fallback shows); the error cell shows its traceback and the queue
// stops there; the toolbar's Interrupt stops a spinning cell and the next
// cell still sees earlier variables. A screenshot is kept in
// test-output/notebook/ for a human to look at.
// CI installs jupyter-notebook and chromium (.ci/run); without them this is skipped, saying why.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startNotebookServer, NotebookServer, JUPYTER_NOTEBOOK } from "./kernel/notebook-server";
import { tempDir } from "./kernel/harness";

const ROOT = path.resolve(__dirname, "../..");
const OUT = path.join(ROOT, "test-output", "notebook");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const missing = [CHROMIUM, JUPYTER_NOTEBOOK].filter((file) => !fs.existsSync(file));
if (missing.length > 0) console.log(`# SKIPPING the Notebook browser test: missing ${missing.join(", ")}`);

type Browser = import("playwright-core").Browser;
type Page = import("playwright-core").Page;

/** The notebook a user would write: train, predict, show an operator; then a failing cell, a cell behind it, a spinning cell and a last one. */
const CELLS = [
  `const rand = new gp.RandomSource(3);
const trainX = Array.from({ length: 40 }, () => [6 * rand.uniform()]).sort((a, b) => a[0] - b[0]);
const trainY = trainX.map(([x]) => Math.sin(x) + 0.1 * rand.normal());
const likelihood = new gp.likelihoods.GaussianLikelihood();
const model = new gp.models.ExactGP(trainX, trainY, likelihood, {
  meanModule: new gp.means.ConstantMean(),
  covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel()),
});
const run = await gp.train.fit(model, new gp.mlls.ExactMarginalLogLikelihood(likelihood, model), { iterations: 30, lr: 0.1 });
console.log(\`trained: \${run.losses.length} iterations\`);`,
  `const testX = Array.from({ length: 100 }, (_, i) => [(6 * i) / 99]);
const prediction = await model.predict(testX);
prediction`,
  `const K = model.covarModule.call(trainX).addDiagonal(likelihood.noise);
display(K);`,
  `function explode(): never {
  throw new Error("boom in a helper");
}
explode();`,
  `console.log("this cell ran after the error");`,
  `let spins = 0;
while (true) spins++;`,
  "`${prediction.meanF64.length} predictions from ${trainX.length} points`",
];

function notebookJson(): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "gplab", display_name: "TypeScript (gplab)", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells: CELLS.map((source, i) => ({ id: `cell-${i}`, cell_type: "code", metadata: {}, execution_count: null, outputs: [], source })),
  });
}

describe("Jupyter Notebook 6.4 in Chromium, with the gplab kernel", { skip: missing.length > 0 && `missing ${missing.join(", ")}` }, () => {
  let root: string;
  let server: NotebookServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    root = tempDir("notebook");
    fs.mkdirSync(OUT, { recursive: true });
    server = await startNotebookServer(root);
    fs.writeFileSync(path.join(server.notebookDir, "check.ipynb"), notebookJson());
    const { chromium } = await import("playwright-core");
    // playwright gives Chromium a fresh temporary --user-data-dir and adds --headless.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${server.url}/notebooks/check.ipynb?token=${server.token}`);
    // The kernel started and answered kernel_info.
    await page.waitForSelector("#kernel_indicator_icon.kernel_idle_icon", { timeout: 60_000 });
  });

  after(async () => {
    // The notebook as the tests left it (also when one failed), for a human to look at. The
    // notebook scrolls inside the page, so the viewport grows to hold all of it.
    if (page) {
      const height = await page.evaluate(() => (globalThis as any).document.querySelector("#notebook")?.scrollHeight ?? 900).catch(() => 900);
      await page.setViewportSize({ width: 1200, height: Math.min(height + 150, 8000) }).catch(() => undefined);
      await page.screenshot({ path: path.join(OUT, "notebook.png") }).catch(() => undefined);
    }
    await browser?.close();
    await server?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  /** The cell's output area element, found by index. */
  const outputs = (index: number) => page.locator("#notebook-container .cell").nth(index).locator(".output_area");

  /** Number of items a Vega mark of this type drew in the cell's SVG output (rect cells, symbols; one path per line or area). */
  const svgMarks = (index: number, mark: string) =>
    page.locator("#notebook-container .cell").nth(index).locator(`.output_svg svg g.mark-${mark}.role-mark > path`).count();

  test("Run All: training, prediction and operator charts are drawn; the error shows its traceback and stops the queue", async () => {
    await page.click("#celllink");
    await page.click("#run_all_cells > a");
    // The error cell's traceback appears, and the kernel goes idle (the rest of the queue aborted).
    await page.locator("#notebook-container .cell").nth(3).locator(".output_error").waitFor({ timeout: 120_000 });
    await page.waitForSelector("#kernel_indicator_icon.kernel_idle_icon", { timeout: 30_000 });

    // 1: trained, with the live fit chart redrawn in place (one display, SVG with the loss curve).
    const training = outputs(0);
    await assert.doesNotReject(training.locator(".output_stdout", { hasText: "trained: 30 iterations" }).waitFor({ timeout: 5_000 }));
    assert.equal(await training.locator(".output_svg svg").count(), 1, "one fit chart, updated in place");
    assert.ok((await svgMarks(0, "line")) >= 1, "the fit chart draws its loss curve");

    // 2: the prediction chart: band, mean line and the 40 training points.
    assert.equal(await svgMarks(1, "area"), 1, "the predictive band");
    assert.equal(await svgMarks(1, "line"), 1, "the mean");
    assert.equal(await svgMarks(1, "symbol"), 40, "the training points");

    // 3: the 40 x 40 covariance operator as a heatmap.
    assert.equal(await svgMarks(2, "rect"), 1600, "one heatmap cell per entry");
    const box = await page.locator("#notebook-container .cell").nth(2).locator(".output_svg svg").boundingBox();
    assert.ok(box && box.width > 300 && box.height > 200, `the chart is laid out: ${JSON.stringify(box)}`);

    // 4: the traceback: name, message and the frame in the cell's own helper.
    const traceback = await page.locator("#notebook-container .cell").nth(3).locator(".output_error").innerText();
    assert.match(traceback, /Error: boom in a helper/);
    assert.match(traceback, /at explode \(cell-\d+\.js:\d+:\d+\)/);

    // 5: queued behind the error, never ran: no output, no execution count.
    assert.equal(await outputs(4).count(), 0, "no output");
    const prompt = await page.locator("#notebook-container .cell").nth(4).locator(".input_prompt").innerText();
    assert.doesNotMatch(prompt, /\d/, `no execution count: ${prompt}`);
    assert.equal(await page.locator(".output_area", { hasText: "this cell ran after the error" }).count(), 0, "nowhere in the outputs");
  });

  test("Interrupt from the toolbar stops a spinning cell; the next cell sees earlier variables", async () => {
    await page.locator("#notebook-container .cell").nth(5).locator(".input_area").click();
    const runButton = page.locator('button[data-jupyter-action="jupyter-notebook:run-cell-and-select-next"]');
    await runButton.click();
    await page.waitForSelector("#kernel_indicator_icon.kernel_busy_icon", { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const started = Date.now();
    await page.click('button[data-jupyter-action="jupyter-notebook:interrupt-kernel"]');
    const stopped = page.locator("#notebook-container .cell").nth(5).locator(".output_error");
    await stopped.waitFor({ timeout: 15_000 });
    assert.match(await stopped.innerText(), /InterruptedError/);
    assert.ok(Date.now() - started < 10_000, "stopped promptly");
    await page.waitForSelector("#kernel_indicator_icon.kernel_idle_icon", { timeout: 10_000 });

    // Run All left the selection on the next cell: run it from the toolbar.
    await page.locator("#notebook-container .cell").nth(6).locator(".input_area").click();
    await runButton.click();
    const result = outputs(6).locator(".output_result");
    await result.waitFor({ timeout: 30_000 });
    assert.equal((await result.innerText()).trim(), "'100 predictions from 40 points'");
    assert.deepEqual(pageErrors, [], "no errors in the page");
  });
});
