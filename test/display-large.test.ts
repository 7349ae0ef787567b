// Displaying a lazy RBF operator with N = 1,000,000 (d = 2): the dense path
// is never called, no reduction touches more than O(N) pairs, peak memory
// stays under 1 GB, and the Vega-Lite data has the diagonal envelope and a
// 64 x 64 grid. Runs in its own process (node --test), so the process's peak
// RSS (getrusage ru_maxrss, via process.resourceUsage().maxRSS) is this
// test's peak.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";
import { LinearOperator } from "../lib/operators/LinearOperator";
import { points, rbfEntry, rbfOperator, relErr, type RbfCase } from "./helpers/displayFixtures";

const VL = "application/vnd.vegalite.v5+json";
type Cell = Record<string, number>;
type Spec = { datasets: { diagonal: Cell[]; blocks: Cell[] }; usermeta: { gplab: { heatmap: { mode: string } } } };

/** Replaces obj[name] with a wrapper that records each call (with the receiver's shape). */
function spyOn(obj: object, name: string, calls: string[]): () => void {
  const target = obj as Record<string, unknown>;
  const original = target[name] as (...args: unknown[]) => unknown;
  target[name] = function (this: LinearOperator, ...args: unknown[]) {
    calls.push(`${name} on ${this.constructor.name} ${this.shape?.join(" x ")} (${(args[0] as { length?: number })?.length ?? ""} rows)`);
    return original.apply(this, args);
  };
  return () => {
    target[name] = original;
  };
}

test("N = 1,000,000: display never materialises N x N, stays under 1 GB and summarises the whole matrix", async () => {
  const n = 1_000_000;
  const c: RbfCase = { n, d: 2, x: points(n, 2, 21, 100), lengthscale: 3, outputscale: 2 };
  // A varying noise diagonal with one spike, so the envelope has something to show.
  const noise = new Float64Array(n).map((_, i) => 0.1 + 0.05 * Math.sin(i / 50_000));
  noise[777_777] = 10;
  const K = rbfOperator(c).add(new gp.operators.DiagLinearOperator(noise));

  // The dense paths: toDense / materialise / whole rows, on the base class and
  // on every operator class that overrides them.
  const calls: string[] = [];
  const restore: (() => void)[] = [];
  const classes = [LinearOperator, ...Object.values(gp.operators).filter((v) => typeof v === "function" && v.prototype instanceof LinearOperator)];
  for (const cls of classes) {
    for (const name of ["toDenseF64", "materialise", "rowsF64"]) {
      if (Object.prototype.hasOwnProperty.call(cls.prototype, name)) restore.push(spyOn(cls.prototype, name, calls));
    }
  }
  // Control: the spies see a (one-row) dense-path call through this composition.
  K.rowsF64(Int32Array.of(0));
  assert.ok(calls.length > 0, "spies are live");
  calls.length = 0;
  const reductions: gp.reductions.ReductionReport[] = [];
  const unsubscribe = gp.reductions.onReport((r) => reductions.push(r));
  const start = performance.now();
  let bundle: gp.MimeBundle;
  try {
    bundle = await gp.display.bundle(K);
  } finally {
    restore.forEach((r) => r());
    unsubscribe();
  }
  const seconds = (performance.now() - start) / 1000;
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ test: "display 1e6", seconds, peakRssMiB: peakRssBytes / 2 ** 20, reductions: reductions.map((r) => `${r.operation} ${r.pairs}`) }));

  assert.deepEqual(calls, [], "no dense path was called");
  for (const r of reductions) assert.ok(r.operation === "entries" && r.pairs <= n, `reduction ${r.operation} over ${r.pairs} pairs`);
  assert.ok(reductions.reduce((s, r) => s + r.pairs, 0) <= n + 64 * 64, "the diagonal plus a 64 x 64 subgrid");
  assert.ok(peakRssBytes < 1e9, `peak RSS ${peakRssBytes / 1e6} MB`);

  const spec = bundle[VL] as Spec;
  // The diagonal envelope: 1,000 buckets of 1,000; the spike's bucket has max outputscale + 10.
  const env = spec.datasets.diagonal;
  assert.equal(env.length, 1000);
  for (const b of env) {
    assert.equal(b.end - b.start, 1000);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = b.start; i < b.end; i++) (lo = Math.min(lo, 2 + noise[i])), (hi = Math.max(hi, 2 + noise[i]));
    assert.ok(relErr(b.min, lo) < 1e-12 && relErr(b.max, hi) < 1e-12, `bucket ${b.start}`);
  }
  assert.equal(env[777].max, 12);

  // The 64 x 64 grid: exact entries K[i, j] at evenly spaced i, j (N^2 = 1e12 pairs is over budget).
  assert.equal(spec.usermeta.gplab.heatmap.mode, "subgrid");
  const cells = spec.datasets.blocks;
  assert.equal(cells.length, 64 * 64);
  assert.equal(new Set(cells.map((g) => g.i)).size, 64);
  assert.equal(new Set(cells.map((g) => g.j)).size, 64);
  for (const g of cells) {
    const expected = rbfEntry(c, g.i, g.j) + (g.i === g.j ? noise[g.i] : 0);
    // Pairs ~38 lengthscales apart underflow: exp below -708 is 0 in the fused
    // kernels where Math.exp still returns a subnormal (< 2.2e-308).
    const underflow = Math.abs(g.value - expected) < 1e-300;
    assert.ok(underflow || relErr(g.value, expected) < 1e-12, `K[${g.i}, ${g.j}] = ${g.value}, expected ${expected}`);
  }

  // 1e12 entries: 3.64 TiB as float32, 7.28 TiB as float64.
  assert.match(bundle["text/plain"], /dense would need 3\.6 TiB as float32 \(7\.3 TiB as float64\)/);
  assert.match(bundle["text/plain"], /AddedDiag\s+1,000,000 x 1,000,000/);
  assert.match(bundle["image/svg+xml"] as string, /^<svg/);
  assert.ok(seconds < 10, `display took ${seconds} s`);
});
