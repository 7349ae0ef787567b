// Reductions that add into per-thread accumulators (symmetric K @ V, the
// gradient passes) give the same bits on every run with the same thread
// count: tiles are dealt to threads round-robin (lib/reductions/tileSchedule.ts).
// With first-come tiles, every repeat below differed in the last bits.

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as gp from "../lib";
import { pairwiseBilinear, pairwiseMatmul } from "../lib/reductions/engine";
import { lateHelperCount } from "../lib/reductions/fusedExecutor";
import { rng } from "./helpers/reference";

type Formula = gp.reductions.Formula;

const N = 2003, D = 3, REPEATS = 6;

/** Scale(RBF) + Scale(Matern 5/2) on K(x, x): two factors, so both gradient blocks are exercised. */
function sumKernel(): Formula {
  const rand = rng(11);
  const x = Float64Array.from({ length: N * D }, () => rand() * 4);
  const { rbfProfile, matern52Profile } = gp.reductions.profiles;
  return {
    name: "reproducible-sum",
    n: N,
    m: N,
    factors: [
      { statistic: "sqdist", dims: D, x, y: x, profile: rbfProfile, params: new Float64Array(0) },
      { statistic: "sqdist", dims: D, x: x.map((v) => v / 1.7), y: x.map((v) => v / 1.7), profile: matern52Profile, params: new Float64Array(0) },
    ],
    terms: [{ coef: 0.8, factors: [0] }, { coef: 1.3, factors: [1] }],
  };
}

/** Runs `reduce` REPEATS times on two threads; returns the number of runs whose bits differ from the first. */
function differingRuns(reduce: () => Float64Array): number {
  const first = reduce();
  const report = gp.reductions.lastReport();
  assert.equal(report?.threads, 2, "the reduction ran on two threads");
  let differing = 0;
  for (let r = 1; r < REPEATS; r++) {
    const again = reduce();
    if (again.some((v, i) => !Object.is(v, first[i]))) differing++;
  }
  return differing;
}

describe("per-thread accumulators are reproducible bit for bit", () => {
  const f = sumKernel();
  const rand = rng(12);
  const T = 3;
  const V = Float64Array.from({ length: N * T }, () => rand() - 0.5);
  const U = Float64Array.from({ length: N * T }, () => rand() - 0.5);

  it("symmetric K(x, x) @ V", () => {
    assert.equal(differingRuns(() => pairwiseMatmul(f, V, T, { symmetric: true, executor: "fused", threads: 2 })), 0);
  });

  it("the low-rank gradient pass, symmetric and plain", () => {
    const weights = { kind: "lowRank" as const, U, W: V, T };
    assert.equal(differingRuns(() => pairwiseBilinear(f, weights, { symmetric: true, executor: "fused", threads: 2 })), 0);
    assert.equal(differingRuns(() => pairwiseBilinear(f, weights, { executor: "fused", threads: 2 })), 0);
  });

  it("the dense-weight gradient pass", () => {
    const n = 701;
    const small: Formula = { ...f, n, m: n, factors: f.factors.map((fa) => ({ ...fa, x: fa.x.subarray(0, n * D), y: fa.y.subarray(0, n * D) })) };
    const M = Float64Array.from({ length: n * n }, () => rand() - 0.5);
    assert.equal(differingRuns(() => pairwiseBilinear(small, { kind: "dense", M }, { symmetric: true, executor: "fused", threads: 2 })), 0);
  });
});

describe("a helper thread that starts late", () => {
  it("has its round-robin tiles run by the main thread, with the same bits", () => {
    // Eight threads on a machine with fewer cores, the workers past the first started by this
    // call: some are not running when the main thread is done with its tiles, and it takes theirs.
    const n = 64, m = 4100, threads = 8;
    const rand = rng(21);
    const x = Float64Array.from({ length: n * D }, () => rand() * 4), y = Float64Array.from({ length: m * D }, () => rand() * 4);
    const M = Float64Array.from({ length: n * m }, () => rand() - 0.5);
    const formula: Formula = {
      name: "late", n, m,
      factors: [{ statistic: "sqdist", dims: D, x, y, profile: gp.reductions.profiles.rbfProfile, params: new Float64Array(0) }],
      terms: [{ coef: 0.7, factors: [0] }],
    };
    const before = lateHelperCount();
    const results = Array.from({ length: 6 }, () => pairwiseBilinear(formula, { kind: "dense", M }, { executor: "fused", threads }));
    assert.equal(gp.reductions.lastReport()?.threads, threads);
    for (const r of results) assert.ok(r.every((v, i) => Object.is(v, results[0][i])), `a run differs: ${r} vs ${results[0]}`);
    assert.ok(lateHelperCount() > before, "no helper started late: the takeover path was not exercised");
    // And the same sums as one thread's, to rounding.
    const one = pairwiseBilinear(formula, { kind: "dense", M }, { executor: "fused", threads: 1 });
    one.forEach((v, i) => assert.ok(Math.abs(results[0][i] - v) <= 1e-12 * Math.max(1, Math.abs(v)), `slot ${i}: ${results[0][i]} vs one thread ${v}`));
  });
});
