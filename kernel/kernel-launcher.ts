// Starts a gplab kernel process with a fresh connection file and connects a
// client to it, as Jupyter's KernelManager would.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ChildProcess, spawn } from "node:child_process";
import { ConnectionInfo, newConnectionInfo } from "./connection";
import { KernelClient } from "./kernel-client";
import { cliScript } from "./paths";

export interface LaunchOptions {
  /** The notebook's directory (the kernel's working directory). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** Where the kernel's own log (stderr) goes; default: inherited. */
  stderr?: "inherit" | "pipe" | "ignore";
  /** Another kernel's command line, "{connection_file}" standing for the file (benchmarks compare with tslab). */
  argv?: string[];
}

export class LaunchedKernel {
  private exited: Promise<number | null>;

  constructor(
    readonly process: ChildProcess,
    readonly client: KernelClient,
    readonly connection: ConnectionInfo,
    readonly connectionFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      if (process.exitCode !== null) resolve(process.exitCode);
      else process.once("exit", (code) => resolve(code));
    });
  }

  /** Resolves with the exit code once the kernel process has exited. */
  waitForExit(): Promise<number | null> {
    return this.exited;
  }

  /** Asks for a clean shutdown; kills the process if it does not leave within a few seconds. */
  async shutdown(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      await this.client.request("control", "shutdown_request", { restart: false }, 5_000).catch(() => undefined);
      const timer = setTimeout(() => this.process.kill("SIGKILL"), 5_000);
      await this.exited;
      clearTimeout(timer);
    }
    this.client.close();
    fs.rmSync(this.connectionFile, { force: true });
  }
}

export async function launchKernel(options: LaunchOptions = {}): Promise<LaunchedKernel> {
  const connection = await newConnectionInfo();
  const connectionFile = path.join(os.tmpdir(), `gplab-kernel-${process.pid}-${connection.shell_port}.json`);
  fs.writeFileSync(connectionFile, JSON.stringify(connection), { mode: 0o600 });
  const [command, ...args] = (options.argv ?? [process.execPath, cliScript, "kernel", "--connection-file", "{connection_file}"])
    .map((arg) => arg.replace("{connection_file}", connectionFile));
  const child = spawn(command, args, {
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? process.env,
    stdio: ["ignore", "inherit", options.stderr ?? "inherit"],
  });
  // Keep the end of the kernel's log to explain a failed start.
  let logTail = "";
  child.stderr?.on("data", (chunk) => (logTail = (logTail + String(chunk)).slice(-4000)));
  const client = new KernelClient(connection);
  const kernel = new LaunchedKernel(child, client, connection, connectionFile);
  const died = kernel.waitForExit().then((code) => {
    throw new Error(`the kernel exited during startup (code ${code})${logTail ? `:\n${logTail}` : ""}`);
  });
  try {
    await Promise.race([client.waitForReady(options.readyTimeoutMs ?? 60_000), died]);
  } catch (error) {
    child.kill("SIGKILL");
    client.close();
    fs.rmSync(connectionFile, { force: true });
    throw error;
  }
  died.catch(() => undefined);
  return kernel;
}
