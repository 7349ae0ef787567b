// P = L L^T + D with L [n, k] and D diagonal: solves through Woodbury,
// log-determinants through the matrix determinant lemma, and samples
// z ~ N(0, P). Used for the pivoted-Cholesky preconditioner (applied once
// per CG iteration to every column: its O(n k t) products and the O(n k^2)
// capacitance run on the WebAssembly GEMM) and for LowRankRoot + Diag
// operators.
//
// The solves of one CG run all read (D^{-1} L)^T [k, n] and the capacitance
// factor: they are left in the GEMM arena between calls (leaveInArena) and
// copied in again only when something else used it. Right-hand sides are
// padded to whole 4-column strips, so every product runs in WebAssembly,
// and no product needs a transposed copy of the [k, n] factor.

import type { RandomSource } from "../random";
import { choleskyLogdet, choleskySolve, choleskyWithJitter } from "./cholesky";
import { type Mat, mat, matmulMat, matmulTransposedLeft, transposeMat, weightedGramLower } from "./matrix";
import { transposeInto, transposeLower } from "./transpose";
import { lowerProductInto, solveLowerInPlace, solveUpperInPlace } from "./triangularKernels";
import { arena, gemm, leaveInArena, putRows, reclaimArena } from "./wasmGemm";

/** Right-hand sides are padded to a multiple of this many columns (the GEMM kernel's strip width). */
const STRIP = 4;

export class LowRankPlusDiag {
  /** Cholesky of I + L^T D^{-1} L. shape: [k, k] */
  private readonly capL: Mat;
  /** 1 / D. shape: [n] */
  private readonly invDiag: Float64Array;
  /** L^T. shape: [k, n] */
  private readonly LT: Mat;
  /**
   * (D^{-1} L)^T, kept transposed: both products of solve() then read it row
   * by row as it lies (left in the GEMM arena between solves, never
   * transposed). shape: [k, n]
   */
  private readonly scaledLT: Mat;
  /** L, formed from L^T when first asked for. shape: [n, k] */
  private factor: Mat | null;

  /** L shape: [n, k]; diag shape: [n], all > 0. */
  constructor(L: Mat, diag: Float64Array);
  /** L^T given instead of L (as the pivoted Cholesky computes it): LT shape: [k, n]. */
  constructor(L: null, diag: Float64Array, LT: Mat);
  constructor(L: Mat | null, readonly diag: Float64Array, LT?: Mat) {
    this.factor = L;
    this.LT = L ? transposeMat(L) : (LT as Mat);
    const k = this.LT.rows, n = this.LT.cols;
    this.invDiag = diag.map((v) => 1 / v);
    const inv = this.invDiag, lt = this.LT.data;
    // The capacitance is symmetric, so only its lower triangle is computed (half the work), on the
    // WebAssembly GEMM: (D^{-1} L)^T at 0, L at k n, the product at 2 k n (as weightedGramLower, which
    // the arena-less case calls).
    const mem = k > 0 ? arena(2 * k * n + k * k) : null;
    let cap: Mat;
    if (mem) {
      // L^T copied in, transposed arena to arena (in WebAssembly), then scaled in place.
      mem.set(lt, 0);
      transposeInto(mem, 0, n, mem, k * n, k, k, n);
      for (let q = 0; q < k; q++) {
        const row = q * n;
        for (let i = 0; i < n; i++) mem[row + i] *= inv[i];
      }
      this.scaledLT = mat(k, n, mem.slice(0, k * n));
      const c = 2 * k * n;
      mem.fill(0, c, c + k * k);
      lowerProductInto(mem, k, n, 0, k * n, c);
      cap = mat(k, k, mem.slice(c, c + k * k));
    } else {
      cap = weightedGramLower(this.LT, inv);
      const scaled = new Float64Array(k * n);
      for (let q = 0; q < k; q++) for (let i = 0; i < n; i++) scaled[q * n + i] = lt[q * n + i] * inv[i];
      this.scaledLT = mat(k, n, scaled);
    }
    for (let q = 0; q < k; q++) {
      for (let r = 0; r < q; r++) cap.data[r * k + q] = cap.data[q * k + r];
      cap.data[q * k + q] += 1;
    }
    this.capL = choleskyWithJitter(cap, "preconditioner capacitance").L;
  }

