// P = L L^T + D with L [n, k] and D diagonal: solves through Woodbury,
// log-determinants through the matrix determinant lemma, and samples
// z ~ N(0, P). Used for the pivoted-Cholesky preconditioner (applied once
// per CG iteration to every column: its O(n k t) products and the O(n k^2)
// capacitance run on the WebAssembly GEMM) and for LowRankRoot + Diag
// operators.

import type { RandomSource } from "../random";
import { choleskyLogdet, choleskySolve, choleskyWithJitter } from "./cholesky";
import { type Mat, mat, matmulMat, matmulTransposedLeft, transposeMat, weightedGramLower } from "./matrix";

export class LowRankPlusDiag {
  /** Cholesky of I + L^T D^{-1} L. shape: [k, k] */
  private readonly capL: Mat;
  /** 1 / D. shape: [n] */
  private readonly invDiag: Float64Array;
  /** L^T. shape: [k, n] */
  private readonly LT: Mat;
  /**
   * (D^{-1} L)^T, kept transposed: both products of solve() then read it row
   * by row as it lies (copied into the GEMM arena, not transposed on every
   * CG iteration). shape: [k, n]
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
    // The products here and in solve() run on the WebAssembly GEMM (matrix.ts); the
    // capacitance is symmetric, so only its lower triangle is computed (half the work).
    const cap = weightedGramLower(this.LT, this.invDiag);
    const inv = this.invDiag;
    const scaled = new Float64Array(k * n);
    const lt = this.LT.data;
    for (let q = 0; q < k; q++) for (let i = 0; i < n; i++) scaled[q * n + i] = lt[q * n + i] * inv[i];
    this.scaledLT = mat(k, n, scaled);
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
    if (k === 0) return out;
    const ST = this.scaledLT.data;
    if (t >= 4) {
      // (D^{-1} L)^T B [k, t], then its D^{-1} L (...) as ((...)^T (D^{-1} L)^T)^T [t, n]
      const solved = choleskySolve(this.capL, matmulMat(this.scaledLT, B));
      const correctionT = matmulTransposedLeft(solved, this.scaledLT).data;
      for (let i = 0; i < n; i++) for (let c = 0; c < t; c++) out.data[i * t + c] -= correctionT[c * n + i];
      return out;
    }
    // A column or three (CG on one right-hand side): the GEMM would copy D^{-1} L in for nothing.
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
    // L e1 = (L^T)^T e1, one GEMM (O(n k t): a CG iteration's preconditioner solve).
    const out = k > 0 ? matmulTransposedLeft(this.LT, mat(k, t, e1)) : mat(n, t);
    for (let i = 0; i < n; i++) {
      const sd = Math.sqrt(this.diag[i]);
      for (let c = 0; c < t; c++) out.data[i * t + c] += sd * random.normal();
    }
    return out;
  }
}
