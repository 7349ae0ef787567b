// The TypeScript compiler that tslab's converter is built on (its fork of
// TypeScript 5.0, which lets a cell see earlier cells' declarations). Every
// part of the kernel that parses TypeScript uses this same copy.
import * as fs from "node:fs";
import * as path from "node:path";
import type * as tsfork from "@tslab/typescript-for-tslab";

export type TypeScript = typeof tsfork;

const tslabDir = path.dirname(require.resolve("tslab/package.json"));

/** Where the fork's module lives (its require.cache key). */
export const typescriptForkPath: string = require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] });

export function loadTypeScriptFork(): TypeScript {
  return require(typescriptForkPath) as TypeScript;
}

/** The fork's TypeScript version, read from its package.json (cheaper than loading the compiler). */
export function typescriptVersion(): string {
  const manifest = path.join(path.dirname(typescriptForkPath), "..", "package.json");
  try {
    return (JSON.parse(fs.readFileSync(manifest, "utf8")) as { version: string }).version;
  } catch {
    return "5.0";
  }
}
