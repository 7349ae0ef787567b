// Wraps the WebAssembly SIMD kernels as fused-executor source: a function
// (r0, r1, A) like the generated JavaScript loops, so the worker pool runs it
// unchanged. Each thread compiles its own instances and memory; per job it
// copies Y^T and V^T in once, then per tile the x rows in and the results out.
//
// Symmetric K(x, x) @ V evaluates each pair once: a tile of rows [r0, r1)
// takes its diagonal block [r0, r1) in full and only the columns to its
// right, adding k_ij v_i into per-thread column accumulators that `finish`
// folds into the thread's output at the end of the job. The low-rank
// bilinear derivative (the exact-GP gradient pass) follows the same plan.
// Columns are walked in cache blocks so each block's slices stay in L2
// while the tile's rows pass over them.

import type { Formula } from "../formula";
import { BILINEAR_COLUMN_STEP, stationaryBilinearModule } from "./stationaryBilinear";
import { COLUMN_STEP, type StationaryProfileName, WASM_STATIONARY_PROFILES, stationaryMatmulModule, stationaryRowsModule } from "./stationaryMatmul";

const MAX_DIMS = 16;
/** Right-hand sides one kernel unrolls; more are done in chunks. */
export const WASM_MAX_RHS = 16;
const MAX_RHS = WASM_MAX_RHS;

let simdSupported: boolean | null = null;

/** The WebAssembly global (Node has it; TypeScript's ES2022 lib does not declare it). */
const wasmApi = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

/** Whether this Node's WebAssembly has the SIMD instructions the kernels use. */
export function wasmSimdSupported(): boolean {
  if (simdSupported === null) {
    try {
      simdSupported = wasmApi.validate(stationaryMatmulModule("rbf", 1, 1));
    } catch {
      simdSupported = false;
    }
  }
  return simdSupported as boolean;
}

/** Whether K @ V of this formula has a WebAssembly kernel. */
export function wasmMatmulEligible(formula: Formula, rhsCount: number): boolean {
  if (process.env.GPLAB_FUSED_WASM === "0" || !wasmSimdSupported()) return false;
  if (formula.factors.length !== 1 || formula.terms.length !== 1 || formula.terms[0].factors.length !== 1) return false;
  const f = formula.factors[0];
  return f.statistic === "sqdist" && WASM_STATIONARY_PROFILES.includes(f.profile.name) && f.dims <= MAX_DIMS && rhsCount >= 1 && rhsCount <= MAX_RHS;
}

/**
 * Shared head of the kernel sources: compiles the plain (and symmetric)
 * module from base64, and `ensure(bytes)` creates or grows this thread's
 * memory and instances; `transposeInto` lays out row-major inputs as padded
 * columns. `job` remembers which job the memory is set up for.
 */
function instancePrelude(plainBase64: string, symBase64: string): string {
  return `
const plainModule = new WebAssembly.Module(Buffer.from("${plainBase64}", "base64"));
const symModule = ${symBase64 ? `new WebAssembly.Module(Buffer.from("${symBase64}", "base64"))` : "null"};
let mem = null, plain = null, sym = null, job = null;
function ensure(bytes) {
  const pages = Math.ceil(bytes / 65536);
  if (!mem) {
    mem = new WebAssembly.Memory({ initial: pages });
    plain = new WebAssembly.Instance(plainModule, { env: { mem } });
    if (symModule) sym = new WebAssembly.Instance(symModule, { env: { mem } });
  } else if (mem.buffer.byteLength < bytes) mem.grow(pages - mem.buffer.byteLength / 65536);
}
// src [m, width] row-major -> f at base as [width, mPad], padded columns 0.
function transposeInto(f, base, src, width, m, mPad) {
  for (let k = 0; k < width; k++) {
    const b = base + k * mPad;
    for (let j = 0; j < m; j++) f[b + j] = src[j * width + k];
    for (let j = m; j < mPad; j++) f[b + j] = 0;
  }
}`;
}

/** Columns per cache block of the K @ V and bilinear kernels (a multiple of both column steps). */
const MATMUL_COLUMN_BLOCK = 512;

/** Rows per symmetric tile must be a multiple of this (the column step). */
export const SYMMETRIC_ROW_MULTIPLE = COLUMN_STEP;

