// TypeScript cells -> JavaScript, type-checked against the declarations of
// earlier cells. Built on tslab's converter (and its TypeScript fork, which
// lets a cell see the previous cells' declarations); we override its compiler
// options so that modules and types resolve from the notebook's directory and
// then from gplab's own install, with the "bundler" resolution that
// understands ESM-only packages' "exports".
import * as fs from "node:fs";
import * as path from "node:path";
import type * as tsfork from "@tslab/typescript-for-tslab";
import type { Converter, Diagnostic } from "tslab/dist/converter";
import { expandShorthandProperties } from "./expand-shorthand";
import { gplabRoot } from "./paths";
import { loadTypeScriptFork, TypeScript, typescriptForkPath } from "./typescript-fork";

/** Declarations every notebook starts with: the preloaded `gp` and `tf`, and the kernel's globals. */
const PRELUDE_DECLARATIONS = `import * as gp from "gplab";
import * as tf from "@tensorflow/tfjs-core";
declare function display(value: unknown, options?: { id?: string; metadata?: Record<string, unknown> }): { readonly id: string; update(value: unknown): Promise<void> };
declare function clearOutput(wait?: boolean): void;
declare function prompt(message?: string, defaultValue?: string): string | null;
`;

let forkWithOurOptions: { ts: TypeScript; setNotebookDir(dir: string): void } | undefined;

/** Set when a file or directory the compiler read has changed on disk. */
let filesChanged = false;

/**
 * tslab's converter can hold one pending compiler timer at a time, and throws
 * ("Unexpected pending rebuildTimer") when a file watcher schedules a second
 * one, e.g. when a package is reinstalled or a local module is edited while
 * the kernel runs. So our watchers only note that something changed, and the
 * compiler is rebuilt (keeping the cells' declarations) before the next use.
 */
function watchWithoutCallbacks(ts: TypeScript): void {
  const sys = ts.sys as tsfork.System;
  const watchFile = sys.watchFile?.bind(sys);
  const watchDirectory = sys.watchDirectory?.bind(sys);
  const noted = () => {
    filesChanged = true;
  };
  if (watchFile) sys.watchFile = (path, _callback, interval, options) => watchFile(path, noted, interval, options);
  if (watchDirectory) sys.watchDirectory = (path, _callback, recursive, options) => watchDirectory(path, noted, recursive, options);
}

/**
 * tslab's converter hard-codes its compiler options and reads them through
 * the fork's module object, whose properties are read-only getters; so we
 * swap the cached module for a copy whose createWatchCompilerHost merges ours.
 */
function installCompilerOptions(): { ts: TypeScript; setNotebookDir(dir: string): void } {
  if (forkWithOurOptions) return forkWithOurOptions;
  const ts = loadTypeScriptFork();
  let notebookDir = process.cwd();
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(ts)) {
    Object.defineProperty(copy, key, { enumerable: true, configurable: true, get: () => (ts as any)[key] });
  }
  const original = ts.createWatchCompilerHost as (...args: any[]) => unknown;
  Object.defineProperty(copy, "createWatchCompilerHost", {
    enumerable: true,
    value: (rootFiles: string[], options: tsfork.CompilerOptions, ...rest: unknown[]) =>
      original.call(ts, rootFiles, { ...options, ...ourCompilerOptions(ts, notebookDir) }, ...rest),
  });
  require.cache[typescriptForkPath]!.exports = copy;
  watchWithoutCallbacks(ts);
  forkWithOurOptions = { ts, setNotebookDir: (dir) => (notebookDir = dir) };
  return forkWithOurOptions;
}

/** node_modules directories Node would search from `dir`: dir/node_modules, then each parent's. */
function nodeModulesChain(dir: string): string[] {
  const chain: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (path.basename(current) !== "node_modules") chain.push(path.join(current, "node_modules"));
    if (path.dirname(current) === current) return chain;
  }
}

/**
 * Where the compiler looks for modules and types: the notebook's directory
 * (and its parents) first, then wherever Node finds gplab's own dependencies
 * (nested under gplab, or hoisted beside it in a project install), then the
 * @types/node that tslab brings along.
 */
