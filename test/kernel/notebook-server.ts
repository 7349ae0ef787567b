// Starts Debian's Jupyter Notebook server (6.4) on a free local port, with
// every Jupyter directory inside `root` and the gplab kernelspec installed
// there by `gplab install --prefix`, as a user would.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";

const ROOT = path.resolve(__dirname, "../../..");
export const JUPYTER_NOTEBOOK = process.env.JUPYTER_NOTEBOOK ?? "/usr/bin/jupyter-notebook";

export interface NotebookServer {
  /** http://127.0.0.1:PORT */
  url: string;
  token: string;
  /** Where notebooks are served from. */
  notebookDir: string;
  /** The server's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForServer(url: string, token: string, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`jupyter notebook exited (code ${child.exitCode}):\n${log()}`);
    try {
      const response = await fetch(`${url}/api/kernelspecs`, { headers: { Authorization: `token ${token}` } });
      if (response.ok) {
        const specs = (await response.json()) as { kernelspecs: Record<string, unknown> };
        if (!specs.kernelspecs.gplab) throw new Error(`the server does not list the gplab kernelspec: ${JSON.stringify(Object.keys(specs.kernelspecs))}`);
        return;
      }
    } catch (error) {
      if ((error as Error).message.includes("kernelspec")) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`jupyter notebook did not answer within ${timeoutMs} ms:\n${log()}`);
}

export async function startNotebookServer(root: string): Promise<NotebookServer> {
  const prefix = path.join(root, "prefix");
  const notebookDir = path.join(root, "notebooks");
  fs.mkdirSync(notebookDir, { recursive: true });
  const install = spawnSync(process.execPath, [path.join(ROOT, "bin", "gplab.js"), "install", "--prefix", prefix], { encoding: "utf8" });
  if (install.status !== 0) throw new Error(`gplab install --prefix failed: ${install.stderr}`);
  const port = await freePort();
  const token = randomBytes(16).toString("hex");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: path.join(prefix, "share", "jupyter"),
    JUPYTER_CONFIG_DIR: path.join(root, "config"),
    JUPYTER_DATA_DIR: path.join(root, "data"),
    JUPYTER_RUNTIME_DIR: path.join(root, "runtime"),
    JUPYTER_PLATFORM_DIRS: "1",
    HOME: root,
    PYTHONWARNINGS: "ignore",
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
  };
  const args = [
    "--no-browser", `--port=${port}`, "--port-retries=0", "--ip=127.0.0.1",
    `--NotebookApp.token=${token}`, `--notebook-dir=${notebookDir}`,
    // Notebook refuses to run as root (CI containers) without this.
    ...(process.getuid?.() === 0 ? ["--allow-root"] : []),
  ];
  const child = spawn(JUPYTER_NOTEBOOK, args, { env, cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-20_000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForServer(url, token, child, () => log, 30_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    url,
    token,
    notebookDir,
    log: () => log,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      // SIGTERM: the server shuts its kernels down and exits.
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
