// The preconditioner's algebra as it runs in the GEMM arena, against dense
// f64 computations written here: the blocked pivoted Cholesky (pivots chosen
// on the candidates' small Schur block, full columns by one triangular solve)
// replayed by a textbook one-column-at-a-time partial Cholesky with the same
// pivots, with the candidates read from rows or from entries; the Woodbury solve and sampling (factor left in the arena between
// calls, right-hand sides padded to 4-column strips) against a dense solve.
// Odd sizes, rank 1, rank = n, tiny n; the arena taken by other callers in
// between.

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as gp from "../lib";
import { LowRankPlusDiag } from "../lib/algorithms/lowRankPlusDiag";
import { type RowAccess, pivotedCholeskyFactor } from "../lib/algorithms/pivotedCholesky";
import { arena } from "../lib/algorithms/wasmGemm";
import { lowRankPlusDiagDense, lowRankPlusDiagSamples } from "./helpers/denseReference";
import { rng } from "./helpers/reference";

const { mat } = gp.algorithms;
type Mat = gp.algorithms.Mat;

function randomMat(rows: number, cols: number, rand: () => number): Mat {
  return mat(rows, cols, Float64Array.from({ length: rows * cols }, () => rand() * 2 - 1));
}

/**
 * Rows, diagonal and (with `withEntries`) entries of a dense symmetric A;
 * `onRead` runs inside every rows() and entries() call, and `rowsRead` counts the rows read.
 */
function access(A: Float64Array, n: number, withEntries: boolean, onRead: () => void): RowAccess & { rowsRead: number } {
  const a: RowAccess & { rowsRead: number } = {
    size: n,
    rowsRead: 0,
    diagonal: () => Float64Array.from({ length: n }, (_, i) => A[i * n + i]),
    rows: (idx) => {
      onRead();
      a.rowsRead += idx.length;
      const out = new Float64Array(idx.length * n);
      idx.forEach((r, k) => out.set(A.subarray(r * n, (r + 1) * n), k * n));
      return out;
    },
  };
  if (withEntries) {
    a.entries = (rows, cols) => {
      onRead();
      return Float64Array.from(rows, (r, i) => A[r * n + cols[i]]);
    };
  }
  return a;
}

/**
 * The partial Cholesky of A with the given pivot order, one column at a time
 * (column j = Schur column at pivot j / sqrt(its residual)), and the
 * residual each pivot had when taken next to the largest unpivoted one.
 * shapes: L [n, r] row-major
 */
function replay(A: Float64Array, n: number, pivots: Int32Array): { L: Float64Array; taken: number[]; largest: number[] } {
  const r = pivots.length;
  const L = new Float64Array(n * r);
  const res = Float64Array.from({ length: n }, (_, i) => A[i * n + i]);
  const used = new Uint8Array(n);
  const taken: number[] = [], largest: number[] = [];
  for (let j = 0; j < r; j++) {
    const p = pivots[j];
    let top = 0;
    for (let i = 0; i < n; i++) if (!used[i]) top = Math.max(top, res[i]);
    taken.push(res[p]);
    largest.push(top);
    const d = Math.sqrt(res[p]);
    for (let i = 0; i < n; i++) {
      let s = A[i * n + p];
      for (let q = 0; q < j; q++) s -= L[i * r + q] * L[p * r + q];
      L[i * r + j] = s / d;
    }
    for (let i = 0; i < n; i++) res[i] -= L[i * r + j] ** 2;
    used[p] = 1;
  }
  return { L, taken, largest };
}

/** Solves A X = B densely (Gaussian elimination with partial pivoting). shapes: A [n, n], B [n, t] */
function denseSolve(A: Float64Array, n: number, B: Mat): Mat {
  const t = B.cols, a = A.slice(), x = B.data.slice();
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
    if (p !== c) {
      for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j], a[c * n + j]];
      for (let j = 0; j < t; j++) [x[c * t + j], x[p * t + j]] = [x[p * t + j], x[c * t + j]];
    }
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / a[c * n + c];
      for (let j = c; j < n; j++) a[r * n + j] -= f * a[c * n + j];
      for (let j = 0; j < t; j++) x[r * t + j] -= f * x[c * t + j];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    for (let j = 0; j < t; j++) {
      let s = x[c * t + j];
      for (let q = c + 1; q < n; q++) s -= a[c * n + q] * x[q * t + j];
      x[c * t + j] = s / a[c * n + c];
    }
  }
  return mat(n, t, x);
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Another caller takes the GEMM arena and overwrites all of it (nothing where there is no arena). */
function useArena(): void {
  arena(1024)?.fill(Number.NaN);
}