  /** The low-rank factor L. shape: [n, k] */
  get L(): Mat {
    this.factor ??= transposeMat(this.LT);
    return this.factor;
  }

  /** The rank k of L. */
  get rank(): number {
    return this.LT.rows;
  }

  /** Lower Cholesky factor F of I + L^T D^{-1} L (F F^T). shape: [k, k] */
  get capacitanceFactor(): Mat {
    return this.capL;
  }

  /** P^{-1} B = D^{-1} B - D^{-1} L (I + L^T D^{-1} L)^{-1} L^T D^{-1} B. shape: [n, t] */
  solve(B: Mat): Mat {
    const n = B.rows, t = B.cols, k = this.rank;
    const out = mat(n, t);
    const inv = this.invDiag;
    for (let i = 0; i < n; i++) for (let c = 0; c < t; c++) out.data[i * t + c] = B.data[i * t + c] * inv[i];
    if (k === 0 || t === 0) return out;
    // After the resident part: B [n, tp] (zero-padded), (D^{-1} L)^T B [k, tp] solved in place, its
    // transpose [tp, k], and the correction's transpose ((...)^T (D^{-1} L)^T) [tp, n].
    const tp = Math.ceil(t / STRIP) * STRIP;
    const X = this.residentSize, I = X + n * tp, IT = I + k * tp, C = IT + tp * k;
    const mem = this.workspace(C + tp * n);
    if (!mem) return this.solveOffArena(B, out);
    if (tp !== t) mem.fill(0, X, X + n * tp);
    putRows(mem, X, tp, B.data, n, t);
    mem.fill(0, I, I + k * tp);
    gemm(mem, k, tp, n, 0, n, X, tp, I, tp);
    const F = k * n;
    solveLowerInPlace(mem, k, tp, F, I, tp);
    solveUpperInPlace(mem, k, tp, F + k * k, I, tp);
    transposeInto(mem, I, tp, mem, IT, k, k, tp);
    mem.fill(0, C, C + tp * n);
    gemm(mem, tp, n, k, IT, k, 0, n, C, n);
    for (let c = 0; c < t; c++) {
      const row = C + c * n;
      for (let i = 0; i < n; i++) out.data[i * t + c] -= mem[row + i];
    }
    leaveInArena(this.keepInArena);
    return out;
  }

  /** Elements at the start of the arena the solves keep: (D^{-1} L)^T [k, n], F [k, k], F^T [k, k]. */
  private get residentSize(): number {
    const k = this.rank;
    return k * this.LT.cols + 2 * k * k;
  }

  /** Marks the resident part as ours in the arena; nothing to save when another caller takes it (this object keeps the originals). */
  private readonly keepInArena = (): void => {};

  /**
   * The arena with the resident part at its start and room up to `size`
   * elements, or null when the arena is unavailable or too small. Until the
   * caller's leaveInArena, nothing else may use the arena.
   */
  private workspace(size: number): Float64Array | null {
    const held = reclaimArena(this.keepInArena) !== null;
    // arena() keeps the memory's contents when it grows.
    const mem = arena(size);
    if (!mem || held) return mem;
    const k = this.rank, F = k * this.LT.cols;
    mem.set(this.scaledLT.data, 0);
    mem.set(this.capL.data, F);
    // F^T, upper, for the back substitution (its lower triangle is never read).
    transposeLower(this.capL.data, 0, k, mem, F + k * k, k, k);
    return mem;
  }