export function compilerSearchPaths(notebookDir: string, root = gplabRoot): { typeRoots: string[]; modulePatterns: string[] } {
  const tslabTypes = path.join(path.dirname(require.resolve("tslab/package.json")), "node_modules", "@types");
  const dirs = [...new Set([...nodeModulesChain(notebookDir), ...nodeModulesChain(root)])].filter((dir) => fs.existsSync(dir));
  const typeRoots = [...dirs.map((dir) => path.join(dir, "@types")), tslabTypes].filter((dir) => fs.existsSync(dir));
  return { typeRoots, modulePatterns: dirs.map((dir) => path.join(dir, "*")) };
}

function ourCompilerOptions(ts: TypeScript, notebookDir: string): tsfork.CompilerOptions {
  const { typeRoots, modulePatterns } = compilerSearchPaths(notebookDir);
  return {
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    typeRoots,
    types: ["node"],
    baseUrl: "/",
    paths: { gplab: [gplabRoot], "*": modulePatterns },
  };
}

export interface CompiledCell {
  /** CommonJS code that reads and writes top-level names through `exports`. */
  javascript: string;
  /** The `exports` key holding the cell's last expression, if it ends in one. */
  lastExpressionKey?: string;
  hasTopLevelAwait: boolean;
  /** JavaScript for local .ts/.js files the cell imports (new or changed ones only), by absolute .js path. */
  localModules: Array<{ path: string; javascript: string }>;
  /** Makes this cell's declarations visible to later cells (call once it ran). */
  commit(): void;
}

export type CompileOutcome = { ok: true; cell: CompiledCell } | { ok: false; diagnostics: string[] };

export interface Completion {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
}

export class CellCompiler {
  private readonly ts: TypeScript;
  private converterInstance: Converter;
  private declarations = PRELUDE_DECLARATIONS;

  constructor(notebookDir: string) {
    const fork = installCompilerOptions();
    fork.setNotebookDir(notebookDir);
    this.ts = fork.ts;
    this.converterInstance = CellCompiler.createConverter();
  }

  private static createConverter(): Converter {
    // tslab's converter roots its virtual files at the current directory.
    const { createConverter } = require("tslab/dist/converter") as typeof import("tslab/dist/converter");
    return createConverter({});
  }

  /** The converter, rebuilt first if files it read have changed since. */
  private get converter(): Converter {
    if (filesChanged) {
      filesChanged = false;
      this.converterInstance.close();
      this.converterInstance = CellCompiler.createConverter();
    }
    return this.converterInstance;
  }

  compile(code: string): CompileOutcome {
    const converted = this.converter.convert(this.declarations, expandShorthandProperties(this.ts, code));
    if (converted.diagnostics.length > 0) {
      return { ok: false, diagnostics: converted.diagnostics.map(formatDiagnostic) };
    }
    const declarations = converted.declOutput ?? this.declarations;
    return {
      ok: true,
      cell: {
        javascript: converted.output ?? "",
        lastExpressionKey: converted.lastExpressionVar,
        hasTopLevelAwait: converted.hasToplevelAwait ?? false,
        localModules: (converted.sideOutputs ?? []).map((output) => ({ path: output.path, javascript: output.data })),
        commit: () => {
          this.declarations = declarations;
        },
      },
    };
  }

  complete(code: string, cursor: number): Completion {
    const info = this.converter.complete(this.declarations, code, cursor);
    return { matches: info.candidates, cursorStart: info.start, cursorEnd: info.end };
  }

  /** Type and documentation of the symbol at the cursor, as plain text. */
  inspect(code: string, cursor: number): string | null {
    // Quick info needs a position inside the identifier; Jupyter sends the cursor after it.
    for (const position of [cursor, cursor - 1]) {
      if (position < 0) continue;
      const info = this.converter.inspect(this.declarations, code, position);
      if (!info) continue;
      const signature = this.ts.displayPartsToString(info.displayParts);
      const docs = this.ts.displayPartsToString(info.documentation);
      const tags = (info.tags ?? []).map((tag) => `@${tag.name} ${this.ts.displayPartsToString(tag.text)}`);
      return [signature, docs, ...tags].filter((part) => part.length > 0).join("\n\n");
    }
    return null;
  }

  close(): void {
    this.converterInstance.close();
  }
}

function formatDiagnostic(diagnostic: Diagnostic): string {
  const where = `${diagnostic.fileName ? diagnostic.fileName + " " : ""}${diagnostic.start.line + 1}:${diagnostic.start.character + 1}`;
  return `${where} - ${diagnostic.messageText}`;
}
