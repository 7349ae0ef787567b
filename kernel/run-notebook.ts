// `gplab run NOTEBOOK.ipynb`: executes a notebook through a real kernel
// process over ZeroMQ and writes the executed notebook (outputs, execution
// counts), injecting parameters after the cell tagged "parameters"
// (papermill's convention).
import * as fs from "node:fs";
import * as path from "node:path";
import { launchKernel } from "./kernel-launcher";
import { Cell, Notebook, OutputCollector, Output, sourceText, toSourceLines } from "./notebook-format";
import { TimeoutError } from "./kernel-client";
import { gplabVersion } from "./paths";

export interface RunOptions {
  out?: string;
  /** Per-cell timeout in seconds. */
  timeoutSeconds?: number;
  parameters?: Record<string, string>;
  log?: (line: string) => void;
}

export interface RunResult {
  outPath: string;
  executedCells: number;
  failure?: { cellIndex: number; ename: string; evalue: string };
}

/** `-p n=100` -> `const n = 100;`; values that are not JSON become strings. */
export function parameterDeclarations(parameters: Record<string, string>): string {
  return Object.entries(parameters)
    .map(([name, raw]) => {
      if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new Error(`parameter name ${JSON.stringify(name)} is not an identifier`);
      let literal: string;
      try {
        literal = JSON.stringify(JSON.parse(raw));
      } catch {
        literal = JSON.stringify(raw);
      }
      return `const ${name} = ${literal};\n`;
    })
    .join("");
}

function injectParameters(notebook: Notebook, parameters: Record<string, string>, log: (line: string) => void): void {
  notebook.cells = notebook.cells.filter((cell) => !cell.metadata?.tags?.includes("injected-parameters"));
  if (Object.keys(parameters).length === 0) return;
  const injected: Cell = {
    cell_type: "code",
    metadata: { tags: ["injected-parameters"] },
    source: toSourceLines(`// Parameters injected by gplab run\n${parameterDeclarations(parameters)}`),
    outputs: [],
    execution_count: null,
  };
  const tagged = notebook.cells.findIndex((cell) => cell.metadata?.tags?.includes("parameters"));
  if (tagged < 0) log("no cell is tagged \"parameters\"; injecting the parameters at the top");
  notebook.cells.splice(tagged + 1, 0, injected);
  if (notebook.nbformat_minor >= 5) injected.id = `injected-parameters-${Date.now().toString(36)}`;
}

function defaultOutPath(input: string): string {
  return input.replace(/\.ipynb$/, "") + ".executed.ipynb";
}

export async function runNotebook(input: string, options: RunOptions = {}): Promise<RunResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const notebook = JSON.parse(fs.readFileSync(input, "utf8")) as Notebook;
  injectParameters(notebook, options.parameters ?? {}, log);
  const outPath = options.out ?? defaultOutPath(input);
  // Fail (or create the folder) before running every cell, not after.
  fs.mkdirSync(path.dirname(path.resolve(outPath)), { recursive: true });
  const timeoutMs = (options.timeoutSeconds ?? 600) * 1000;

  const kernel = await launchKernel({ cwd: path.dirname(path.resolve(input)), stderr: "pipe" });
  // The kernel's own log (backend line, warnings) is not notebook output.
  kernel.process.stderr?.resume();
  const displays = new Map<string, Output[]>();
  let executedCells = 0;
  let failure: RunResult["failure"];
  try {
    const info = await kernel.client.request("shell", "kernel_info_request", {});
    notebook.metadata.kernelspec = { name: "gplab", display_name: "TypeScript (gplab)", language: "typescript" };
    notebook.metadata.language_info = info.reply.content.language_info;

    for (const [index, cell] of notebook.cells.entries()) {
      if (cell.cell_type !== "code") continue;
      const code = sourceText(cell.source);
      const collector = new OutputCollector(displays);
      cell.outputs = collector.outputs;
      cell.execution_count = null;
      if (code.trim() === "") continue;
      let outcome;
      try {
        outcome = await kernel.client.execute(code, { timeoutMs });
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
        await kernel.client.request("control", "interrupt_request", {}, 5_000).catch(() => undefined);
        failure = { cellIndex: index, ename: "TimeoutError", evalue: `the cell ran longer than ${timeoutMs / 1000} s` };
        break;
      }
      for (const message of outcome.iopub) collector.add(message);
      executedCells += 1;
      cell.execution_count = outcome.reply.content.execution_count ?? null;
      const expectsError = cell.metadata?.tags?.includes("raises-exception");
      if (outcome.reply.content.status === "error" && !expectsError) {
        failure = { cellIndex: index, ename: String(outcome.reply.content.ename), evalue: String(outcome.reply.content.evalue) };
        break;
      }
    }
  } finally {
    await kernel.shutdown();
    // No timestamps: the same notebook, seed and parameters give the same file.
    notebook.metadata.gplab = { version: gplabVersion };
    fs.writeFileSync(outPath, JSON.stringify(notebook, null, 1) + "\n");
  }
  return { outPath, executedCells, failure };
}