describe("pivoted Cholesky in the arena vs a one-column-at-a-time replay", () => {
  const rand = rng(41);
  const cases: { n: number; k: number; rank: number; tol: number; eps?: number }[] = [
    { n: 1, k: 1, rank: 1, tol: 0 },
    { n: 2, k: 2, rank: 2, tol: 0 },
    { n: 7, k: 3, rank: 7, tol: 0 }, // rank = n
    { n: 37, k: 37, rank: 1, tol: 0 }, // rank 1
    { n: 101, k: 60, rank: 45, tol: 0 }, // two blocks and a part
    { n: 203, k: 203, rank: 203, tol: 0 }, // rank = n, seven blocks, odd n
    { n: 150, k: 30, rank: 150, tol: 1e-8, eps: 1e-12 }, // stops on the trace tolerance
  ];
  for (const { n, k, rank, tol, eps } of cases) for (const withEntries of [false, true]) {
    it(`n = ${n}, matrix rank ~${k}, maxRank ${rank}, ${withEntries ? "entries and the kept rows" : "rows only"}`, () => {
      const A = lowRankPlusDiagDense(randomMat(n, k, rand), new Float64Array(n).fill(eps ?? 1e-3));
      let reads = 0;
      // Every read takes the arena from the factorisation: its factor and scratch must survive.
      const a = access(A, n, withEntries, () => (reads++, useArena()));
      const f = pivotedCholeskyFactor(a, { maxRank: rank, traceTolerance: tol });
      const r = f.pivots.length;
      assert.ok(reads > 0);
      // With entries, the rows of the pivots alone are read.
      if (withEntries) {
        assert.equal(a.rowsRead, r);
        const fromRows = pivotedCholeskyFactor(access(A, n, false, () => {}), { maxRank: rank, traceTolerance: tol });
        assert.deepEqual(Array.from(f.pivots), Array.from(fromRows.pivots), "the same pivots as from the rows");
      }
      assert.equal(new Set(f.pivots).size, r, "distinct pivots");
      if (tol === 0) assert.equal(r, rank);
      else assert.ok(r < n && !f.capped, `stopped early on the trace (rank ${r})`);
      const ref = replay(A, n, f.pivots);
      // The same factor as the textbook loop with these pivots.
      const L = f.L.data;
      let scale = 0;
      for (let i = 0; i < n; i++) scale = Math.max(scale, Math.sqrt(A[i * n + i]));
      assert.ok(maxAbs(L.map((v, i) => v - ref.L[i])) < 1e-10 * scale, `L vs replay: ${maxAbs(L.map((v, i) => v - ref.L[i]))}`);
      for (let j = 0; j < r; j++) for (let q = j + 1; q < r; q++) assert.ok(Math.abs(L[f.pivots[j] * r + q]) < 1e-12 * scale, "L[pivots, :] lower triangular");
      // Each pivot had at least half the largest residual (ACCEPT_SHARE); the first is the largest diagonal entry.
      for (let j = 0; j < r; j++) assert.ok(ref.taken[j] >= 0.5 * ref.largest[j] * (1 - 1e-9), `pivot ${j}: ${ref.taken[j]} vs largest ${ref.largest[j]}`);
      assert.equal(ref.taken[0], ref.largest[0]);
      // maxResidual is the largest unpivoted diagonal entry of A - L L^T.
      let maxRes = 0;
      const pivoted = new Set(f.pivots);
      for (let i = 0; i < n; i++) {
        if (pivoted.has(i)) continue;
        let s = A[i * n + i];
        for (let q = 0; q < r; q++) s -= L[i * r + q] ** 2;
        maxRes = Math.max(maxRes, s);
      }
      assert.ok(Math.abs(f.maxResidual - maxRes) < 1e-10 * scale * scale);
    });
  }
});

describe("Woodbury solves and samples in the arena vs a dense solve", () => {
  const rand = rng(42);
  const cases: { n: number; k: number }[] = [
    { n: 1, k: 1 },
    { n: 2, k: 1 },
    { n: 5, k: 5 }, // rank = n
    { n: 57, k: 1 }, // rank 1
    { n: 123, k: 37 },
  ];
  for (const { n, k } of cases) {
    it(`n = ${n}, rank ${k}: 1 to 11 columns, the arena used by others and by a second operator in between`, () => {
      const L = randomMat(n, k, rand);
      const d = Float64Array.from({ length: n }, () => 0.05 + rand());
      const A = lowRankPlusDiagDense(L, new Float64Array(n));
      for (let i = 0; i < n; i++) A[i * n + i] += d[i];
      const P = new LowRankPlusDiag(L, d);
      const other = new LowRankPlusDiag(randomMat(n, k, rand), d.map((v) => v + 1));
      for (const t of [1, 2, 3, 4, 5, 11, 1]) {
        const B = randomMat(n, t, rand);
        const want = denseSolve(A, n, B);
        const first = P.solve(B);
        const again = P.solve(B); // the factor still in the arena
        if (t % 2) other.solve(B); // a second operator took the arena
        else useArena(); // another caller took it
        const third = P.solve(B);
        const size = maxAbs(want.data);
        for (const got of [first, again, third]) assert.ok(maxAbs(got.data.map((v, i) => v - want.data[i])) < 1e-9 * size, `t = ${t}: ${maxAbs(got.data.map((v, i) => v - want.data[i]))}`);
        assert.deepEqual(Array.from(again.data), Array.from(first.data));
        assert.deepEqual(Array.from(third.data), Array.from(first.data));
      }
      for (const t of [1, 3, 10]) {
        P.solve(randomMat(n, 4, rand)); // the solves' factor in the arena: samples place theirs after it
        const z = P.sample(new gp.RandomSource(9), t);
        const want = lowRankPlusDiagSamples(L, d, 9, t);
        for (let e = 0; e < n * t; e++) assert.ok(Math.abs(z.data[e] - want[e]) < 1e-12 * (1 + Math.abs(want[e])), `sample [${Math.floor(e / t)}, ${e % t}], t = ${t}`);
      }
    });
  }
});
