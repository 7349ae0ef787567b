// The runtime around the formula kernels (formulaKernel.ts): a function
// (r0, r1, A) like the generated JavaScript loops, so the worker pool runs
// it unchanged. It is sent to the workers as source text, so
// `formulaRuntime` below must stay self-contained (no imports, no closures
// over this module): formulaSource() stringifies it with its plan.
//
// Per job and thread it lays out one WebAssembly memory: the descriptor,
// the packed parameters, Y^T per factor (columns padded to a multiple of 16
// by repeating the last column, so padded pairs stay finite; their weights
// are 0), sin / cos of sinsq features, tables, V^T / W^T / U^T; per tile it
// copies the tile's x rows (and their sines / cosines) in and the results out.
//
// Symmetric K(x, x) (K @ V and the low-rank gradient pass) evaluates each
// pair once: a tile of rows [r0, r1) takes its diagonal block [r0, cMid) in
// full and only the columns to its right, where each k_ij also adds
// k_ij v_i into per-thread column accumulators that `finish` folds into the
// thread's output (weights w_ij + w_ji for the gradient pass). Columns are
// walked in cache blocks so each block's slices stay in L2 while the tile's
// rows pass over them.

import { type Formula, gradientLayout, rowGradientLayout, structureKey } from "../formula";
import { DESC, KERNEL_COLUMN_MULTIPLE, type WasmKernelKind, descSlots, formulaKernelModule } from "./formulaKernel";
import { wasmFmaEnabled } from "./relaxedSimd";

/** What the runtime needs to know about the formula's structure (all plain data). */
export interface RuntimePlan {
  kind: WasmKernelKind | "blockSums" | "bilinearDenseSymmetric";
  T: number;
  factors: { statistic: "sqdist" | "dot" | "sinsq" | "table"; dims: number; tableSize: number }[];
  accSize: number;
  /** bilinearDenseRowGradient: columns of each row's feature gradient (rowGradientLayout). */
  rowWidth: number;
  coefOutside: boolean;
  descBytes: number;
  desc: typeof DESC;
  columnMultiple: number;
  columnBlock: number;
}

/** Columns per cache block of K @ V and the gradient pass. */
const COLUMN_BLOCK = 512;

