// P = L L^T + D with L [n, k] and D diagonal: solves through Woodbury,
// log-determinants through the matrix determinant lemma, and samples
// z ~ N(0, P). Used for the pivoted-Cholesky preconditioner and for
// LowRankRoot + Diag operators.

import type { RandomSource } from "../random";
import { choleskyLogdet, choleskySolve, choleskyWithJitter } from "./cholesky";
import { type Mat, mat, matmulMat, matmulTransposedLeft } from "./matrix";

export class LowRankPlusDiag {
  /** Cholesky of I + L^T D^{-1} L. shape: [k, k] */
  private readonly capL: Mat;

  /** L shape: [n, k]; diag shape: [n], all > 0. */
  constructor(readonly L: Mat, readonly diag: Float64Array) {
    const k = L.cols;
    const scaled = this.divideByDiag(L);
    const cap = matmulTransposedLeft(L, scaled);
    for (let i = 0; i < k; i++) cap.data[i * k + i] += 1;
    this.capL = choleskyWithJitter(cap, "preconditioner capacitance").L;
  }

  private divideByDiag(B: Mat): Mat {
    const out = mat(B.rows, B.cols);
    for (let i = 0; i < B.rows; i++) {
      const inv = 1 / this.diag[i];
      for (let c = 0; c < B.cols; c++) out.data[i * B.cols + c] = B.data[i * B.cols + c] * inv;
    }
    return out;
  }

  /** P^{-1} B = D^{-1} B - D^{-1} L (I + L^T D^{-1} L)^{-1} L^T D^{-1} B. shape: [n, t] */
  solve(B: Mat): Mat {
    const dB = this.divideByDiag(B);
    if (this.L.cols === 0) return dB;
    const inner = choleskySolve(this.capL, matmulTransposedLeft(this.L, dB));
    const correction = this.divideByDiag(matmulMat(this.L, inner));
    for (let i = 0; i < dB.data.length; i++) dB.data[i] -= correction.data[i];
    return dB;
  }

  /** P B. */
  matmul(B: Mat): Mat {
    const out = this.L.cols ? matmulMat(this.L, matmulTransposedLeft(this.L, B)) : mat(B.rows, B.cols);
    for (let i = 0; i < B.rows; i++) {
      for (let c = 0; c < B.cols; c++) out.data[i * B.cols + c] += this.diag[i] * B.data[i * B.cols + c];
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
    const e1 = mat(k, t, random.normals(k * t));
    const out = k ? matmulMat(this.L, e1) : mat(n, t);
    for (let i = 0; i < n; i++) {
      const sd = Math.sqrt(this.diag[i]);
      for (let c = 0; c < t; c++) out.data[i * t + c] += sd * random.normal();
    }
    return out;
  }
}
