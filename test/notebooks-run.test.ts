// The tutorial notebooks (notebooks/*.ipynb): the committed copies are
// executed top to bottom with their pictures where the narrative promises
// one; every notebook executes without a cell error through `gplab run`; 01
// and 04 give identical text outputs when run again with the same seed
// (timings masked); and Jupyter's own nbconvert / nbclient, with the gplab
// kernelspec installed in a temporary prefix, executes a subset (01, 02, 06)
// to the same text outputs. scripts/run-notebooks.sh runs every notebook
// with both tools.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { installKernelspec } from "../kernel/kernelspec";
import type { Notebook, Output } from "../kernel/notebook-format";
import { tempDir } from "./kernel/harness";

const root = path.join(__dirname, "..", "..");
const notebooksDir = path.join(root, "notebooks");
const gplabBin = path.join(root, "bin", "gplab.js");
const python = process.env.PYTHON ?? (fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const VEGALITE = "application/vnd.vegalite.v5+json";
const SVG = "image/svg+xml";
/** Seconds one notebook may take (each runs in well under a minute on 2 cores). */
const CELL_TIMEOUT_S = 300;

/** Cells (by id) whose narrative promises a picture: each must carry Vega-Lite and SVG. */
const PICTURES: Record<string, string[]> = {
  "01-quickstart.ipynb": ["01-07", "01-11"], // live fit chart; prediction with the ±2σ band
  "02-lazy-covariances.ipynb": ["02-01", "02-05"], // kernel slice; the 1,000,000 x 1,000,000 operator
  "03-large-scale-exact.ipynb": ["03-04", "03-07", "03-13"], // subset fit; 20,000-point operator; prediction
  "04-svgp.ipynb": ["04-05", "04-08", "04-09"], // minibatch fit; prediction of f; of y
  "05-multitask-svgp.ipynb": ["05-07", "05-10"], // fit; per-task prediction panels
  "06-custom-kernels.ipynb": ["06-03", "06-06", "06-07", "06-11", "06-14", "06-16"], // kernels, fits, prediction, own class
  "07-classification-robust.ipynb": ["07-04", "07-07", "07-13"], // NGD fit; p(y = 1) with the decision boundary; Gaussian vs Student-t fits
  "08-spectral-mixture-sgpr.ipynb": ["08-04", "08-06", "08-14"], // SM fit; extrapolation; exact vs SGPR
};
const NAMES = Object.keys(PICTURES);

const readNotebook = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as Notebook;
const joined = (v: unknown) => (Array.isArray(v) ? v.join("") : String(v ?? ""));

/** Problems with an executed notebook: unexecuted cells, errors, stderr, missing pictures. */
function problems(nb: Notebook, name: string): string[] {
  const found: string[] = [];
  const code = nb.cells.filter((c) => c.cell_type === "code");
  const counts = code.map((c) => c.execution_count);
  if (JSON.stringify(counts) !== JSON.stringify(code.map((_, i) => i + 1))) found.push(`execution counts ${JSON.stringify(counts)}, expected 1..${code.length}`);
  for (const cell of code) {
    for (const o of cell.outputs ?? []) {
      if (o.output_type === "error") found.push(`cell ${cell.id}: ${o.ename}: ${o.evalue}`);
      if (o.output_type === "stream" && o.name === "stderr") found.push(`cell ${cell.id} wrote to stderr: ${joined(o.text).slice(0, 300)}`);
    }
  }
  for (const id of PICTURES[name] ?? []) {
    const cell = nb.cells.find((c) => c.id === id);
    if (!cell) {
      found.push(`no cell ${id}`);
      continue;
    }
    const charts = (cell.outputs ?? []).filter((o) => {
      const data = (o.data ?? {}) as Record<string, unknown>;
      const spec = data[VEGALITE] as Record<string, unknown> | undefined;
      return spec && typeof spec === "object" && String(spec.$schema ?? "").includes("vega-lite") && /^\s*<svg[\s>]/.test(joined(data[SVG]));
    });
    if (charts.length === 0) found.push(`cell ${id} has no Vega-Lite + SVG output`);
  }
  return found;
}

/** Per code cell, its text outputs in order (consecutive stream chunks merged); timings masked. */
function textOutputs(nb: Notebook): string[][] {
  const mask = (s: string) => s.replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)? ?m?s\b/g, "<time>");
  return nb.cells
    .filter((c) => c.cell_type === "code")
    .map((cell) => {
      const texts: string[] = [];
      let lastStream: string | null = null;
      for (const o of (cell.outputs ?? []) as Output[]) {
        if (o.output_type === "stream") {
          const name = String(o.name);
          if (lastStream === name) texts[texts.length - 1] += joined(o.text);
          else texts.push(`${name}: ${joined(o.text)}`);
          lastStream = name;
          continue;
        }
        lastStream = null;
        if (o.output_type === "error") texts.push(`error: ${o.ename}: ${o.evalue}`);
        else texts.push(`${o.output_type}: ${joined(((o.data ?? {}) as Record<string, unknown>)["text/plain"])}`);
      }
      return texts.map(mask);
    });
}

function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}

