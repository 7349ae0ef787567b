// Shared by the kernel tests: start a kernel process, run cells, read outputs.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { launchKernel, LaunchedKernel, LaunchOptions } from "../../kernel/kernel-launcher";
import type { ExecuteOptions, ExecuteOutcome } from "../../kernel/kernel-client";
import type { JupyterMessage } from "../../kernel/wire";

export { LaunchedKernel };

export function startKernel(options: LaunchOptions = {}): Promise<LaunchedKernel> {
  return launchKernel({ stderr: "pipe", ...options }).then((kernel) => {
    kernel.process.stderr?.resume();
    return kernel;
  });
}

export function run(kernel: LaunchedKernel, code: string, options: ExecuteOptions = {}): Promise<ExecuteOutcome> {
  return kernel.client.execute(code, options);
}

/** The text/plain of a cell's execute_result, or undefined. */
export function resultText(outcome: ExecuteOutcome): string | undefined {
  const result = outcome.outputs.find((message) => message.header.msg_type === "execute_result");
  return result ? String(result.content.data["text/plain"]) : undefined;
}

export function streamText(outcome: ExecuteOutcome, name = "stdout"): string {
  return outcome.outputs
    .filter((message) => message.header.msg_type === "stream" && message.content.name === name)
    .map((message) => String(message.content.text))
    .join("");
}

export function types(messages: JupyterMessage[]): string[] {
  return messages.map((message) => message.header.msg_type);
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gplab-${prefix}-`));
}
