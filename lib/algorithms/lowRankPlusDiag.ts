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
  /**
   * (D^{-1} L)^T, kept transposed: both products of solve() then read it row
   * by row as it lies (copied into the GEMM arena, not transposed on every
   * CG iteration). shape: [k, n]
   */
  private readonly scaledLT: Mat;

  /** L shape: [n, k]; diag shape: [n], all > 0. */
  constructor(readonly L: Mat, readonly diag: Float64Array) {
    const n = L.rows, k = L.cols;
    this.invDiag = diag.map((v) => 1 / v);
    // The products here and in solve() run on the WebAssembly GEMM (matrix.ts); the
    // capacitance is symmetric, so only its lower triangle is computed (half the work).
    const LT = transposeMat(L);
    const cap = weightedGramLower(LT, this.invDiag);
    const inv = this.invDiag;
    for (let q = 0; q < k; q++) for (let i = 0; i < n; i++) LT.data[q * n + i] *= inv[i];
    this.scaledLT = LT;
    for (let q = 0; q < k; q++) {
      for (let r = 0; r < q; r++) cap.data[r * k + q] = cap.data[q * k + r];
      cap.data[q * k + q] += 1;
    }
    this.capL = choleskyWithJitter(cap, "preconditioner capacitance").L;
  }

  /** Lower Cholesky factor F of I + L^T D^{-1} L (F F^T). shape: [k, k] */
  get capacitanceFactor(): Mat {
    return this.capL;
  }

  /** P^{-1} B = D^{-1} B - D^{-1} L (I + L^T D^{-1} L)^{-1} L^T D^{-1} B. shape: [n, t] */
  solve(B: Mat): Mat {
    const n = B.rows, t = B.cols, k = this.L.cols;
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
    const n = B.rows, t = B.cols, k = this.L.cols;
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
    return s + (this.L.cols ? choleskyLogdet(this.capL) : 0);
  }

  /** t samples of N(0, P) as columns: L e1 + sqrt(D) e2. shape: [n, t] */
  sample(random: RandomSource, t: number): Mat {
    const n = this.L.rows, k = this.L.cols;
    const e1 = random.normals(k * t);
    const L = this.L.data;
    const out = mat(n, t);
    for (let i = 0; i < n; i++) {
      for (let q = 0; q < k; q++) {
        const a = L[i * k + q];
        for (let c = 0; c < t; c++) out.data[i * t + c] += a * e1[q * t + c];
      }
    }
    for (let i = 0; i < n; i++) {
      const sd = Math.sqrt(this.diag[i]);
      for (let c = 0; c < t; c++) out.data[i * t + c] += sd * random.normal();
    }
    return out;
  }
}
