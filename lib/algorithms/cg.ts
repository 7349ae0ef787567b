// Preconditioned conjugate gradients on several right-hand sides at once
// (one operator product per iteration for all columns), in f64. Records each
// column's CG coefficients, from which the Lanczos tridiagonal of the
// preconditioned operator follows (GPyTorch's mBCG); stochastic Lanczos
// quadrature reads log-determinants from those.

import { checkInterrupt } from "../reductions/interrupt";
import { type Mat, mat } from "./matrix";

export interface CGOptions {
  /** Relative residual at which a column stops: one for all, or one per column. */
  tolerance: number | Float64Array;
  maxIterations: number;
  /** Record the tridiagonal coefficients for these columns (e.g. the probes). */
  tridiagonalColumns?: number[];
}

export interface CGResult {
  /** shape: [n, t] */
  solution: Mat;
  iterations: number;
  /** Final ||r_j|| / ||b_j|| per column. */
  relativeResiduals: Float64Array;
  converged: boolean;
  /** For each requested column: diagonal and off-diagonal of its Lanczos tridiagonal. */
  tridiagonals: { diag: Float64Array; offDiag: Float64Array }[];
  /** P^{-1} B, the first preconditioned residual (B itself without a preconditioner). shape: [n, t] */
  preconditionedRhs: Mat;
}

/**
 * Solves A X = B. `apply` multiplies A, `precondition` applies P^{-1}
 * (identity when omitted). A must be symmetric positive definite.
 */
export function conjugateGradients(
  apply: (v: Mat) => Mat,
  B: Mat,
  options: CGOptions,
  precondition: (v: Mat) => Mat = (v) => v,
): CGResult {
  const n = B.rows, t = B.cols;
  const X = mat(n, t);
  const R = mat(n, t, B.data.slice());
  const first = precondition(R);
  // Kept for the caller; R changes in place below, so an identity preconditioner's answer is copied.
  const Z0 = first === R ? mat(n, t, R.data.slice()) : first;
  const P = mat(n, t, Z0.data.slice());
  const bNorm = columnNorms(B);
  const rz = columnDots(R, Z0);
  const active = new Uint8Array(t).fill(1);
  for (let c = 0; c < t; c++) if (bNorm[c] === 0) active[c] = 0;
  const tracked = options.tridiagonalColumns ?? [];
  const alphas: number[][] = tracked.map(() => []);
  const betas: number[][] = tracked.map(() => []);
  const relRes = new Float64Array(t);
  let iterations = 0;
  const tolerance = typeof options.tolerance === "number" ? new Float64Array(t).fill(options.tolerance) : options.tolerance;
  for (let it = 0; it < options.maxIterations && active.some((a) => a); it++) {
    checkInterrupt("conjugate gradients");
    iterations = it + 1;
    const AP = applyActive(apply, P, active);
    const pAp = columnDots(P, AP);
    const alpha = new Float64Array(t);
    for (let c = 0; c < t; c++) alpha[c] = active[c] && pAp[c] > 0 ? rz[c] / pAp[c] : 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < t; c++) {
        const a = alpha[c];
        if (a === 0) continue;
        X.data[i * t + c] += a * P.data[i * t + c];
        R.data[i * t + c] -= a * AP.data[i * t + c];
      }
    }
    const rNorm = columnNorms(R);
    // Columns that converge here need no new direction: test them before preconditioning,
    // so P^{-1} runs on the columns still iterating only (none after the last iteration).
    const stepped = active.slice();
    for (let c = 0; c < t; c++) {
      if (!active[c]) continue;
      relRes[c] = rNorm[c] / bNorm[c];
      if (relRes[c] < tolerance[c] || pAp[c] <= 0) active[c] = 0;
    }
    const Z = preconditionActive(precondition, R, active);
    const rzNew = columnDots(R, Z);
    const beta = new Float64Array(t);
    for (let c = 0; c < t; c++) {
      if (!stepped[c]) continue;
      // A column's last beta is never read by its tridiagonal (lanczosFromCG): 0 once it stopped.
      beta[c] = active[c] && rz[c] > 0 ? rzNew[c] / rz[c] : 0;
      const k = tracked.indexOf(c);
      if (k >= 0) {
        alphas[k].push(alpha[c]);
        betas[k].push(beta[c]);
      }
      rz[c] = rzNew[c];
    }
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < t; c++) {
        if (active[c]) P.data[i * t + c] = Z.data[i * t + c] + beta[c] * P.data[i * t + c];
      }
    }
  }
  const converged = !active.some((a) => a);
  const tridiagonals = tracked.map((_, k) => lanczosFromCG(alphas[k], betas[k]));
  return { solution: X, iterations, relativeResiduals: relRes, converged, tridiagonals, preconditionedRhs: Z0 };
}

