// `gplab run`: executes a notebook through a real kernel process and writes
// the executed notebook; parameters go in after the "parameters" cell.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { tempDir } from "./kernel/harness";
import type { Cell, Notebook } from "../kernel/notebook-format";

const gplabBin = path.join(__dirname, "..", "..", "bin", "gplab.js");

function code(source: string, tags?: string[]): Cell {
  return { cell_type: "code", source: source.split(/(?<=\n)/), metadata: tags ? { tags } : {}, outputs: [], execution_count: null };
}

function writeNotebook(file: string, cells: Cell[]): void {
  const notebook: Notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: cells.map((cell, i) => ({ ...cell, id: `cell-${i}` })) };
  fs.writeFileSync(file, JSON.stringify(notebook));
}

function gplab(args: string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [gplabBin, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("gplab run", () => {
  let dir: string;
  before(() => {
    dir = tempDir("run");
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("executes every cell, injects -p parameters after the parameters cell, writes outputs and counts", async () => {
    const input = path.join(dir, "analysis.ipynb");
    writeNotebook(input, [
      { cell_type: "markdown", source: ["# A parameterised run"], metadata: {} },
      code('const n = 3;\nconst label = "default";', ["parameters"]),
      code("console.log(label);\nn * 2"),
      code('display({ [Symbol.for("Jupyter.display")]: () => ({ "text/plain": "chart", "application/vnd.vegalite.v5+json": { mark: "bar" } }) });'),
      code("const handle = display(1, { id: \"progress\" });\nfor (let i = 2; i <= 3; i++) await handle.update(i);"),
      code('throw new Error("expected by the author")', ["raises-exception"]),
    ]);
    const out = path.join(dir, "analysis.out.ipynb");
    const { status, stdout, stderr } = await gplab(["run", input, "--out", out, "-p", "n=5", "-p", "label=custom"], dir);
    assert.equal(status, 0, stderr);
    assert.match(stdout, /Executed 6 cells/);
    const executed = JSON.parse(fs.readFileSync(out, "utf8")) as Notebook;
    assert.equal((executed.metadata.kernelspec as { name: string }).name, "gplab");
    const codeCells = executed.cells.filter((cell) => cell.cell_type === "code");
    assert.deepEqual(codeCells.map((cell) => cell.execution_count), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(executed.cells[2].metadata.tags, ["injected-parameters"]);
    assert.match([executed.cells[2].source].flat().join(""), /const n = 5;\nconst label = "custom";/);
    const [stream, result] = executed.cells[3].outputs!;
    assert.deepEqual(stream, { output_type: "stream", name: "stdout", text: "custom\n" });
    assert.equal(result.output_type, "execute_result");
    assert.deepEqual(result.data, { "text/plain": "10" });
    const chart = executed.cells[4].outputs![0];
    assert.deepEqual((chart.data as Record<string, unknown>)["application/vnd.vegalite.v5+json"], { mark: "bar" });
    // The live display ends showing its last update.
    assert.deepEqual(executed.cells[5].outputs!.map((o) => (o.data as Record<string, unknown>)["text/plain"]), ["3"]);
    // A cell tagged raises-exception may fail without stopping the run.
    assert.equal(executed.cells[6].outputs![0].output_type, "error");
    // The input notebook is untouched.
    assert.equal(JSON.parse(fs.readFileSync(input, "utf8")).cells.length, 6);
  });

  test("a failing cell stops the run with a non-zero exit naming the cell; the partial notebook is written", async () => {
    const input = path.join(dir, "broken.ipynb");
    writeNotebook(input, [code("const ok = 1;\nok"), code('throw new Error("bad data")'), code("ok + 1")]);
    const { status, stderr } = await gplab(["run", input], dir);
    assert.equal(status, 1);
    assert.match(stderr, /broken\.ipynb: cell 2 failed: Error: bad data/);
    const executed = JSON.parse(fs.readFileSync(path.join(dir, "broken.executed.ipynb"), "utf8")) as Notebook;
    assert.equal(executed.cells[0].execution_count, 1);
    assert.equal(executed.cells[1].outputs![0].output_type, "error");
    assert.equal(executed.cells[2].execution_count, null);
  });

  test("--timeout stops a cell that runs too long", async () => {
    const input = path.join(dir, "slow.ipynb");
    writeNotebook(input, [code("while (true) {}")]);
    const started = Date.now();
    const { status, stderr } = await gplab(["run", input, "--timeout", "1"], dir);
    assert.equal(status, 1);
    assert.match(stderr, /cell 1 failed: TimeoutError/);
    assert.ok(Date.now() - started < 20_000);
  });
});
