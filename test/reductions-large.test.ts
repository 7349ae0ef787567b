// A lazy RBF operator with N = 50,000 points (d = 3): a dense float64 copy
// would need 20 GB (10 GB in float32). K @ v and diag(K) run on both
// executors in a child process whose peak RSS (getrusage high-water mark,
// via process.resourceUsage().maxRSS) must stay under 1 GB, and sampled rows
// agree with an f64 loop.

import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";

const N = 50_000;
const fixture = path.join(__dirname, "fixtures", "largeKernelProducts.js");

function run(executor: string, backend?: string) {
  const out = execFileSync(process.execPath, [fixture, executor, String(N), ...(backend ? [backend] : [])], { encoding: "utf8", timeout: 240_000 });
  return JSON.parse(out.trim().split("\n").pop() as string);
}

describe(`lazy RBF operator, N = ${N.toLocaleString("en-US")}, d = 3`, () => {
  it("fused executor: K @ v and diagonal in under 1 GB, f64-accurate", () => {
    const r = run("fused");
    assert.equal(r.executor, "fused");
    assert.ok(r.sampledRowsMaxRelError < 1e-12, `sampled rows: ${r.sampledRowsMaxRelError}`);
    assert.equal(r.diagonalLength, N);
    assert.ok(r.diagonalMaxAbsError < 1e-15);
    assert.ok(r.maxRssBytes < 2 ** 30, `peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
    console.log(`# fused: ${r.matmulSeconds.toFixed(1)} s, peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
  });
  it("tfjs tiled executor (wasm backend): K @ v and diagonal in under 1 GB, float32-accurate", () => {
    const r = run("tfjs", "wasm");
    assert.equal(r.executor, "tfjs");
    assert.equal(r.backend, "wasm");
    assert.ok(r.sampledRowsMaxRelError < 1e-4, `sampled rows: ${r.sampledRowsMaxRelError}`);
    assert.equal(r.diagonalLength, N);
    assert.ok(r.diagonalMaxAbsError < 1e-6);
    assert.ok(r.maxRssBytes < 2 ** 30, `peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
    console.log(`# tfjs/wasm: ${r.matmulSeconds.toFixed(1)} s, peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
  });
});