/**
 * A P for the columns still iterating (the others' results are unused): a
 * kernel product costs in proportion to its right-hand sides, so converged
 * columns are dropped from it.
 */
function applyActive(apply: (v: Mat) => Mat, P: Mat, active: Uint8Array): Mat {
  const n = P.rows, t = P.cols;
  const cols: number[] = [];
  for (let c = 0; c < t; c++) if (active[c]) cols.push(c);
  if (cols.length === t) return apply(P);
  const a = cols.length;
  const packed = mat(n, a);
  for (let i = 0; i < n; i++) for (let q = 0; q < a; q++) packed.data[i * a + q] = P.data[i * t + cols[q]];
  const Ap = apply(packed);
  const out = mat(n, t);
  for (let i = 0; i < n; i++) for (let q = 0; q < a; q++) out.data[i * t + cols[q]] = Ap.data[i * a + q];
  return out;
}

/**
 * P^{-1} R for the columns still iterating, zero elsewhere: the preconditioner
 * solve costs in proportion to its columns too, and stopped columns never
 * read theirs.
 */
function preconditionActive(precondition: (v: Mat) => Mat, R: Mat, active: Uint8Array): Mat {
  const n = R.rows, t = R.cols;
  const cols: number[] = [];
  for (let c = 0; c < t; c++) if (active[c]) cols.push(c);
  if (cols.length === t) return precondition(R);
  const out = mat(n, t);
  const a = cols.length;
  if (a === 0) return out;
  const packed = mat(n, a);
  for (let i = 0; i < n; i++) for (let q = 0; q < a; q++) packed.data[i * a + q] = R.data[i * t + cols[q]];
  const Zp = precondition(packed);
  for (let i = 0; i < n; i++) for (let q = 0; q < a; q++) out.data[i * t + cols[q]] = Zp.data[i * a + q];
  return out;
}

/** T_jj = 1/a_j + b_{j-1}/a_{j-1}, T_{j,j+1} = sqrt(b_j)/a_j. */
function lanczosFromCG(alpha: number[], beta: number[]): { diag: Float64Array; offDiag: Float64Array } {
  const k = alpha.length;
  const diag = new Float64Array(k);
  const offDiag = new Float64Array(Math.max(0, k - 1));
  for (let j = 0; j < k; j++) {
    diag[j] = 1 / alpha[j] + (j > 0 ? beta[j - 1] / alpha[j - 1] : 0);
    if (j < k - 1) offDiag[j] = Math.sqrt(Math.max(0, beta[j])) / alpha[j];
  }
  return { diag, offDiag };
}

export function columnDots(A: Mat, B: Mat): Float64Array {
  const t = A.cols;
  const out = new Float64Array(t);
  for (let i = 0; i < A.rows; i++) for (let c = 0; c < t; c++) out[c] += A.data[i * t + c] * B.data[i * t + c];
  return out;
}

export function columnNorms(A: Mat): Float64Array {
  return columnDots(A, A).map(Math.sqrt);
}
