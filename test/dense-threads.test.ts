// The GEMM on worker threads (gemmPool.ts) against the same GEMM on one
// thread and against plain loops: every output is summed by one thread in
// the same order, so the threaded results must equal the single-threaded
// ones bit for bit, for odd shapes split by rows and by columns (with the
// m mod 4 fringe), and for the Cholesky factor, the triangular solves and
// the Cholesky inverse built on it, at n = 1, 7, 100, 800.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import { choleskyInverseBlocked } from "../lib/algorithms/choleskyInverse";
import { choleskyWithJitter, solveLower, solveLowerTransposed } from "../lib/algorithms/cholesky";
import { type Mat, mat, matmulMat } from "../lib/algorithms/matrix";
import { PARALLEL_MIN_WORK } from "../lib/algorithms/gemmPool";
import { arena, gemm, gemmLowerB, gemmThreads, gemmUpperALowerC, setGemmThreads } from "../lib/algorithms/wasmGemm";
import { choleskyInverse } from "../lib/mlls/choleskyInverse";
import { product, randomMat as random, transposed, triangle } from "./helpers/denseReference";



/** Runs f with the GEMM limited to `threads` threads. */
function withThreads<T>(threads: number, f: () => T): T {
  const before = setGemmThreads(threads);
  try {
    return f();
  } finally {
    setGemmThreads(before);
  }
}

