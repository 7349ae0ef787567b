// `gplab install`: writes the Jupyter kernelspec (kernel.json and logos)
// straight into a kernels directory; no Python or IPython needed.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { cliScript } from "./paths";
import { logoPng } from "./logo";

export const KERNEL_NAME = "gplab";

export interface InstallOptions {
  user?: boolean;
  sysPrefix?: boolean;
  prefix?: string;
  /** Write exactly here (the kernels/ directory's parent is not implied). */
  kernelsDir?: string;
  name?: string;
}

function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === "darwin") return path.join(os.homedir(), "Library", "Jupyter");
  if (process.platform === "win32") return path.join(process.env.APPDATA ?? os.homedir(), "jupyter");
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), ".local", "share"), "jupyter");
}

function pythonSysPrefix(): string {
  for (const python of ["python3", "python"]) {
    try {
      return execFileSync(python, ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" }).trim();
    } catch {
      // try the next one
    }
  }
  throw new Error("--sys-prefix needs python3 (or python) on PATH to find sys.prefix");
}

/** Jupyter's default: the user's directory unless running as root (then the system one). */
export function kernelsDirectory(options: InstallOptions): string {
  if (options.kernelsDir) return options.kernelsDir;
  if (options.prefix) return path.join(options.prefix, "share", "jupyter", "kernels");
  if (options.sysPrefix) return path.join(pythonSysPrefix(), "share", "jupyter", "kernels");
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (options.user || !isRoot) return path.join(userDataDir(), "kernels");
  return path.join("/usr", "local", "share", "jupyter", "kernels");
}

export function kernelJson(): Record<string, unknown> {
  return {
    argv: [process.execPath, cliScript, "kernel", "--connection-file", "{connection_file}"],
    display_name: "TypeScript (gplab)",
    language: "typescript",
    interrupt_mode: "message",
    env: {},
    metadata: { debugger: false },
  };
}

/** Writes the kernelspec; returns its directory. */
export function installKernelspec(options: InstallOptions = {}): string {
  const dir = path.join(kernelsDirectory(options), options.name ?? KERNEL_NAME);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "kernel.json"), JSON.stringify(kernelJson(), null, 2) + "\n");
  fs.writeFileSync(path.join(dir, "logo-32x32.png"), logoPng(32));
  fs.writeFileSync(path.join(dir, "logo-64x64.png"), logoPng(64));
  return dir;
}