async function gplabRun(name: string, out: string): Promise<Notebook> {
  const r = await runProcess(process.execPath, [gplabBin, "run", path.join(notebooksDir, name), "--out", out, "--timeout", String(CELL_TIMEOUT_S)], process.env, (CELL_TIMEOUT_S + 60) * 1000);
  assert.equal(r.status, 0, `gplab run ${name} failed:\n${r.stderr}\n${r.stdout}`);
  console.log(`# gplab run ${name}: ${r.seconds.toFixed(1)} s`);
  return readNotebook(out);
}

describe("committed tutorial notebooks", () => {
  test("notebooks/ holds exactly the checked notebooks", () => {
    // (`gplab run X.ipynb` without --out writes X.executed.ipynb beside it: not a tutorial.)
    const present = fs.readdirSync(notebooksDir).filter((f) => f.endsWith(".ipynb") && !f.endsWith(".executed.ipynb")).sort();
    assert.deepEqual(present, NAMES);
  });

  for (const name of NAMES) {
    test(`${name}: committed with its outputs, top to bottom, no errors, pictures where promised, seeded`, () => {
      const nb = readNotebook(path.join(notebooksDir, name));
      assert.equal((nb.metadata.kernelspec as { name: string }).name, "gplab");
      assert.deepEqual(problems(nb, name), []);
      const sources = nb.cells.filter((c) => c.cell_type === "code").map((c) => joined(c.source));
      assert.match(sources[0], /gp\.setSeed\(\d+\)/, "the first code cell seeds gplab");
      assert.ok(nb.cells.some((c) => c.cell_type === "markdown" && /^# /.test(joined(c.source))), "a title and narrative");
    });
  }
});

describe("executing the tutorial notebooks", () => {
  let dir: string;
  const firstRun = new Map<string, Notebook>();
  before(() => {
    dir = tempDir("notebooks");
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("gplab run executes every notebook without a cell error, with the promised pictures", { timeout: 20 * 60_000 }, async () => {
    for (const name of NAMES) {
      const nb = await gplabRun(name, path.join(dir, `run1-${name}`));
      assert.deepEqual(problems(nb, name), [], name);
      firstRun.set(name, nb);
    }
  });

  test("01 and 04 run again with the same seed give identical text outputs (timings masked)", { timeout: 10 * 60_000 }, async () => {
    for (const name of ["01-quickstart.ipynb", "04-svgp.ipynb"]) {
      const first = firstRun.get(name);
      assert.ok(first, `${name} did not complete its first run`);
      const second = await gplabRun(name, path.join(dir, `run2-${name}`));
      const a = textOutputs(first), b = textOutputs(second);
      assert.ok(a.flat().length >= 6, `${name} has text outputs to compare`);
      assert.deepEqual(b, a, `${name}: second run differs`);
      // The numbers that matter are really there (not masked away).
      assert.match(a.flat().join("\n"), /fit run: \d+ iterations \(done\) in <time>; loss -?\d/);
    }
  });

  const missing = (() => {
    const probe = spawnSync(python, ["-c", "import nbconvert, nbclient, nbformat"], { encoding: "utf8" });
    if (probe.error) return `${python} is not available (${probe.error.message})`;
    if (probe.status !== 0) return `${python} lacks nbconvert/nbclient: ${probe.stderr.trim().split("\n").pop()}`;
    return null;
  })();
  if (missing) console.log(`# SKIPPING the nbconvert notebook run: ${missing}`);

  test("nbconvert --execute with the installed kernelspec runs 01, 02 and 06; their text outputs equal gplab run's", { skip: missing ?? false, timeout: 10 * 60_000 }, async () => {
    const jupyter = path.join(dir, "jupyter");
    installKernelspec({ kernelsDir: path.join(jupyter, "share", "jupyter", "kernels") });
    const env = {
      ...process.env,
      JUPYTER_PATH: path.join(jupyter, "share", "jupyter"),
      JUPYTER_DATA_DIR: path.join(jupyter, "data"),
      JUPYTER_RUNTIME_DIR: path.join(jupyter, "runtime"),
      JUPYTER_CONFIG_DIR: path.join(jupyter, "config"),
      JUPYTER_PLATFORM_DIRS: "1",
      PYTHONWARNINGS: "ignore",
    };
    const outDir = path.join(dir, "nbconvert");
    for (const name of ["01-quickstart.ipynb", "02-lazy-covariances.ipynb", "06-custom-kernels.ipynb"]) {
      const r = await runProcess(
        python,
        ["-m", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=gplab", `--ExecutePreprocessor.timeout=${CELL_TIMEOUT_S}`, "--output-dir", outDir, path.join(notebooksDir, name)],
        env,
        (CELL_TIMEOUT_S + 60) * 1000,
      );
      assert.equal(r.status, 0, `nbconvert ${name} failed:\n${r.stderr.slice(-4000)}`);
      console.log(`# nbconvert ${name}: ${r.seconds.toFixed(1)} s`);
      const nb = readNotebook(path.join(outDir, name));
      assert.deepEqual(problems(nb, name), [], name);
      const reference = firstRun.get(name);
      assert.ok(reference, `${name} did not complete its gplab run`);
      assert.deepEqual(textOutputs(nb), textOutputs(reference), `${name}: nbconvert and gplab run differ`);
    }
  });
});