function sameBits(a: Float64Array, b: Float64Array, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} is ${a[i]} threaded, ${b[i]} on one thread`);
}

/** The worker threads are up (they start at the first large product; wait for them so the tests below use them). */
async function workersStarted(): Promise<void> {
  gemmThreads({ start: true });
  for (let t = 0; t < 400 && gemmThreads().workersReady < gemmThreads().threads - 1; t++) await new Promise((r) => setTimeout(r, 25));
}

test("threaded gemm equals one thread bit for bit and a plain loop to rounding, odd shapes split by rows and by columns", async () => {
  setGemmThreads(Math.max(2, gemmThreads().threads));
  await workersStarted();
  // [n, m, k]: rows split (fringe columns in JS), columns split (the last strip takes the fringe), k above one 256-term chunk.
  const shapes: [number, number, number][] = [[800, 7, 101], [7, 801, 100], [101, 103, 61], [1, 800, 800], [800, 1, 800], [800, 800, 1], [333, 257, 517]];
  for (const [n, m, k] of shapes) {
    assert.ok(n * m * k >= PARALLEL_MIN_WORK, `${n} x ${m} x ${k} takes the threaded path`);
    const A = random(n, k, n + 1), B = random(k, m, m + 2), C0 = random(n, m, k + 3);
    const run = (threads: number) =>
      withThreads(threads, () => {
        const mem = arena(n * k + k * m + n * m)!;
        mem.set(A.data, 0);
        mem.set(B.data, n * k);
        mem.set(C0.data, n * k + k * m);
        gemm(mem, n, m, k, 0, k, n * k, m, n * k + k * m, m, -0.75);
        return mem.slice(n * k + k * m, n * k + k * m + n * m);
      });
    const threaded = run(2), single = run(1);
    sameBits(threaded, single, `${n} x ${m} x ${k}`);
    let err = 0;
    for (let i = 0; i < n; i += Math.max(1, n >> 4)) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A.data[i * k + p] * B.data[p * m + j];
        err = Math.max(err, Math.abs(C0.data[i * m + j] - 0.75 * s - threaded[i * m + j]));
      }
    }
    assert.ok(err < 1e-11, `${n} x ${m} x ${k}: ${err}`);
  }
});

test("the worker threads work pieces of large products", async () => {
  setGemmThreads(Math.max(2, gemmThreads().threads));
  await workersStarted();
  assert.ok(gemmThreads().workersReady >= 1, "a GEMM worker thread started");
  const before = gemmThreads().workerPieces;
  const n = 600;
  const A = random(n, n, 1);
  // A few products of ~2 x 10^8 multiply-adds: tens of milliseconds each, 4 pieces per thread.
  for (let r = 0; r < 5 && gemmThreads().workerPieces === before; r++) matmulMat(A, A);
  assert.ok(gemmThreads().workerPieces > before, "no piece was worked by a worker thread");
});

test("Cholesky, triangular solves and the Cholesky inverse: threaded equals one thread bit for bit at n = 1, 7, 100, 800", async () => {
  await workersStarted();
  for (const n of [1, 7, 100, 800]) {
    const G = random(n, n + 3, 40 + n);
    const K = mat(n, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let p = 0; p < n + 3; p++) s += G.data[i * (n + 3) + p] * G.data[j * (n + 3) + p];
        K.data[i * n + j] = K.data[j * n + i] = s;
      }
      K.data[i * n + i] += 0.3;
    }
    const B = random(n, 37, 9);
    const results = [2, 1].map((threads) =>
      withThreads(threads, () => {
        const L = choleskyWithJitter(K).L;
        return { L, X: solveLower(L, B), Y: solveLowerTransposed(L, B), inv: choleskyInverseBlocked(L)! };
      }),
    );
    const [t2, t1] = results;
    sameBits(t2.L.data, t1.L.data, `Cholesky n ${n}`);
    sameBits(t2.X.data, t1.X.data, `solveLower n ${n}`);
    sameBits(t2.Y.data, t1.Y.data, `solveLowerTransposed n ${n}`);
    sameBits(t2.inv.data, t1.inv.data, `inverse n ${n}`);
    // And the solve really solves: L X = B.
    let err = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 37; c++) {
        let s = 0;
        for (let k = 0; k <= i; k++) s += t2.L.data[i * n + k] * t2.X.data[k * 37 + c];
        err = Math.max(err, Math.abs(s - B.data[i * 37 + c]));
      }
    }
    assert.ok(err < 1e-9, `n ${n}: |L X - B| = ${err}`);
  }
});

test("triangle-shaped products (B lower; A upper with C's lower blocks): threaded equals one thread bit for bit, and the textbook product", async () => {
  setGemmThreads(Math.max(2, gemmThreads().threads));
  await workersStarted();
  // [n, m, k, nb]: odd sizes, blocks that do not divide them, one block, and products below the threads' threshold.
  const cases: [number, number, number, number][] = [[101, 97, 130, 32], [333, 257, 257, 32], [64, 300, 301, 7], [1, 1, 1, 32], [9, 5, 5, 32]];
  for (const [n, m, k, nb] of cases) {
    for (const layout of ["lowerB", "upperALowerC"] as const) {
      // lowerB: B [k, m] lower triangular; upperALowerC: A [n, k] upper triangular.
      const A = layout === "upperALowerC" ? triangle(random(n, k, n + 5), false) : random(n, k, n + 5);
      const B = layout === "lowerB" ? triangle(random(k, m, m + 6), true) : random(k, m, m + 6);
      const C0 = random(n, m, k + 7);
      const run = (threads: number, inArena: boolean) =>
        withThreads(threads, () => {
          const mem = inArena ? arena(n * k + k * m + n * m)! : new Float64Array(n * k + k * m + n * m);
          mem.set(A.data, 0);
          mem.set(B.data, n * k);
          mem.set(C0.data, n * k + k * m);
          const f = layout === "lowerB" ? gemmLowerB : gemmUpperALowerC;
          f(mem, nb, n, m, k, 0, k, n * k, m, n * k + k * m, m, -0.5);
          return mem.slice(n * k + k * m, n * k + k * m + n * m);
        });
      const threaded = run(2, true), single = run(1, true), plain = run(1, false);
      const what = `${layout} ${n} x ${m} x ${k} (nb ${nb})`;
      sameBits(threaded, single, what);
      const AB = product(A, B);
      let err = 0;
      for (let i = 0; i < n; i++) {
        // upperALowerC computes row i's panel up to its end (column min(m, panel end)); the rest of C is untouched.
        const end = layout === "lowerB" ? m : Math.min(m, n, (Math.floor(i / nb) + 1) * nb);
        for (let j = 0; j < m; j++) {
          const want = j < end ? C0.data[i * m + j] - 0.5 * AB.data[i * m + j] : C0.data[i * m + j];
          err = Math.max(err, Math.abs(threaded[i * m + j] - want), Math.abs(plain[i * m + j] - want));
        }
      }
      assert.ok(err < 1e-11, `${what}: ${err}`);
    }
  }
});

test("overwrite (C := alpha A B): C's old contents (NaN) are never read; the bits of adding to a zeroed C, threaded and on one thread, in the arena and in JS", async () => {
  setGemmThreads(Math.max(2, gemmThreads().threads));
  await workersStarted();
  // [n, m, k]: fringe columns, k over one 256-term chunk (the later chunks add), split by rows and by columns, k = 0.
  const shapes: [number, number, number][] = [[333, 257, 517], [7, 801, 100], [101, 103, 61], [5, 6, 3], [9, 7, 0]];
  for (const [n, m, k] of shapes) {
    const A = random(n, Math.max(k, 1), n + 11), B = random(Math.max(k, 1), m, m + 12);
    const run = (threads: number, inArena: boolean, overwrite: boolean) =>
      withThreads(threads, () => {
        const size = n * k + k * m + n * m;
        const mem = inArena ? arena(size)! : new Float64Array(size);
        mem.set(A.data.subarray(0, n * k), 0);
        mem.set(B.data.subarray(0, k * m), n * k);
        mem.fill(overwrite ? Number.NaN : 0, n * k + k * m, size);
        gemm(mem, n, m, k, 0, k, n * k, m, n * k + k * m, m, -0.75, overwrite);
        return mem.slice(n * k + k * m, size);
      });
    const zeroed = run(1, true, false);
    for (const threads of [2, 1]) sameBits(run(threads, true, true), zeroed, `${n} x ${m} x ${k} (${threads} threads)`);
    // The JS kernel off the arena sums all k terms in one chunk: compared with itself.
    sameBits(run(1, false, true), run(1, false, false), `${n} x ${m} x ${k} (JS)`);
    if (k === 0) assert.ok(zeroed.every((v) => v === 0), "k = 0 overwrites with zeros");
  }
  // The triangle layouts: each piece overwrites its block of C.
  const [n, m, k, nb] = [333, 257, 257, 32];
  for (const layout of ["lowerB", "upperALowerC"] as const) {
    const A = layout === "upperALowerC" ? triangle(random(n, k, 21), false) : random(n, k, 21);
    const B = layout === "lowerB" ? triangle(random(k, m, 22), true) : random(k, m, 22);
    const run = (threads: number, overwrite: boolean) =>
      withThreads(threads, () => {
        const size = n * k + k * m + n * m;
        const mem = arena(size)!;
        mem.set(A.data, 0);
        mem.set(B.data, n * k);
        mem.fill(overwrite ? Number.NaN : 0, n * k + k * m, size);
        (layout === "lowerB" ? gemmLowerB : gemmUpperALowerC)(mem, nb, n, m, k, 0, k, n * k, m, n * k + k * m, m, -0.5, overwrite);
        const C = mem.slice(n * k + k * m, size);
        // Outside upperALowerC's lower blocks C is not written: compare only what the layout covers.
        if (layout === "upperALowerC") for (let i = 0; i < n; i++) C.fill(0, i * m + Math.min(m, (Math.floor(i / nb) + 1) * nb), (i + 1) * m);
        return C;
      });
    const zeroed = run(1, false);
    sameBits(run(2, true), zeroed, `${layout} overwrite, threaded`);
    sameBits(run(1, true), zeroed, `${layout} overwrite, one thread`);
  }
});

test("a Cholesky and its inverse below 2^25 multiply-adds (n = 354) stay on the calling thread", async () => {
  setGemmThreads(Math.max(2, gemmThreads().threads));
  await workersStarted();
  const n = 354, G = random(n, n, 17_501);
  const A = matmulMat(G, transposed(G));
  for (let i = 0; i < n; i++) A.data[i * n + i] += n;
  const before = gemmThreads().workerPieces;
  const { L } = choleskyWithJitter(A);
  choleskyInverse(L);
  assert.equal(gemmThreads().workerPieces, before, "no piece of the routines went to a worker");
});
