// Thrown values -> the error content Jupyter expects (ename, evalue, traceback).
import type { ErrorContent } from "./executor-messages";

export function interruptedError(): Error {
  const error = new Error("execution interrupted");
  error.name = "InterruptedError";
  return error;
}

/** Stack frames from the kernel's own machinery say nothing about the user's code. */
function isKernelFrame(line: string): boolean {
  return /\bnode:(vm|internal)|[\\/]dist[\\/]kernel[\\/]|\[as runInThisContext\]/.test(line);
}

export function describeError(thrown: unknown): ErrorContent {
  if (!(thrown instanceof Error) && !(thrown && typeof thrown === "object" && "message" in thrown)) {
    const text = typeof thrown === "string" ? thrown : JSON.stringify(thrown) ?? String(thrown);
    return { ename: "Uncaught", evalue: text, traceback: [`Uncaught ${text}`] };
  }
  const error = thrown as Error & { code?: string };
  if (error.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED") return describeError(interruptedError());
  const ename = error.name || "Error";
  const evalue = String(error.message ?? "");
  const frames = (error.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line) && !isKernelFrame(line));
  return { ename, evalue, traceback: [`${ename}: ${evalue}`, ...frames] };
}
