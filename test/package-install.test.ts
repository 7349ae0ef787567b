// The way kernel users install gplab: `npm pack` the package, install the
// tarball globally into a temporary prefix (dependencies from the npm
// registry), `gplab install --prefix` the kernelspec, and execute the
// quickstart notebook with Jupyter's nbconvert from a folder that has no
// node_modules, so everything the kernel loads comes from the global install.

import { strict as assert } from "node:assert";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

const root = path.join(__dirname, "..", "..");
const python = process.env.PYTHON ?? (fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const NOTEBOOK = "01-quickstart.ipynb";

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

/** The environment without the npm_* variables `npm test` sets (they would redirect the inner npm's prefix and cache). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== "INIT_CWD") env[k] = v;
  return { ...env, ...extra };
}

function check(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.error, undefined, `${what}: ${r.error?.message}`);
  assert.equal(r.status, 0, `${what} failed (exit ${r.status}):\n${(r.stdout ?? "").slice(-3000)}\n${(r.stderr ?? "").slice(-3000)}`);
  return r.stdout;
}

/** Text outputs of a notebook's code cells, with timings masked. */
function textOutputs(nb: { cells: { cell_type: string; outputs?: Record<string, unknown>[] }[] }): string[] {
  const out: string[] = [];
  for (const cell of nb.cells) {
    if (cell.cell_type !== "code") continue;
    for (const o of cell.outputs ?? []) {
      const data = o.data as Record<string, unknown> | undefined;
      const text = o.text ?? data?.["text/plain"];
      if (text !== undefined) out.push((Array.isArray(text) ? text.join("") : String(text)).replace(/\d+(\.\d+)? ?(ms|s)\b/g, "<time>"));
    }
  }
  return out;
}

const missing = (() => {
  const probe = spawnSync(python, ["-c", "import nbconvert, nbclient, nbformat"], { encoding: "utf8" });
  if (probe.error) return `${python} is not available (${probe.error.message})`;
  if (probe.status !== 0) return `${python} lacks nbconvert/nbclient: ${probe.stderr.trim().split("\n").pop()}`;
  return null;
})();
if (missing) console.log(`# SKIPPING the global-install test: ${missing}`);

test("npm pack ships what runs; a global install runs the quickstart notebook through nbconvert", { skip: missing ?? false, timeout: 5 * 60_000 }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "gplab-package-"));
  try {
    // 1. Pack (the build already ran: `npm test` builds first).
    const packed = JSON.parse(
      check(spawnSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: root, encoding: "utf8", env: cleanEnv() }), "npm pack"),
    ) as PackResult[];
    const { filename, size, unpackedSize, files } = packed[0];
    const paths = files.map((f) => f.path);
    console.log(`# tarball ${filename}: ${size} bytes, ${unpackedSize} unpacked, ${paths.length} files`);
    for (const needed of ["package.json", "README.md", "LICENSE", "bin/gplab.js", "dist/lib/index.js", "dist/lib/index.d.ts", "dist/kernel/cli.js", "dist/kernel/cell-runner.js", "dist/lib/reductions/fusedWorker.js"]) {
      assert.ok(paths.includes(needed), `the tarball lacks ${needed}`);
    }
    assert.ok(paths.some((p) => p.startsWith("dist/vendor/")), "the tarball lacks dist/vendor (tfjs registrations)");
    const shipped = paths.filter((p) => /^(test|bench|notebooks|scripts|\.ci|lib|etc)\/|^dist\/(test|bench|api)\/|\.map$|\.tsbuildinfo$/.test(p));
    assert.deepEqual(shipped, [], "tests, benchmarks, sources, notebooks and source maps stay out of the tarball");

    // 2. Global install into a temporary prefix, as `npm install -g gplab` would.
    const prefix = path.join(work, "global");
    check(
      spawnSync("npm", ["install", "-g", "--prefix", prefix, path.join(work, filename), "--no-audit", "--no-fund", "--prefer-offline"], {
        cwd: work,
        encoding: "utf8",
        env: cleanEnv(),
      }),
      "npm install -g",
    );
    const gplab = path.join(prefix, "bin", "gplab");
    assert.ok(fs.existsSync(gplab), `npm install -g put no gplab command in ${path.dirname(gplab)}`);

    // 3. The kernelspec, into another prefix; it must start the globally installed kernel.
    const jupyterPrefix = path.join(work, "jupyter");
    check(spawnSync(gplab, ["install", "--prefix", jupyterPrefix], { cwd: work, encoding: "utf8", env: cleanEnv() }), "gplab install --prefix");
    const kernelJson = JSON.parse(fs.readFileSync(path.join(jupyterPrefix, "share", "jupyter", "kernels", "gplab", "kernel.json"), "utf8")) as { argv: string[] };
    const installed = fs.realpathSync(path.join(prefix, "lib", "node_modules", "gplab"));
    assert.ok(fs.realpathSync(kernelJson.argv[1]).startsWith(installed), `kernel.json starts ${kernelJson.argv[1]}, not the global install in ${installed}`);

    // 4. nbconvert --execute from a folder with no node_modules anywhere above it.
    const notebookDir = path.join(work, "notebook");
    fs.mkdirSync(notebookDir);
    fs.copyFileSync(path.join(root, "notebooks", NOTEBOOK), path.join(notebookDir, NOTEBOOK));
    for (let dir = notebookDir; dir !== path.dirname(dir); dir = path.dirname(dir)) {
      assert.ok(!fs.existsSync(path.join(dir, "node_modules")), `${dir} has a node_modules folder; the notebook must load gplab from the global install`);
    }
    const jupyterEnv = cleanEnv({
      JUPYTER_PATH: path.join(jupyterPrefix, "share", "jupyter"),
      JUPYTER_DATA_DIR: path.join(work, "jupyter-data"),
      JUPYTER_RUNTIME_DIR: path.join(work, "jupyter-runtime"),
      JUPYTER_CONFIG_DIR: path.join(work, "jupyter-config"),
      JUPYTER_PLATFORM_DIRS: "1",
      PYTHONWARNINGS: "ignore",
    });
    const started = Date.now();
    check(
      spawnSync(python, ["-m", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=gplab", "--ExecutePreprocessor.timeout=120", "--output", "executed.ipynb", NOTEBOOK], {
        cwd: notebookDir,
        encoding: "utf8",
        env: jupyterEnv,
        timeout: 180_000,
      }),
      "jupyter nbconvert --execute",
    );
    console.log(`# nbconvert ${NOTEBOOK} with the global install: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const executed = JSON.parse(fs.readFileSync(path.join(notebookDir, "executed.ipynb"), "utf8"));
    const errors = executed.cells.flatMap((c: { outputs?: { output_type: string; ename?: string }[] }) => (c.outputs ?? []).filter((o) => o.output_type === "error"));
    assert.deepEqual(errors, [], "the notebook ran without errors");
    // Same seed, same numbers: the committed outputs (from a clone's run) are reproduced.
    const committed = JSON.parse(fs.readFileSync(path.join(root, "notebooks", NOTEBOOK), "utf8"));
    assert.deepEqual(textOutputs(executed), textOutputs(committed));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
