// The blocked forward substitution's innermost step in WebAssembly
// (lib/algorithms/substitutionStep.ts): on the arena it must give exactly
// what the JavaScript steps give on a plain array (same operations in the
// same order), and textbook substitution to rounding, for every step height
// (1 to 4 rows), odd and even column counts, padded strides and triangles
// read in place from a larger factor; the Cholesky and the inverse that use
// it keep matching their references at n = 1, 7, 100, 800. Inside a dense
// routine the substitutions and the Cholesky's panel solves also run in
// pieces on the GEMM worker threads (choleskyTasks.ts): equal bit for bit
// to one thread.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import { choleskyWithJitter } from "../lib/algorithms/cholesky";
import { substituteLowerColumns } from "../lib/algorithms/choleskyTasks";
import { mat } from "../lib/algorithms/matrix";
import { substituteLowerBlock } from "../lib/algorithms/triangularKernels";
import { arena, denseRoutine, gemmThreads, setGemmThreads, substitutionStep } from "../lib/algorithms/wasmGemm";
import { choleskyInverse, choleskyInversePlain } from "../lib/mlls/choleskyInverse";
import { centredRng, randomMat, substituteLower } from "./helpers/denseReference";
import { relErr } from "./helpers/reference";

/** A p x p lower triangle with pivots in [1, 2) and small entries below (well conditioned), at stride ldt. */
function triangle(p: number, ldt: number, seed: number): Float64Array {
  const r = centredRng(seed), T = new Float64Array(p * ldt).fill(Number.NaN); // NaN above: must never be read
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < i; j++) T[i * ldt + j] = r() / Math.sqrt(p);
    T[i * ldt + i] = 1.5 + r();
  }
  return T;
}

test("the WebAssembly substitution step equals the JS steps bit for bit and textbook substitution to rounding", () => {
  let seed = 1700, steps = 0;
  for (const p of [1, 2, 3, 4, 5, 7, 8, 32]) {
    for (const t of [1, 2, 3, 5, 36, 37, 354]) {
      const ldt = p + 3, ld = t + (t % 2) + 6; // padded strides, odd and even
      const T = triangle(p, ldt, seed++);
      const B = randomMat(p, t, seed++);
      // In the arena: T at 0, X after it (offsets odd in elements, so rows are not 16-byte aligned).
      const x = p * ldt + 1;
      const mem = arena(x + p * ld)!;
      assert.ok(mem, "the WebAssembly arena is available here");
      mem.set(T, 0);
      for (let i = 0; i < p; i++) mem.set(B.data.subarray(i * t, (i + 1) * t), x + i * ld);
      substituteLowerBlock(mem, p, t, 0, ldt, x, ld);
      // The same on a plain array: the gemm calls and the step's loops run in JS.
      const plain = new Float64Array(x + p * ld);
      plain.set(T, 0);
      for (let i = 0; i < p; i++) plain.set(B.data.subarray(i * t, (i + 1) * t), x + i * ld);
      assert.equal(substitutionStep(plain, Math.min(p, 4), t, 0, ldt, x, ld), false, "off the arena the step declines");
      substituteLowerBlock(plain, p, t, 0, ldt, x, ld);
      const L = mat(p, p);
      for (let i = 0; i < p; i++) for (let j = 0; j <= i; j++) L.data[i * p + j] = T[i * ldt + j];
      const want = substituteLower(L, B).data;
      const got = new Float64Array(p * t), js = new Float64Array(p * t);
      for (let i = 0; i < p; i++) {
        got.set(mem.subarray(x + i * ld, x + i * ld + t), i * t);
        js.set(plain.subarray(x + i * ld, x + i * ld + t), i * t);
      }
      for (let k = 0; k < got.length; k++) assert.ok(Object.is(got[k], js[k]), `p ${p}, t ${t}: entry ${k} is ${got[k]} on the arena, ${js[k]} in JS`);
      const err = relErr(got, want);
      assert.ok(err < 1e-13, `p ${p}, t ${t}: ${err} from textbook substitution`);
      steps++;
    }
  }
  assert.equal(steps, 56);
});

test("the step leaves the columns after t and the rows' padding alone", () => {
  const p = 4, t = 5, ldt = 4, ld = 9;
  const T = triangle(p, ldt, 17);
  const x = 16;
  const mem = arena(x + p * ld)!;
  mem.set(T, 0);
  mem.fill(7, x, x + p * ld);
  assert.ok(substitutionStep(mem, p, t, 0, ldt, x, ld));
  for (let i = 0; i < p; i++) for (let c = t; c < ld; c++) assert.equal(mem[x + i * ld + c], 7, `row ${i}, column ${c}`);
});