/** Source of the kernel for this formula's K @ V, or null to use generated JavaScript. */
export function wasmMatmulSource(formula: Formula, rhsCount: number, symmetric: boolean): string | null {
  if (!wasmMatmulEligible(formula, rhsCount)) return null;
  const f = formula.factors[0];
  const profile = f.profile.name as StationaryProfileName;
  const D = f.dims, T = rhsCount, STEP = COLUMN_STEP, COLUMN_BLOCK = MATMUL_COLUMN_BLOCK;
  const plain = Buffer.from(stationaryMatmulModule(profile, D, T)).toString("base64");
  const sym = symmetric ? Buffer.from(stationaryMatmulModule(profile, D, T, { symmetric: true })).toString("base64") : "";
  return `${instancePrelude(plain, sym)}
let yOff = 0, vOff = 0, ctOff = 0, xOff = 0, outOff = 0, out2Off = 0, mPad = 0, capacityRows = 0;
function setUp(A, rows) {
  const m = A.m;
  mPad = Math.ceil(m / ${STEP}) * ${STEP};
  capacityRows = Math.max(rows, A.tileRows | 0);
  yOff = 0; vOff = ${D} * mPad * 8; ctOff = vOff + ${T} * mPad * 8;
  xOff = ctOff + ${symmetric ? T : 0} * mPad * 8; outOff = xOff + capacityRows * ${D} * 8; out2Off = outOff + capacityRows * ${T} * 8;
  ensure(out2Off + capacityRows * ${T} * 8);
  const f = new Float64Array(mem.buffer);
  transposeInto(f, yOff / 8, A.Y0, ${D}, m, mPad);
  transposeInto(f, vOff / 8, A.V, ${T}, m, mPad);
  f.fill(0, ctOff / 8, xOff / 8);
  job = A;
}
// Columns [c0, c1) in blocks of ${COLUMN_BLOCK}: the block's slices of Y^T, V^T and the column
// accumulators stay in cache while every row of the tile passes over them (one pass per row
// over all columns streamed ~2.5 MB per row at m = 10,000, t = 16). Row sums of each block
// land at outOff and are added into out2Off.
function runBlocks(inst, c0, c1, rows, coef, symmetric, vRowOff) {
  const f = new Float64Array(mem.buffer);
  const o = outOff / 8, acc = out2Off / 8, len = rows * ${T};
  f.fill(0, acc, acc + len);
  for (let c = c0; c < c1; c += ${COLUMN_BLOCK}) {
    const count = Math.min(${COLUMN_BLOCK}, c1 - c);
    inst.exports.run(yOff + c * 8, vOff + c * 8, xOff, outOff, rows, mPad, coef, count, symmetric ? ctOff + c * 8 : 0, vRowOff);
    for (let p = 0; p < len; p++) f[acc + p] += f[o + p];
  }
  return acc;
}
function fused(r0, r1, A) {
  const rows = r1 - r0;
  if (job !== A || rows > capacityRows) setUp(A, rows);
  const f = new Float64Array(mem.buffer);
  f.set(A.X0.subarray(r0 * ${D}, r1 * ${D}), xOff / 8);
  const coef = A.P[0];
  if (!A.SYMMETRIC) {
    const acc = runBlocks(plain, 0, mPad, rows, coef, false, 0);
    A.OUT.set(f.subarray(acc, acc + rows * ${T}), r0 * ${T});
    return;
  }
  // Diagonal block [r0, cMid) in full, then the columns right of it once each.
  const cMid = Math.min(mPad, Math.ceil(r1 / ${STEP}) * ${STEP});
  const ACC = A.ACC, len = rows * ${T};
  let acc = runBlocks(plain, r0, cMid, rows, coef, false, 0);
  for (let p = 0; p < len; p++) ACC[r0 * ${T} + p] += f[acc + p];
  acc = runBlocks(sym, cMid, mPad, rows, coef, true, vOff + r0 * 8);
  for (let p = 0; p < len; p++) ACC[r0 * ${T} + p] += f[acc + p];
}
fused.finish = function (A) {
  if (!A.SYMMETRIC || job !== A) return;
  const f = new Float64Array(mem.buffer);
  const ACC = A.ACC, m = A.m, coef = A.P[0];
  for (let t = 0; t < ${T}; t++) {
    const base = ctOff / 8 + t * mPad;
    for (let j = 0; j < m; j++) ACC[j * ${T} + t] += coef * f[base + j];
  }
  job = null;
};
return fused;`;
}

/** Whether the low-rank bilinear derivative of this formula has a WebAssembly kernel. */
export function wasmBilinearEligible(formula: Formula, rank: number): boolean {
  return wasmMatmulEligible(formula, rank);
}

/**
 * Source of the bilinear-derivative kernel (low-rank weights U W^T, rank T),
 * or null to use generated JavaScript. Each thread accumulates into its own
 * WebAssembly memory and adds into its ACC slice in `finish`.
 */
