#!/usr/bin/env node
// The `gplab` command. `bench` runs the benchmarks; everything else is in
// the compiled kernel/cli.ts.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const root = path.join(__dirname, "..");
const [command, ...rest] = process.argv.slice(2);

if (command === "bench") {
  const bench = path.join(root, "dist", "bench", "index.js");
  if (!fs.existsSync(bench)) {
    const clone = fs.existsSync(path.join(root, "bench"));
    console.error(
      clone
        ? `gplab bench: ${bench} does not exist (run npm run build in ${root})`
        : "gplab bench: the benchmarks are not in the published package; clone the repository and run `npm run bench` there",
    );
    process.exit(1);
  }
  const result = spawnSync(process.execPath, [bench, ...rest], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}

const cli = path.join(root, "dist", "kernel", "cli.js");
if (!fs.existsSync(cli)) {
  console.error(`gplab: ${cli} does not exist (run npm run build in ${root})`);
  process.exit(1);
}
require(cli)
  .main(process.argv.slice(2))
  .then((code) => {
    // `kernel` returns once shut down; the others are done too.
    if (command !== "kernel") process.exitCode = code;
    else process.exit(code);
  })
  .catch((error) => {
    console.error(error && error.stack ? error.stack : error);
    process.exit(1);
  });
