// `npm run bench` / `npx gplab bench`: with no name, runs the performance
// suite (every case of the performance goals: K @ v, exact GP training
// iterations, predictions, SVGP steps), each benchmark in turn, printing one
// JSON line per measurement. `npm run bench -- <name> [args]` runs one;
// `npm run bench -- --list` lists them.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const available = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith(".js") && !["index.js", "demo.js"].includes(f))
  .map((f) => f.replace(/\.js$/, ""));

/** The performance suite, in order; the others (display, kernel-*) are run by name. */
const SUITE = ["matvec", "exact-gp", "predict", "svgp-step"];

function run(name: string, args: string[]): number {
  const r = spawnSync(process.execPath, [path.join(__dirname, `${name}.js`), ...args], { stdio: "inherit" });
  return r.status ?? 1;
}

const [name, ...rest] = process.argv.slice(2);
if (name === "--list" || name === "--help" || (name && !available.includes(name))) {
  console.error(`usage: npm run bench [-- <name> [args]]\n  no name: the suite ${SUITE.join(", ")}\nbenchmarks: ${available.join(", ")}`);
  process.exit(name === "--list" || name === "--help" ? 0 : 2);
}
if (name) process.exit(run(name, rest));
let failed = 0;
for (const b of SUITE.filter((s) => available.includes(s))) {
  console.error(`# bench ${b}`);
  if (run(b, []) !== 0) failed++;
}
process.exit(failed ? 1 : 0);
