// `npm run bench -- <name> [args]` / `npx gplab bench <name> [args]`: runs one
// benchmark (each prints JSON lines); with no name, lists them.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const available = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith(".js") && !["index.js", "demo.js"].includes(f))
  .map((f) => f.replace(/\.js$/, ""));

const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> [args]\nbenchmarks: ${available.join(", ")}`);
  process.exit(name ? 2 : 0);
}
const r = spawnSync(process.execPath, [path.join(__dirname, `${name}.js`), ...rest], { stdio: "inherit" });
process.exit(r.status ?? 1);
