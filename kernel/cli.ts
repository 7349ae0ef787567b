// The `gplab` command: install | kernel | run (bench lives in bin/gplab.js).
import * as path from "node:path";
import { installKernelspec } from "./kernelspec";
import { runKernel } from "./kernel-main";
import { runNotebook } from "./run-notebook";

const USAGE = `usage:
  gplab install [--user | --sys-prefix | --prefix P] [--name NAME]
  gplab kernel --connection-file FILE
  gplab run NOTEBOOK.ipynb [--out OUT.ipynb] [--timeout SECONDS] [-p name=value ...]
  gplab bench [args...]`;

class UsageError extends Error {}

/** Splits argv into flags with values, boolean flags, repeated -p pairs and positionals. */
function parseArgs(argv: string[], valued: string[], booleans: string[]) {
  const values: Record<string, string> = {};
  const flags = new Set<string>();
  const parameters: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inlineValue] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (name === "-p" || name === "--parameter") {
      const pair = inlineValue ?? argv[++i];
      const eq = pair?.indexOf("=") ?? -1;
      if (!pair || eq <= 0) throw new UsageError(`-p expects name=value, got ${pair}`);
      parameters[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else if (valued.includes(name)) {
      const value = inlineValue ?? argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      values[name] = value;
    } else if (booleans.includes(name)) {
      flags.add(name);
    } else if (arg.startsWith("-")) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  return { values, flags, parameters, positional };
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "install": {
        const args = parseArgs(rest, ["--prefix", "--name"], ["--user", "--sys-prefix"]);
        const dir = installKernelspec({
          user: args.flags.has("--user"),
          sysPrefix: args.flags.has("--sys-prefix"),
          prefix: args.values["--prefix"],
          name: args.values["--name"],
        });
        console.log(`Installed the gplab kernelspec in ${dir}`);
        return 0;
      }
      case "kernel": {
        const args = parseArgs(rest, ["--connection-file", "-f"], []);
        const file = args.values["--connection-file"] ?? args.values["-f"] ?? args.positional[0];
        if (!file) throw new UsageError("gplab kernel needs --connection-file FILE");
        await runKernel(file);
        return 0;
      }
      case "run": {
        const args = parseArgs(rest, ["--out", "-o", "--timeout"], []);
        const [input] = args.positional;
        if (!input || args.positional.length > 1) throw new UsageError("gplab run needs exactly one notebook");
        const timeout = args.values["--timeout"] === undefined ? undefined : Number(args.values["--timeout"]);
        if (timeout !== undefined && !(timeout > 0)) throw new UsageError("--timeout expects a positive number of seconds");
        const result = await runNotebook(input, { out: args.values["--out"] ?? args.values["-o"], timeoutSeconds: timeout, parameters: args.parameters });
        if (result.failure) {
          const { cellIndex, ename, evalue } = result.failure;
          console.error(`${path.basename(input)}: cell ${cellIndex + 1} failed: ${ename}: ${evalue}`);
          console.error(`The notebook as executed so far is in ${result.outPath}`);
          return 1;
        }
        console.log(`Executed ${result.executedCells} cells; wrote ${result.outPath}`);
        return 0;
      }
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`gplab: ${error.message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}
