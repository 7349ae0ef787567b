// The exact multitask training system K_x (x) B + I_n (x) Sigma over n points
// and T tasks (point-major like GPyTorch), solved through its Kronecker
// structure instead of as one (nT) x (nT) matrix. With Sigma = C C^T and the
// eigendecomposition C^{-1} B C^{-T} = U diag(lambda) U^T (T x T, Jacobi):
//   K_x (x) B + I (x) Sigma = (I (x) P) (K_x (x) diag(lambda) + I) (I (x) P^T),  P = C U
// and the middle factor is T independent n x n systems (lambda_a K_x + I).
// So for R [n, T]:  solve = ((R P^{-T}) column a solved with lambda_a K_x + I) P^{-1},
// log det = sum_a log det(lambda_a K_x + I) + n log det Sigma.
// Each (lambda_a K_x + I) uses a Cholesky factor of a dense K_x up to
// maxCholeskySize, and the lazy operator's CG/SLQ path above it.

import { choleskyLogdet, choleskySolve, choleskyWithJitter, solveLower, solveLowerTransposed } from "../algorithms/cholesky";
import { type Mat, identity, mat, transposeMat } from "../algorithms/matrix";
import type { ResolvedSolveOptions } from "../algorithms/settings";
import { symmetricEigen } from "../algorithms/symmetricEigen";
import type { LinearOperator } from "../operators/LinearOperator";

export class MultitaskSystem {
  readonly n: number;
  readonly T: number;
  /** Eigenvalues of C^{-1} B C^{-T} (clamped at 0). shape: [T] */
  readonly lambdas: Float64Array;
  /** P = C U. shape: [T, T] */
  readonly P: Mat;
  /** P^{-1}. shape: [T, T] */
  readonly Pinv: Mat;
  /** Dense K_x when n <= maxCholeskySize. */
  readonly Kdense: Mat | null;
  /** Cholesky factors of lambda_a K_x + I (dense path). */
  readonly factors: Mat[] | null;
  private readonly Sigma: Float64Array;

  /** shapes: Kx [n, n], B [T, T], Sigma [T, T] (row-major) */
  constructor(readonly Kx: LinearOperator, readonly B: Float64Array, Sigma: Float64Array, readonly options: ResolvedSolveOptions) {
    const n = Kx.shape[0], T = Math.round(Math.sqrt(B.length));
    this.n = n;
    this.T = T;
    this.Sigma = Sigma;
    const C = choleskyWithJitter(mat(T, T, Float64Array.from(Sigma)), "task noise covariance").L;
    // C^{-1} B C^{-T}
    const CinvB = solveLower(C, mat(T, T, Float64Array.from(B)));
    const Bt = transposeMat(solveLower(C, transposeMat(CinvB)));
    for (let a = 0; a < T; a++) for (let b = 0; b < a; b++) Bt.data[a * T + b] = Bt.data[b * T + a] = 0.5 * (Bt.data[a * T + b] + Bt.data[b * T + a]);
    const { values, vectors } = symmetricEigen(Bt);
    this.lambdas = values.map((v) => Math.max(v, 0));
    this.P = mat(T, T);
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) for (let k = 0; k <= i; k++) this.P.data[i * T + j] += C.data[i * T + k] * vectors.data[k * T + j];
    // P^{-1} = U^T C^{-1}
    const Cinv = solveLower(C, identity(T));
    this.Pinv = mat(T, T);
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) for (let k = 0; k < T; k++) this.Pinv.data[i * T + j] += vectors.data[k * T + i] * Cinv.data[k * T + j];
    if (n <= options.maxCholeskySize) {
      this.Kdense = Kx.toDenseF64({ maxBytes: options.maxDenseBytes });
      this.factors = Array.from(this.lambdas, (lam) => {
        const A = mat(n, n);
        for (let i = 0; i < n * n; i++) A.data[i] = lam * (this.Kdense as Mat).data[i];
        for (let i = 0; i < n; i++) A.data[i * n + i] += 1;
        return choleskyWithJitter(A, "lambda K_x + I").L;
      });
    } else {
      this.Kdense = null;
      this.factors = null;
    }
  }

  /** (lambda_a K_x + I)^{-1} V. shape: V [n, k] */
  solveTask(a: number, V: Mat): Mat {
    if (this.factors) return choleskySolve(this.factors[a], V);
    return this.Kx.mul(this.lambdas[a]).addDiagonal(1).solveF64(V, this.options);
  }

  /** (K_x (x) B + I (x) Sigma)^{-1} vec(R). shapes: R [n, T] -> [n, T] */
  solve(R: Mat): Mat {
    const { n, T } = this;
    const Rt = matmulT(R, this.Pinv); // R P^{-T}: rows r_i -> P^{-1} r_i
    const S = mat(n, T);
    for (let a = 0; a < T; a++) {
      const col = mat(n, 1, Float64Array.from({ length: n }, (_, i) => Rt.data[i * T + a]));
      const s = this.solveTask(a, col);
      for (let i = 0; i < n; i++) S.data[i * T + a] = s.data[i];
    }
    // rows s_i -> P^{-T} s_i, i.e. S P^{-1}
    const out = mat(n, T);
    for (let i = 0; i < n; i++) for (let t = 0; t < T; t++) for (let a = 0; a < T; a++) out.data[i * T + t] += S.data[i * T + a] * this.Pinv.data[a * T + t];
    return out;
  }

  logdet(): number {
    const { n, T } = this;
    let s = 0;
    for (let a = 0; a < T; a++) {
      s += this.factors ? choleskyLogdet(this.factors[a]) : this.Kx.mul(this.lambdas[a]).addDiagonal(1).logdetF64(this.options);
    }
    const C = choleskyWithJitter(mat(T, T, Float64Array.from(this.Sigma)), "task noise covariance").L;
    return s + n * choleskyLogdet(C);
  }

  /** q_a(j) = k_j^T (lambda_a K_x + I)^{-1} k_j for the columns k_j of Kxs [n, s]. shape: [T, s] */
  quadForms(Kxs: Mat): Mat {
    const s = Kxs.cols, T = this.T;
    const out = mat(T, s);
    for (let a = 0; a < T; a++) {
      if (this.factors) {
        const V = solveLower(this.factors[a], Kxs);
        for (let i = 0; i < this.n; i++) for (let j = 0; j < s; j++) out.data[a * s + j] += V.data[i * s + j] ** 2;
      } else {
        const V = this.solveTask(a, Kxs);
        for (let i = 0; i < this.n; i++) for (let j = 0; j < s; j++) out.data[a * s + j] += V.data[i * s + j] * Kxs.data[i * s + j];
      }
    }
    return out;
  }

  /** (lambda_a K_x + I)^{-1} as a dense matrix (dense path only, for gradients). */
  inverse(a: number): Mat {
    const L = this.factors?.[a];
    if (!L) throw new Error("dense inverses need n <= maxCholeskySize");
    return solveLowerTransposed(L, solveLower(L, identity(this.n)));
  }
}

/** a b^T. shapes: [n, k], [m, k] -> [n, m] */
function matmulT(a: Mat, b: Mat): Mat {
  const out = mat(a.rows, b.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.rows; j++) {
      let s = 0;
      for (let k = 0; k < a.cols; k++) s += a.data[i * a.cols + k] * b.data[j * b.cols + k];
      out.data[i * b.rows + j] = s;
    }
  }
  return out;
}
