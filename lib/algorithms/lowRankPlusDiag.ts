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
  /** D^{-1} L. shape: [n, k] */
  private readonly scaledL: Mat;

  /** L shape: [n, k]; diag shape: [n], all > 0. */
  constructor(readonly L: Mat, readonly diag: Float64Array) {
    const n = L.rows, k = L.cols;
    this.invDiag = diag.map((v) => 1 / v);
    const scaled = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let q = 0; q < k; q++) scaled[i * k + q] = L.data[i * k + q] * this.invDiag[i];
    this.scaledL = mat(n, k, scaled);
    // The products here and in solve() run on the WebAssembly GEMM (matrix.ts); the
    // capacitance is symmetric, so only its lower triangle is computed (half the work).
    const cap = weightedGramLower(transposeMat(L), this.invDiag);
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
    if (t >= 4) {
      const solved = choleskySolve(this.capL, matmulTransposedLeft(this.scaledL, B)); // [k, t]
      const correction = matmulMat(this.scaledL, solved).data; // D^{-1} L (...) [n, t]
      for (let p = 0; p < n * t; p++) out.data[p] -= correction[p];
      return out;
    }
    // A column or three (CG on one right-hand side): the GEMM would copy D^{-1} L in for nothing.
    const S = this.scaledL.data;
    const inner = mat(k, t);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < t; c++) {
        const v = B.data[i * t + c];
        if (v !== 0) for (let q = 0; q < k; q++) inner.data[q * t + c] += S[i * k + q] * v;
      }
    }
    const solved = choleskySolve(this.capL, inner).data;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < t; c++) {
        let sum = 0;
        for (let q = 0; q < k; q++) sum += S[i * k + q] * solved[q * t + c];
        out.data[i * t + c] -= sum;
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
