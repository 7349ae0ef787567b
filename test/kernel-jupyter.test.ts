// Jupyter's own tooling against the gplab kernel: jupyter_kernel_test's
// conformance suite, nbclient executing a notebook, and a jupyter_client
// restart. Python-side scripts live in test/kernel/.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { installKernelspec } from "../kernel/kernelspec";
import { tempDir } from "./kernel/harness";

const scripts = path.join(__dirname, "..", "..", "test", "kernel");
const python = process.env.PYTHON ?? (fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

function missingPythonModules(): string | null {
  const probe = spawnSync(python, ["-c", "import jupyter_kernel_test, nbclient, nbformat, jupyter_client"], { encoding: "utf8" });
  if (probe.error) return `${python} is not available (${probe.error.message})`;
  if (probe.status !== 0) return `${python} lacks jupyter_kernel_test/nbclient: ${probe.stderr.trim().split("\n").pop()}`;
  return null;
}

function runPython(script: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [path.join(scripts, script)], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const missing = missingPythonModules();
if (missing) {
  // Visible in the test report; CI installs python3-jupyter-kernel-test and python3-nbclient.
  console.log(`# SKIPPING the Jupyter tooling tests: ${missing}`);
}

describe("Jupyter tooling against the gplab kernel", { skip: missing ?? false }, () => {
  let jupyterDir: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    jupyterDir = tempDir("jupyter");
    installKernelspec({ kernelsDir: path.join(jupyterDir, "share", "jupyter", "kernels") });
    env = {
      ...process.env,
      JUPYTER_PATH: path.join(jupyterDir, "share", "jupyter"),
      JUPYTER_RUNTIME_DIR: path.join(jupyterDir, "runtime"),
      JUPYTER_CONFIG_DIR: path.join(jupyterDir, "config"),
      JUPYTER_PLATFORM_DIRS: "1",
      PYTHONWARNINGS: "ignore",
    };
  });
  after(() => {
    fs.rmSync(jupyterDir, { recursive: true, force: true });
  });

  test("jupyter_kernel_test: every test that applies to TypeScript passes", async () => {
    const { status, stdout, stderr } = await runPython("jupyter_kernel_tests.py", env, 120_000);
    assert.equal(status, 0, `jupyter_kernel_test failed:\n${stderr}\n${stdout}`);
    const summary = /ran=(\d+) failures=(\d+) errors=(\d+) skipped=(\d+)/.exec(stdout);
    assert.ok(summary, stdout);
    assert.equal(Number(summary[1]), 12);
    // Only test_pager is skipped: TypeScript has no pager payloads.
    assert.equal(Number(summary[4]), 1, stderr);
    for (const name of ["kernel_info", "execute_stdout", "execute_stderr", "completion", "is_complete", "error", "execute_result", "display_data", "history", "inspect", "clear_output"]) {
      assert.match(stderr, new RegExp(`test_${name} \\S+ \\.\\.\\. ok`), `test_${name} ran and passed`);
    }
  });

  test("nbclient executes a notebook; vega-lite arrives as a JSON object; jupyter_client restarts the kernel", async () => {
    const { status, stdout, stderr } = await runPython("nbclient_check.py", env, 150_000);
    assert.equal(status, 0, `nbclient_check.py failed:\n${stderr}`);
    const summary = JSON.parse(stdout);
    assert.deepEqual(summary.notebook.execution_counts, [1, 2, 3]);
    assert.equal(summary.notebook.first_output, "hello\n");
    assert.deepEqual(summary.notebook.chart_output_types, ["display_data", "execute_result"]);
    assert.deepEqual(summary.notebook.vegalite_types, ["object", "object"]);
    assert.equal(summary.notebook.vegalite_mark, "line");
    assert.equal(summary.notebook.last_result, "'string'");
    assert.deepEqual(summary.restart, { restarted: true, status_after_restart: "ok", old_variable_status: "error" });
  });
});