export function wasmBilinearSource(formula: Formula, rank: number, symmetric: boolean): string | null {
  if (!wasmBilinearEligible(formula, rank)) return null;
  const f = formula.factors[0];
  const profile = f.profile.name as StationaryProfileName;
  const D = f.dims, T = rank, STEP = BILINEAR_COLUMN_STEP, COLUMN_BLOCK = MATMUL_COLUMN_BLOCK;
  const plain = Buffer.from(stationaryBilinearModule(profile, D, T)).toString("base64");
  const sym = symmetric ? Buffer.from(stationaryBilinearModule(profile, D, T, { symmetric: true })).toString("base64") : "";
  return `${instancePrelude(plain, sym)}
let yOff = 0, wTOff = 0, uTOff = 0, xOff = 0, uRowOff = 0, wRowOff = 0, accOff = 0, mPad = 0, capacityRows = 0;
function setUp(A, rows) {
  const m = A.m;
  mPad = Math.ceil(m / ${STEP}) * ${STEP};
  capacityRows = Math.max(rows, A.tileRows | 0);
  const symRows = A.SYMMETRIC ? 1 : 0;
  yOff = 0; wTOff = ${D} * mPad * 8; uTOff = wTOff + ${T} * mPad * 8;
  xOff = uTOff + symRows * ${T} * mPad * 8; uRowOff = xOff + capacityRows * ${D} * 8;
  wRowOff = uRowOff + capacityRows * ${T} * 8; accOff = wRowOff + symRows * capacityRows * ${T} * 8;
  ensure(accOff + ${1 + D} * 8);
  const f = new Float64Array(mem.buffer);
  transposeInto(f, yOff / 8, A.Y0, ${D}, m, mPad);
  transposeInto(f, wTOff / 8, A.W, ${T}, m, mPad);
  if (A.SYMMETRIC) transposeInto(f, uTOff / 8, A.U, ${T}, m, mPad);
  f.fill(0, accOff / 8, accOff / 8 + ${1 + D});
  job = A;
}
function fused(r0, r1, A) {
  const rows = r1 - r0;
  if (job !== A || rows > capacityRows) {
    if (job === A) fused.finish(A);
    setUp(A, rows);
  }
  const f = new Float64Array(mem.buffer);
  f.set(A.X0.subarray(r0 * ${D}, r1 * ${D}), xOff / 8);
  f.set(A.U.subarray(r0 * ${T}, r1 * ${T}), uRowOff / 8);
  if (!A.SYMMETRIC) {
    runBlocks(plain, 0, mPad, rows, false);
    return;
  }
  f.set(A.W.subarray(r0 * ${T}, r1 * ${T}), wRowOff / 8);
  // Diagonal block [r0, cMid) as ordered pairs, then the columns right of it once each (w_ij + w_ji).
  const cMid = Math.min(mPad, Math.ceil(r1 / ${STEP}) * ${STEP});
  runBlocks(plain, r0, cMid, rows, false);
  runBlocks(sym, cMid, mPad, rows, true);
}
// Columns [c0, c1) in cache blocks, as for K @ V (the kernel adds into ACC at accOff).
function runBlocks(inst, c0, c1, rows, symmetric) {
  for (let c = c0; c < c1; c += ${COLUMN_BLOCK}) {
    const count = Math.min(${COLUMN_BLOCK}, c1 - c);
    inst.exports.run(yOff + c * 8, wTOff + c * 8, xOff, uRowOff, rows, mPad, count, symmetric ? uTOff + c * 8 : 0, symmetric ? wRowOff : 0, accOff);
  }
}
fused.finish = function (A) {
  if (job !== A) return;
  const f = new Float64Array(mem.buffer);
  const ACC = A.ACC, coef = A.P[0], a = accOff / 8;
  ACC[0] += f[a];
  for (let k = 1; k <= ${D}; k++) ACC[k] += coef * f[a + k];
  f.fill(0, a, a + ${1 + D});
  job = null;
};
return fused;`;
}

/**
 * Source of the rows kernel (OUT[a, :] = K[RI[a], :]) for a plain stationary
 * formula, or null to use generated JavaScript. Y^T is copied in once per
 * job; per tile the selected x rows go in and the rows come out.
 */
export function wasmRowsSource(formula: Formula): string | null {
  if (!wasmMatmulEligible(formula, 1)) return null;
  const f = formula.factors[0];
  const profile = f.profile.name as StationaryProfileName;
  const D = f.dims, STEP = COLUMN_STEP;
  const module = Buffer.from(stationaryRowsModule(profile, D)).toString("base64");
  return `${instancePrelude(module, "")}
let yOff = 0, xOff = 0, outOff = 0, mPad = 0, capacityRows = 0;
function setUp(A, rows) {
  const m = A.m;
  mPad = Math.ceil(m / ${STEP}) * ${STEP};
  capacityRows = Math.max(rows, A.tileRows | 0);
  yOff = 0; xOff = ${D} * mPad * 8; outOff = xOff + capacityRows * ${D} * 8;
  ensure(outOff + capacityRows * mPad * 8);
  transposeInto(new Float64Array(mem.buffer), yOff / 8, A.Y0, ${D}, m, mPad);
  job = A;
}
function fused(a0, a1, A) {
  const rows = a1 - a0;
  if (job !== A || rows > capacityRows) setUp(A, rows);
  const f = new Float64Array(mem.buffer);
  const X = A.X0, RI = A.RI, m = A.m, x = xOff / 8;
  for (let a = 0; a < rows; a++) {
    const i = RI[a0 + a];
    for (let k = 0; k < ${D}; k++) f[x + a * ${D} + k] = X[i * ${D} + k];
  }
  plain.exports.run(yOff, xOff, outOff, rows, mPad, A.P[0], mPad);
  const o = outOff / 8, OUT = A.OUT;
  for (let a = 0; a < rows; a++) OUT.set(f.subarray(o + a * mPad, o + a * mPad + m), (a0 + a) * m);
}
fused.finish = function (A) {
  if (job === A) job = null;
};
return fused;`;
}