  /** solve() without the arena: out holds D^{-1} B. */
  private solveOffArena(B: Mat, out: Mat): Mat {
    const n = B.rows, t = B.cols, k = this.rank;
    const ST = this.scaledLT.data;
    if (t >= STRIP) {
      // (D^{-1} L)^T B [k, t], then its D^{-1} L (...) as ((...)^T (D^{-1} L)^T)^T [t, n]
      const solved = choleskySolve(this.capL, matmulMat(this.scaledLT, B));
      const correctionT = matmulTransposedLeft(solved, this.scaledLT).data;
      for (let i = 0; i < n; i++) for (let c = 0; c < t; c++) out.data[i * t + c] -= correctionT[c * n + i];
      return out;
    }
    const inner = mat(k, t);
    for (let q = 0; q < k; q++) {
      const row = q * n;
      for (let c = 0; c < t; c++) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += ST[row + i] * B.data[i * t + c];
        inner.data[q * t + c] = sum;
      }
    }
    const solved = choleskySolve(this.capL, inner).data;
    for (let q = 0; q < k; q++) {
      const row = q * n;
      for (let c = 0; c < t; c++) {
        const sq = solved[q * t + c];
        if (sq !== 0) for (let i = 0; i < n; i++) out.data[i * t + c] -= ST[row + i] * sq;
      }
    }
    return out;
  }

  /** P B. shape: [n, t] */
  matmul(B: Mat): Mat {
    const n = B.rows, t = B.cols, k = this.rank;
    const L = this.L.data;
    // inner = L^T B [k, t], then out = L inner + D B
    const inner = new Float64Array(k * t);
    for (let i = 0; i < n; i++) {
      for (let q = 0; q < k; q++) {
        const a = L[i * k + q];
        for (let c = 0; c < t; c++) inner[q * t + c] += a * B.data[i * t + c];
      }
    }
    const out = mat(n, t);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < t; c++) out.data[i * t + c] = this.diag[i] * B.data[i * t + c];
      for (let q = 0; q < k; q++) {
        const a = L[i * k + q];
        for (let c = 0; c < t; c++) out.data[i * t + c] += a * inner[q * t + c];
      }
    }
    return out;
  }

  logdet(): number {
    let s = 0;
    for (let i = 0; i < this.diag.length; i++) s += Math.log(this.diag[i]);
    return s + (this.rank ? choleskyLogdet(this.capL) : 0);
  }

  /** t samples of N(0, P) as columns: L e1 + sqrt(D) e2. shape: [n, t] */
  sample(random: RandomSource, t: number): Mat {
    const n = this.LT.cols, k = this.rank;
    const e1 = random.normals(k * t);
    const out = k > 0 && t > 0 ? this.lowRankTimes(e1, t) : mat(n, t);
    for (let i = 0; i < n; i++) {
      const sd = Math.sqrt(this.diag[i]);
      for (let c = 0; c < t; c++) out.data[i * t + c] += sd * random.normal();
    }
    return out;
  }

  /** L E for E [k, t] (row-major in e). shape: [n, t] */
  private lowRankTimes(e: Float64Array, t: number): Mat {
    const n = this.LT.cols, k = this.rank;
    // (E^T L^T)^T: L^T [k, n] as it lies after the resident part, E^T [t, k], the product [t, n].
    const LT = this.residentSize, ET = LT + k * n, C = ET + t * k;
    const mem = this.workspace(C + t * n);
    if (!mem) return matmulTransposedLeft(this.LT, mat(k, t, e));
    mem.set(this.LT.data, LT);
    transposeInto(e, 0, t, mem, ET, k, k, t);
    mem.fill(0, C, C + t * n);
    gemm(mem, t, n, k, ET, k, LT, n, C, n);
    const out = mat(n, t);
    for (let c = 0; c < t; c++) {
      const row = C + c * n;
      for (let i = 0; i < n; i++) out.data[i * t + c] = mem[row + i];
    }
    leaveInArena(this.keepInArena);
    return out;
  }
}