/* eslint-disable @typescript-eslint/no-explicit-any */
/** The runtime itself. Runs in workers from its source text: self-contained on purpose. */
function formulaRuntime(plan: RuntimePlan, plainBase64: string, symBase64: string | null): any {
  const WA = (globalThis as any).WebAssembly;
  const D = plan.desc;
  const plainModule = new WA.Module(Buffer.from(plainBase64, "base64"));
  const symModule = symBase64 ? new WA.Module(Buffer.from(symBase64, "base64")) : null;
  let mem: any = null, plain: any = null, sym: any = null, job: any = null;
  const T = plan.T, F = plan.factors;
  const kind = plan.kind;
  const gradient = kind === "bilinearLowRank" || kind === "bilinearLowRankSymmetric" || kind === "bilinearDense" || kind === "bilinearDenseSymmetric" || kind === "bilinearDenseRowGradient";
  const denseWeights = kind === "bilinearDense" || kind === "bilinearDenseSymmetric" || kind === "bilinearDenseRowGradient";
  const rowGradient = kind === "bilinearDenseRowGradient";
  const rowsOut = kind === "rows" || kind === "blockSums";
  // Byte offsets of this job's layout.
  let L: any = null;

  function ensure(bytes: number): void {
    const pages = Math.ceil(bytes / 65536);
    if (!mem) {
      mem = new WA.Memory({ initial: pages });
      plain = new WA.Instance(plainModule, { env: { mem } });
      if (symModule) sym = new WA.Instance(symModule, { env: { mem } });
    } else if (mem.buffer.byteLength < bytes) mem.grow(pages - mem.buffer.byteLength / 65536);
  }
  const pad = (n: number) => Math.ceil(Math.max(1, n) / plan.columnMultiple) * plan.columnMultiple;
  const width = (f: RuntimePlan["factors"][number]) => (f.statistic === "table" ? 1 : f.dims);
  // src [count, w] row-major -> dst as [w, stride] columns; columns past count repeat the last one.
  function columns(dst: Float64Array, base: number, src: ArrayLike<number>, w: number, count: number, stride: number, map?: (v: number) => number): void {
    for (let k = 0; k < w; k++) {
      const b = base + k * stride;
      for (let j = 0; j < count; j++) dst[b + j] = map ? map(src[j * w + k]) : src[j * w + k];
      const last = count > 0 ? dst[b + count - 1] : 0;
      for (let j = count; j < stride; j++) dst[b + j] = last;
    }
  }
  // sinsq aux features: sin, cos of x for the gradient kernels, of 2x for the value kernels (formulaKernel.ts).
  const angle = gradient ? 1 : 2;
  const sinA = (v: number) => Math.sin(angle * v), cosA = (v: number) => Math.cos(angle * v);
  function sinCosColumns(dst: Float64Array, base: number, src: ArrayLike<number>, d: number, count: number, stride: number): void {
    columns(dst, base, src, d, count, stride, sinA);
    columns(dst, base + d * stride, src, d, count, stride, cosA);
  }

  /** Lays out the memory for job A with tiles of up to `rows` rows (or pairs). */
  function setUp(A: any, rows: number): void {
    const entries = kind === "entries";
    const cap = Math.max(rows, A.tileRows | 0);
    const stride = entries ? pad(cap) : pad(A.m);
    const P: Float64Array = A.P;
    let off = plan.descBytes;
    const take = (f64s: number) => {
      const at = off;
      off += Math.ceil(f64s / 2) * 16;
      return at;
    };
    const lay: any = { cap, stride, pOff: take(P.length), x: [], xAux: [], y: [], yAux: [] };
    F.forEach((f) => {
      const w = width(f);
      lay.y.push(take(w * stride));
      lay.yAux.push(f.statistic === "sinsq" ? take(2 * f.dims * stride) : f.statistic === "table" ? take(f.tableSize * f.tableSize) : 0);
      lay.x.push(take(entries ? w * stride : w * cap));
      lay.xAux.push(f.statistic === "sinsq" ? take(entries ? 2 * f.dims * stride : 2 * f.dims * cap) : 0);
    });
    const vRows = kind === "matmul" || kind === "matmulSymmetric" || kind === "bilinearLowRank" || kind === "bilinearLowRankSymmetric" ? T : 0;
    lay.v = take(vRows * stride);
    lay.ct = take(kind === "matmulSymmetric" || kind === "bilinearLowRankSymmetric" ? T * stride : 0);
    lay.out = take(kind === "matmul" || kind === "matmulSymmetric" ? cap * T : rowsOut ? cap * stride : entries ? stride : rowGradient ? cap * plan.rowWidth : 0);
    lay.uRow = take(denseWeights ? cap * stride : gradient ? cap * T : 0);
    lay.wRow = take(kind === "bilinearLowRankSymmetric" ? cap * T : 0);
    lay.acc = take(gradient ? plan.accSize : 0);
    ensure(off);
    const f64 = new Float64Array(mem.buffer);
    const i32 = new Int32Array(mem.buffer);
    f64.set(P, lay.pOff / 8);
    const d = (slot: number, v: number) => (i32[slot] = v);
    d(D.stride, stride);
    d(D.pOff, lay.pOff);
    d(D.outOff, lay.out);
    d(D.vOff, lay.v);
    d(D.ctOff, lay.ct);
    d(D.uRowOff, lay.uRow);
    d(D.wRowOff, lay.wRow);
    d(D.accOff, lay.acc);
    F.forEach((f, fi) => {
      d(D.factors + 4 * fi, lay.x[fi]);
      d(D.factors + 4 * fi + 1, lay.y[fi]);
      d(D.factors + 4 * fi + 2, lay.xAux[fi]);
      d(D.factors + 4 * fi + 3, lay.yAux[fi]);
      if (f.statistic === "table") f64.set(A[`TB${fi}`], lay.yAux[fi] / 8);
      if (entries) return;
      columns(f64, lay.y[fi] / 8, A[`Y${fi}`], width(f), A.m, stride);
      if (f.statistic === "sinsq") sinCosColumns(f64, lay.yAux[fi] / 8, A[`Y${fi}`], f.dims, A.m, stride);
    });
    // Weights: padded columns 0 (so padded pairs add nothing).
    const zeroPad = (base: number, src: Float64Array, w: number) => {
      for (let t = 0; t < w; t++) {
        const b = base / 8 + t * stride;
        for (let j = 0; j < A.m; j++) f64[b + j] = src[j * w + t];
        f64.fill(0, b + A.m, b + stride);
      }
    };
    if (kind === "matmul" || kind === "matmulSymmetric") zeroPad(lay.v, A.V, T);
    if (kind === "bilinearLowRank" || kind === "bilinearLowRankSymmetric") zeroPad(lay.v, A.W, T);
    if (kind === "bilinearLowRankSymmetric") zeroPad(lay.ct, A.U, T);
    if (kind === "matmulSymmetric") f64.fill(0, lay.ct / 8, lay.ct / 8 + T * stride);
    if (gradient) f64.fill(0, lay.acc / 8, lay.acc / 8 + plan.accSize);
    L = lay;
    job = A;
  }

  /** Copies rows idx(a), a in [0, count), of every factor's x (and sines / cosines) in. */
  function copyRows(A: any, count: number, idx: (a: number) => number): void {
    const f64 = new Float64Array(mem.buffer);
    F.forEach((f, fi) => {
      const w = width(f), X: Float64Array = A[`X${fi}`], base = L.x[fi] / 8;
      for (let a = 0; a < count; a++) {
        const i = idx(a);
        for (let k = 0; k < w; k++) f64[base + a * w + k] = X[i * w + k];
      }
      if (f.statistic === "sinsq") {
        const aux = L.xAux[fi] / 8, dd = f.dims;
        for (let a = 0; a < count; a++) {
          const i = idx(a);
          for (let k = 0; k < dd; k++) {
            f64[aux + a * 2 * dd + k] = sinA(X[i * dd + k]);
            f64[aux + a * 2 * dd + dd + k] = cosA(X[i * dd + k]);
          }
        }
      }
    });
  }

  function call(inst: any, rows: number, c0: number, c1: number, rowGlobal: number): void {
    const i32 = new Int32Array(mem.buffer);
    i32[D.rows] = rows;
    i32[D.colStart] = c0 * 8;
    i32[D.colEnd] = c1 * 8;
    i32[D.rowGlobal] = rowGlobal;
    inst.exports.run(0);
  }
  /** Columns [c0, c1) in cache blocks. */
  function blocks(inst: any, rows: number, c0: number, c1: number, rowGlobal: number): void {
    for (let c = c0; c < c1; c += plan.columnBlock) call(inst, rows, c, Math.min(c1, c + plan.columnBlock), rowGlobal);
  }

  function fused(r0: number, r1: number, A: any): void {
    const rows = r1 - r0;
    if (job !== A || rows > L.cap) {
      if (job === A) fused.finish(A);
      setUp(A, rows);
    }
    const f64 = new Float64Array(mem.buffer);
    const stride = L.stride;
    if (kind === "entries") {
      const RI: Int32Array = A.RI, CI: Int32Array = A.CI;
      F.forEach((f, fi) => {
        const w = width(f), X: Float64Array = A[`X${fi}`], Y: Float64Array = A[`Y${fi}`];
        const gx = new Float64Array(rows * w), gy = new Float64Array(rows * w);
        for (let p = 0; p < rows; p++) {
          for (let k = 0; k < w; k++) {
            gx[p * w + k] = X[RI[r0 + p] * w + k];
            gy[p * w + k] = Y[CI[r0 + p] * w + k];
          }
        }
        columns(f64, L.x[fi] / 8, gx, w, rows, stride);
        columns(f64, L.y[fi] / 8, gy, w, rows, stride);
        if (f.statistic === "sinsq") {
          sinCosColumns(f64, L.xAux[fi] / 8, gx, f.dims, rows, stride);
          sinCosColumns(f64, L.yAux[fi] / 8, gy, f.dims, rows, stride);
        }
      });
      call(plain, 1, 0, pad(rows), 0);
      A.OUT.set(f64.subarray(L.out / 8, L.out / 8 + rows), r0);
      return;
    }
    if (kind === "rows") {
      const RI: Int32Array = A.RI;
      copyRows(A, rows, (a) => RI[r0 + a]);
    } else copyRows(A, rows, (a) => r0 + a);
    if (rowsOut) {
      // A.LOWER (all rows of K(x, x) in order): the lower triangle, columns up to the tile's last row.
      const lower = kind === "rows" && A.LOWER === true;
      call(plain, rows, 0, lower ? Math.min(stride, pad(r1)) : stride, 0);
      const o = L.out / 8, m = A.m;
      if (kind === "rows") {
        const w = lower ? Math.min(m, r1) : m;
        for (let a = 0; a < rows; a++) A.OUT.set(f64.subarray(o + a * stride, o + a * stride + w), (r0 + a) * m);
      } else {
        // Column-block sums of each row.
        const CS: Int32Array = A.CS, BC: number = A.BC, OUT: Float64Array = A.OUT;
        for (let a = 0; a < rows; a++) {
          const row = o + a * stride;
          for (let cb = 0; cb < BC; cb++) {
            let s = 0;
            for (let j = CS[cb]; j < CS[cb + 1]; j++) s += f64[row + j];
            OUT[(r0 + a) * BC + cb] = s;
          }
        }
      }
      return;
    }
    if (gradient) {
      if (kind === "bilinearDense" || rowGradient) {
        const M: Float64Array = A.M, m = A.m, base = L.uRow / 8;
        for (let a = 0; a < rows; a++) {
          f64.set(M.subarray((r0 + a) * m, (r0 + a + 1) * m), base + a * stride);
          f64.fill(0, base + a * stride + m, base + (a + 1) * stride);
        }
        if (rowGradient) {
          // The tile's row gradients [rows, rowWidth], summed over the column blocks, then out to RG.
          const o = L.out / 8, len = rows * plan.rowWidth;
          f64.fill(0, o, o + len);
          blocks(plain, rows, 0, stride, r0);
          A.RG.set(f64.subarray(o, o + len), r0 * plan.rowWidth);
          return;
        }
      } else if (kind === "bilinearDenseSymmetric") {
        // Diagonal block [r0, cMid) as ordered pairs (M_ij); right of it each pair once (M_ij + M_ji).
        const M: Float64Array = A.M, m = A.m, base = L.uRow / 8;
        const cMid = Math.min(m, Math.ceil(r1 / plan.columnMultiple) * plan.columnMultiple);
        for (let a = 0; a < rows; a++) {
          const i = r0 + a, row = base + a * stride;
          for (let j = r0; j < cMid; j++) f64[row + j] = M[i * m + j];
          // A.MSYM (M exactly symmetric): M_ij + M_ji = 2 M_ij, read along the row instead of down a column.
          if (A.MSYM === true) for (let j = cMid; j < m; j++) f64[row + j] = 2 * M[i * m + j];
          else for (let j = cMid; j < m; j++) f64[row + j] = M[i * m + j] + M[j * m + i];
          f64.fill(0, row + m, row + stride);
        }
        blocks(plain, rows, r0, stride, r0);
        return;
      } else f64.set(A.U.subarray(r0 * T, r1 * T), L.uRow / 8);
      if (kind !== "bilinearLowRankSymmetric") {
        blocks(plain, rows, 0, stride, r0);
        return;
      }
      f64.set(A.W.subarray(r0 * T, r1 * T), L.wRow / 8);
      // Diagonal block [r0, cMid) as ordered pairs, then the columns right of it once each (w_ij + w_ji).
      const cMid = Math.min(stride, Math.ceil(r1 / plan.columnMultiple) * plan.columnMultiple);
      blocks(plain, rows, r0, cMid, r0);
      blocks(sym, rows, cMid, stride, r0);
      return;
    }
    // K @ V
    const out = L.out / 8, len = rows * T;
    f64.fill(0, out, out + len);
    if (kind === "matmul") {
      blocks(plain, rows, 0, stride, r0);
      A.OUT.set(f64.subarray(out, out + len), r0 * T);
      return;
    }
    const cMid = Math.min(stride, Math.ceil(r1 / plan.columnMultiple) * plan.columnMultiple);
    blocks(plain, rows, r0, cMid, r0);
    blocks(sym, rows, cMid, stride, r0);
    const ACC: Float64Array = A.ACC;
    for (let p = 0; p < len; p++) ACC[r0 * T + p] += f64[out + p];
  }
  fused.finish = function (A: any): void {
    if (job !== A) return;
    const f64 = new Float64Array(mem.buffer);
    if (kind === "matmulSymmetric") {
      // The mirrored halves: ACC[j, t] += CT[t, j] (times the coefficient kept out of the loop).
      const ACC: Float64Array = A.ACC, m = A.m, scale = plan.coefOutside ? A.P[0] : 1;
      for (let t = 0; t < T; t++) {
        const base = L.ct / 8 + t * L.stride;
        for (let j = 0; j < m; j++) ACC[j * T + t] += scale * f64[base + j];
      }
    }
    if (gradient) {
      const ACC: Float64Array = A.ACC, a = L.acc / 8;
      for (let s = 0; s < plan.accSize; s++) ACC[s] += f64[a + s];
    }
    job = null;
  };
  return fused;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Independent f64x2 chains (2 columns each) per loop step: value kernels hide exp latency with more; gradient kernels keep more live values. */
function chainsFor(kind: WasmKernelKind, formula: Formula, fma: boolean, T: number): number {
  const gradient = kind.startsWith("bilinear");
  const wide = formula.factors.some((f) => f.dims > 8);
  // The fused row-gradient pass (dense weights, no per-row weight vectors) hides its exp
  // with 4 (256 x 1,024, one thread: Scale(RBF) 0.87 -> 0.82 ms, the sum 1.80 -> 1.72,
  // Matern 5/2 1.36 -> 1.19, Periodic 3.5 -> 1.8); wide features keep 2 (their registers).
  if (kind === "bilinearDenseRowGradient") return wide ? 2 : 4;
  if (gradient) return 2;
  // Fused multiply-adds halve the polynomials' latency, so fewer chains hide
  // it, with fewer spills: 4 (2 where each term has its own exp) beat 8 (4)
  // by 1.1-1.3x, measured in bench/README. With several right-hand sides the
  // per-column accumulators (spilled either way) are shared by more pairs
  // per step: a sum of terms takes 4 chains there too (11 columns: 1.2x).
  // With the rational exp (a division per exp) a sum of terms with one
  // right-hand side takes 3 (the sum's K @ v 1.09x over 2; 4: 0.98x); one
  // term stays at 4 (3, 5, 6: 0.73-1.03x, bench/README "Fourth pass").
  if (fma) return wide ? 2 : formula.terms.length > 1 && T < 2 ? 3 : 4;
  return formula.factors.length > 1 || wide ? 4 : 8;
}

/**
 * Fused-executor source (the body of `new Function`) computing `kind` for
 * this formula's structure in WebAssembly SIMD. blockSums runs the rows
 * kernel and sums each row's blocks.
 */
export function formulaSource(formula: Formula, kind: WasmKernelKind | "blockSums" | "bilinearDenseSymmetric", T: number): string {
  const moduleKind: WasmKernelKind = kind === "blockSums" ? "rows" : kind === "bilinearDenseSymmetric" ? "bilinearDense" : kind;
  const symmetricKind = kind === "matmulSymmetric" || kind === "bilinearLowRankSymmetric";
  // One term: its coefficient multiplies the sum once, not every pair.
  const coefOutside = formula.terms.length === 1 && !kind.startsWith("bilinear");
  const fma = wasmFmaEnabled();
  const chains = chainsFor(moduleKind, formula, fma, T);
  const plainKind: WasmKernelKind = kind === "matmulSymmetric" ? "matmul" : kind === "bilinearLowRankSymmetric" ? "bilinearLowRank" : moduleKind;
  const plainBytes = formulaKernelModule(formula, plainKind, T, chains, coefOutside, fma);
  const symBytes = symmetricKind ? formulaKernelModule(formula, moduleKind, T, chains, coefOutside, fma) : null;
  const plan: RuntimePlan = {
    kind, T,
    factors: formula.factors.map((f) => ({ statistic: f.statistic, dims: f.dims, tableSize: f.tableSize ?? 0 })),
    accSize: kind.startsWith("bilinear") ? gradientLayout(formula).size : 0,
    rowWidth: kind === "bilinearDenseRowGradient" ? rowGradientLayout(formula).width : 0,
    coefOutside,
    descBytes: Math.ceil((descSlots(formula.factors.length) * 4) / 16) * 16,
    desc: DESC,
    columnMultiple: KERNEL_COLUMN_MULTIPLE,
    columnBlock: COLUMN_BLOCK,
  };
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  return `// ${kind} of ${structureKey(formula)}: WebAssembly SIMD (formula compiler${fma ? ", fused multiply-add" : ""})
return (${formulaRuntime.toString()})(${JSON.stringify(plan)}, "${b64(plainBytes)}", ${symBytes ? `"${b64(symBytes)}"` : "null"});`;
}