test("Cholesky and its inverse (both on the step) against the textbook loops at n = 1, 7, 100, 800", () => {
  for (const n of [1, 7, 100, 800]) {
    // A = B B^T / n + I: symmetric positive definite, condition number ~10.
    const B = randomMat(n, n, 40 + n), A = mat(n, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += B.data[i * n + k] * B.data[j * n + k];
        A.data[i * n + j] = A.data[j * n + i] = s / n + (i === j ? 1 : 0);
      }
    }
    const { L, jitter } = choleskyWithJitter(A);
    assert.equal(jitter, 0);
    // Textbook Cholesky, column by column.
    const R = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      let d = A.data[j * n + j];
      for (let k = 0; k < j; k++) d -= R[j * n + k] ** 2;
      R[j * n + j] = Math.sqrt(d);
      for (let i = j + 1; i < n; i++) {
        let s = A.data[i * n + j];
        for (let k = 0; k < j; k++) s -= R[i * n + k] * R[j * n + k];
        R[i * n + j] = s / R[j * n + j];
      }
    }
    assert.ok(relErr(L.data, R) < 1e-13, `n ${n}: Cholesky ${relErr(L.data, R)}`);
    const inv = choleskyInverse(L).data, ref = choleskyInversePlain(L).data;
    assert.ok(relErr(inv, ref) < 1e-12, `n ${n}: inverse ${relErr(inv, ref)}`);
  }
});

test("inside a dense routine the substitution runs in column strips on the worker threads, equal bit for bit to one thread", async () => {
  const before = setGemmThreads(2), poll = process.env.GPLAB_DENSE_POLL;
  // Dense routines poll (and split their substitutions) only on a machine not busier than its cores: here always.
  process.env.GPLAB_DENSE_POLL = "1";
  try {
    gemmThreads({ start: true });
    for (let w = 0; w < 400 && gemmThreads().workersReady < 1; w++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(gemmThreads().workersReady >= 1, "a GEMM worker thread started");
    const p = 32, ldt = 33;
    const T = triangle(p, ldt, 99);
    for (const t of [8, 203, 2001]) {
      const ld = t + 5, x = p * ldt, B = randomMat(p, t, t);
      const run = (threads: number) => {
        setGemmThreads(threads);
        const mem = arena(x + p * ld)!;
        mem.set(T, 0);
        for (let i = 0; i < p; i++) mem.set(B.data.subarray(i * t, (i + 1) * t), x + i * ld);
        const pieces = gemmThreads().workerPieces;
        denseRoutine(Infinity, () => substituteLowerColumns(mem, p, t, 0, ldt, x, ld));
        const out = new Float64Array(p * t);
        for (let i = 0; i < p; i++) out.set(mem.subarray(x + i * ld, x + i * ld + t), i * t);
        return { out, workerPieces: gemmThreads().workerPieces - pieces };
      };
      const one = run(1);
      assert.equal(one.workerPieces, 0);
      // The worker may be slow to claim a piece on a busy machine: tries for the largest case, with pauses that let it run.
      let two = run(2);
      for (let r = 0; r < 100 && t === 2001 && two.workerPieces === 0; r++) {
        await new Promise((done) => setTimeout(done, 5));
        two = run(2);
      }
      for (let k = 0; k < one.out.length; k++) assert.ok(Object.is(two.out[k], one.out[k]), `t ${t}: entry ${k} is ${two.out[k]} on two threads, ${one.out[k]} on one`);
      if (t === 2001) assert.ok(two.workerPieces > 0, "no column strip was worked by a worker thread");
    }
  } finally {
    setGemmThreads(before);
    if (poll === undefined) delete process.env.GPLAB_DENSE_POLL;
    else process.env.GPLAB_DENSE_POLL = poll;
  }
});

test("the blocked Cholesky's panel solves in groups of rows on the worker threads: equal bit for bit to one thread", async () => {
  const before = setGemmThreads(2), poll = process.env.GPLAB_DENSE_POLL;
  // Dense routines poll (and split their substitutions) only on a machine not busier than its cores: here always.
  process.env.GPLAB_DENSE_POLL = "1";
  try {
    gemmThreads({ start: true });
    for (let w = 0; w < 400 && gemmThreads().workersReady < 1; w++) await new Promise((r) => setTimeout(r, 25));
    const n = 601, G = randomMat(n, n, 5), A = mat(n, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += G.data[i * n + k] * G.data[j * n + k];
        A.data[i * n + j] = A.data[j * n + i] = s / n + (i === j ? 0.5 : 0);
      }
    }
    setGemmThreads(1);
    const one = choleskyWithJitter(A).L.data;
    setGemmThreads(2);
    let two = one, pieces = 0;
    for (let r = 0; r < 100 && pieces === 0; r++) {
      if (r > 0) await new Promise((done) => setTimeout(done, 5));
      setGemmThreads(2); // resets the adaptive threshold a busy machine may have raised
      const p0 = gemmThreads().workerPieces;
      two = choleskyWithJitter(A).L.data;
      pieces = gemmThreads().workerPieces - p0;
    }
    assert.ok(pieces > 0, "no piece of the factorisation was worked by a worker thread");
    for (let k = 0; k < one.length; k++) assert.ok(Object.is(two[k], one[k]), `entry ${k} is ${two[k]} on two threads, ${one[k]} on one`);
  } finally {
    setGemmThreads(before);
    if (poll === undefined) delete process.env.GPLAB_DENSE_POLL;
    else process.env.GPLAB_DENSE_POLL = poll;
  }
});
