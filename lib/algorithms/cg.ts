// Preconditioned conjugate gradients on several right-hand sides at once
// (one operator product per iteration for all columns), in f64. Records each
// column's CG coefficients, from which the Lanczos tridiagonal of the
// preconditioned operator follows (GPyTorch's mBCG); stochastic Lanczos
// quadrature reads log-determinants from those.
//
// Columns without a tridiagonal (solves, not probes) may finish early: once
// they are all that is left, each tries the Galerkin correction over every
// search direction taken so far by every column (their products are already
// known, so it costs no product), and stops if that meets its tolerance.
// This saves the tail where a solve with a tighter tolerance than the probes
// would run its last iterations, each a full kernel product, alone.

import { checkInterrupt } from "../reductions/interrupt";
import { type Mat, mat, matmulTransposedRight } from "./matrix";
import { symmetricEigen } from "./symmetricEigen";

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
  const untracked = Array.from({ length: t }, (_, c) => !tracked.includes(c));
  // Kept only when a solve column runs beside others: with one column the Galerkin space is its own
  // Krylov space, where CG is already optimal.
  let store = t > 1 && untracked.some((u) => u) ? new DirectionStore(n, t) : null;
  // Too little room (very large n) to hold more than one iteration's directions: no use.
  if (store && store.capacity <= t) store = null;
  const tolerance = typeof options.tolerance === "number" ? new Float64Array(t).fill(options.tolerance) : options.tolerance;
  for (let it = 0; it < options.maxIterations && active.some((a) => a); it++) {
    checkInterrupt("conjugate gradients");
    iterations = it + 1;
    const AP = applyActive(apply, P, active);
    if (store) for (let c = 0; c < t; c++) if (active[c]) store.add(c, P, AP);
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
    if (store && active.some((a, c) => a && untracked[c]) && active.every((a, c) => !a || untracked[c]) && store.hasOtherThan(active)) {
      for (let c = 0; c < t; c++) {
        if (!active[c]) continue;
        const relative = store.galerkinFinish(X, R, c, bNorm[c] * tolerance[c]);
        if (relative !== null) {
          relRes[c] = relative / bNorm[c];
          active[c] = 0;
        }
      }
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

/** At most this many directions are kept for the Galerkin finish ... */
const MAX_DIRECTIONS = 64;
/** ... and at most this many bytes (directions and their products). */
const DIRECTION_BYTES = 64 * 2 ** 20;

/**
 * Every search direction p and its product A p so far (of any column), one per
 * row, in the order taken (the first ones once full), for the Galerkin finish.
 */
class DirectionStore {
  /** Directions it may keep. */
  readonly capacity: number;
  /** shape: [room, n], the first owners.length rows filled */
  private dirs: Float64Array;
  /** A dirs. shape: [room, n] */
  private products: Float64Array;
  private readonly owners: number[] = [];

  /** t: the columns of the solve; room for two iterations of all of them at first, doubling to capacity. */
  constructor(private readonly n: number, t: number) {
    this.capacity = Math.max(0, Math.min(MAX_DIRECTIONS, Math.floor(DIRECTION_BYTES / (16 * n))));
    const room = Math.min(this.capacity, 2 * t);
    this.dirs = new Float64Array(room * n);
    this.products = new Float64Array(room * n);
  }

  /** Keeps column c of P and AP (shape: [n, t]) while there is room. */
  add(c: number, P: Mat, AP: Mat): void {
    const s = this.owners.length, n = this.n;
    if (s === this.capacity) return;
    if ((s + 1) * n > this.dirs.length) {
      const room = Math.min(this.capacity, 2 * s);
      const dirs = new Float64Array(room * n), products = new Float64Array(room * n);
      dirs.set(this.dirs.subarray(0, s * n));
      products.set(this.products.subarray(0, s * n));
      this.dirs = dirs;
      this.products = products;
    }
    const t = P.cols, row = s * n;
    for (let i = 0; i < n; i++) {
      this.dirs[row + i] = P.data[i * t + c];
      this.products[row + i] = AP.data[i * t + c];
    }
    this.owners.push(c);
  }

  /** Whether some kept direction belongs to a column that is not active. */
  hasOtherThan(active: Uint8Array): boolean {
    return this.owners.some((c) => !active[c]);
  }

  /**
   * Column c's Galerkin correction over the kept directions D: x + D^T w with
   * (D A D^T) w = D r, residual r - (A D)^T w. When that residual's norm is
   * below `target`, writes it into X and R (shape: [n, t]) and returns the
   * norm; otherwise changes nothing (the column's CG recurrence goes on) and
   * returns null.
   */
  galerkinFinish(X: Mat, R: Mat, c: number, target: number): number | null {
    const n = this.n, s = this.owners.length, t = X.cols;
    const D = mat(s, n, this.dirs.subarray(0, s * n));
    const AD = mat(s, n, this.products.subarray(0, s * n));
    const G = matmulTransposedRight(D, AD).data; // D A D^T, symmetric up to rounding
    const g = new Float64Array(s);
    for (let q = 0; q < s; q++) {
      const row = q * n;
      let v = 0;
      for (let i = 0; i < n; i++) v += this.dirs[row + i] * R.data[i * t + c];
      g[q] = v;
    }
    // Directions differ in scale (columns, iterations): solve with G scaled to a unit diagonal.
    const scale = new Float64Array(s);
    for (let a = 0; a < s; a++) scale[a] = G[a * s + a] > 0 ? 1 / Math.sqrt(G[a * s + a]) : 0;
    const sym = mat(s, s);
    for (let a = 0; a < s; a++) for (let b = 0; b < s; b++) sym.data[a * s + b] = ((G[a * s + b] + G[b * s + a]) / 2) * scale[a] * scale[b];
    for (let a = 0; a < s; a++) g[a] *= scale[a];
    // Directions of different columns can be nearly dependent: solve on the eigenvectors that are not.
    const { values, vectors } = symmetricEigen(sym);
    const top = values[s - 1];
    const w = new Float64Array(s);
    for (let k = 0; k < s; k++) {
      if (!(values[k] > 1e-12 * top)) continue;
      let proj = 0;
      for (let a = 0; a < s; a++) proj += vectors.data[a * s + k] * g[a];
      proj /= values[k];
      for (let a = 0; a < s; a++) w[a] += vectors.data[a * s + k] * proj;
    }
    for (let a = 0; a < s; a++) w[a] *= scale[a];
    const r = new Float64Array(n);
    for (let i = 0; i < n; i++) r[i] = R.data[i * t + c];
    for (let q = 0; q < s; q++) {
      const wq = w[q], row = q * n;
      if (wq !== 0) for (let i = 0; i < n; i++) r[i] -= wq * this.products[row + i];
    }
    let corrected = 0;
    for (let i = 0; i < n; i++) corrected += r[i] * r[i];
    if (!(Math.sqrt(corrected) < target)) return null;
    for (let i = 0; i < n; i++) R.data[i * t + c] = r[i];
    for (let q = 0; q < s; q++) {
      const wq = w[q], row = q * n;
      if (wq !== 0) for (let i = 0; i < n; i++) X.data[i * t + c] += wq * this.dirs[row + i];
    }
    return Math.sqrt(corrected);
  }
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
