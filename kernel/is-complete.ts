// is_complete_request: is a cell ready to run, waiting for more lines, or
// broken beyond what more lines could fix? Decided by TypeScript's parser.
import { loadTypeScriptFork, TypeScript } from "./typescript-fork";

let typescript: TypeScript | undefined;

/** Loaded on first use: the protocol process needs it only for is_complete. */
function ts(): TypeScript {
  typescript ??= loadTypeScriptFork();
  return typescript;
}

export type CompletenessStatus = "complete" | "incomplete" | "invalid";

interface ParseDiagnostic {
  start: number;
  length: number;
  messageText: string | { messageText: string };
}

function indentAfter(code: string): string {
  const lastLine = code.slice(code.lastIndexOf("\n") + 1);
  const current = /^\s*/.exec(lastLine)![0];
  return /[{([]\s*$/.test(lastLine) ? current + "  " : current;
}

export function checkCompleteness(code: string): { status: CompletenessStatus; indent?: string } {
  const source = ts().createSourceFile("cell.ts", code, ts().ScriptTarget.Latest, true, ts().ScriptKind.TS);
  const diagnostics = ((source as unknown as { parseDiagnostics?: ParseDiagnostic[] }).parseDiagnostics ?? []);
  if (diagnostics.length === 0) return { status: "complete" };
  const end = code.trimEnd().length;
  // Errors reported at the very end of the text ("'}' expected.", an
  // unterminated string or comment) are what more input could fix.
  const onlyAtEnd = diagnostics.every((diagnostic) => diagnostic.start >= end);
  if (onlyAtEnd) return { status: "incomplete", indent: indentAfter(code) };
  return { status: "invalid" };
}
