// P = L L^T + D with L [n, k] and D diagonal: solves through Woodbury,
// log-determinants through the matrix determinant lemma, and samples
// z ~ N(0, P). Used for the pivoted-Cholesky preconditioner (applied once
// per CG iteration to every column, so its loops run over contiguous rows)
// and for LowRankRoot + Diag operators.

import type { RandomSource } from "../random";
import { choleskyLogdet, choleskySolve, choleskyWithJitter } from "./cholesky";
import { type Mat, mat } from "./matrix";

export class LowRankPlusDiag {
  /** Cholesky of I + L^T D^{-1} L. shape: [k, k] */
  private readonly capL: Mat;
  /** 1 / D. shape: [n] */
  private readonly invDiag: Float64Array;
  /** (D^{-1} L)^T, rows contiguous for the L^T D^{-1} B products. shape: [k, n] */
  private readonly scaledLt: Float64Array;

  /** L shape: [n, k]; diag shape: [n], all > 0. */
  constructor(readonly L: Mat, readonly diag: Float64Array) {
    const n = L.rows, k = L.cols;
    this.invDiag = diag.map((v) => 1 / v);
    const Lt = new Float64Array(k * n);
    this.scaledLt = new Float64Array(k * n);
    for (let i = 0; i < n; i++) {
      for (let q = 0; q < k; q++) {
        Lt[q * n + i] = L.data[i * k + q];
        this.scaledLt[q * n + i] = L.data[i * k + q] * this.invDiag[i];
      }
    }
    const cap = mat(k, k);
    for (let q = 0; q < k; q++) {
      const a = q * n;
      for (let r = 0; r <= q; r++) {
        const b = r * n;
        const s = dot(this.scaledLt, a, Lt, b, n);
        cap.data[q * k + r] = s;
        cap.data[r * k + q] = s;
      }
      cap.data[q * k + q] += 1;
    }
    this.capL = choleskyWithJitter(cap, "preconditioner capacitance").L;
  }

  /** P^{-1} B = D^{-1} B - D^{-1} L (I + L^T D^{-1} L)^{-1} L^T D^{-1} B. shape: [n, t] */
  solve(B: Mat): Mat {
    const n = B.rows, t = B.cols, k = this.L.cols;
    const out = mat(n, t);
    const inv = this.invDiag;
    for (let i = 0; i < n; i++) for (let c = 0; c < t; c++) out.data[i * t + c] = B.data[i * t + c] * inv[i];
    if (k === 0) return out;
    // Columns of B made contiguous, so both products below are dot products of contiguous rows.
    const Bt = new Float64Array(t * n);
    for (let i = 0; i < n; i++) for (let c = 0; c < t; c++) Bt[c * n + i] = B.data[i * t + c];
    // inner = L^T D^{-1} B  [k, t]
    const inner = mat(k, t);
    for (let q = 0; q < k; q++) for (let c = 0; c < t; c++) inner.data[q * t + c] = dot(this.scaledLt, q * n, Bt, c * n, n);
    const solved = choleskySolve(this.capL, inner).data;
    const solvedT = new Float64Array(t * k);
    for (let q = 0; q < k; q++) for (let c = 0; c < t; c++) solvedT[c * k + q] = solved[q * t + c];
    const L = this.L.data;
    for (let i = 0; i < n; i++) {
      const scale = inv[i];
      for (let c = 0; c < t; c++) out.data[i * t + c] -= scale * dot(L, i * k, solvedT, c * k, k);
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

/** sum_i a[aOff + i] b[bOff + i], four independent partial sums (the loop is latency bound otherwise). */
function dot(a: Float64Array, aOff: number, b: Float64Array, bOff: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    s0 += a[aOff + i] * b[bOff + i];
    s1 += a[aOff + i + 1] * b[bOff + i + 1];
    s2 += a[aOff + i + 2] * b[bOff + i + 2];
    s3 += a[aOff + i + 3] * b[bOff + i + 3];
  }
  for (; i < len; i++) s0 += a[aOff + i] * b[bOff + i];
  return s0 + s1 + (s2 + s3);
}
