// LinearOperator: a matrix known by what it can do (products, diagonal,
// entries, solves) rather than by its entries. Subclasses implement the f64
// core (matmulF64, diagonalF64, entriesF64, transpose, structure) and
// override the fast paths their structure allows. Public methods take and
// return tf tensors; the *F64 methods are the precise core the models use.

import type * as tf from "@tensorflow/tfjs-core";
import { choleskyLogdet, choleskySolve, choleskyWithJitter } from "../algorithms/cholesky";
import { type IterativeReport, type IterativeResult, iterativeSolve } from "../algorithms/iterative";
import { lanczos, lanczosRoot } from "../algorithms/lanczos";
import type { LowRankPlusDiag } from "../algorithms/lowRankPlusDiag";
import { type Mat, mat } from "../algorithms/matrix";
import { type ResolvedSolveOptions, type SolveOptions, formatBytes, resolveSolveOptions } from "../algorithms/settings";
import { sharedF64 } from "../reductions/fusedExecutor";
import { JUPYTER_DISPLAY, type MimeBundle, renderBundle } from "../displayHooks";
import { ArgumentError, DenseTooLargeError, ShapeError } from "../errors";
import { type TensorLike, matToTensor, toMat, toVector, vectorToTensor } from "../tensorLike";

/**
 * The reused buffer of the dense copy that choleskyFactor factors (a fresh
 * n x n array costs its page faults on every training iteration: ~0.25 ms
 * at n = 354, ~2 ms at 800). Held only up to MAX_FACTOR_SCRATCH_BYTES.
 */
let factorScratch: Float64Array | null = null;
const MAX_FACTOR_SCRATCH_BYTES = 64 * 2 ** 20;

/** One node of an operator's structure tree, for display and reports. */
export interface StructureNode {
  /** e.g. "AddedDiag", "Kernel[RBF]", "Dense". */
  label: string;
  /** [rows, columns] of this node's matrix. */
  shape: readonly [number, number];
  /** The operators this one is built from (empty for a leaf). */
  children: StructureNode[];
}

/** Options of `toDense` / `toDenseF64`. */
export interface DenseOptions {
  /** Refuse when the dense f64 matrix would take more bytes (default 1 GiB). */
  maxBytes?: number;
}

/** How the last solve / logdet of an operator was computed. */
export type SolveReport =
  | {
      /** Dense f64 Cholesky (at or below maxCholeskySize). */
      method: "cholesky";
      /** n of the n x n matrix factored. */
      size: number;
      /** Diagonal jitter the factorisation needed (0, or a step of the ladder 1e-6 -> 1e-4). */
      jitter: number;
    }
  | (IterativeReport & {
      /** Whether CG multiplied with a dense copy (it fit `denseCacheBytes`) instead of the lazy operator. */
      materialised: boolean;
      /** Bytes of that dense copy (0 when not materialised). */
      materialisedBytes: number;
    })
  | {
      /** An exact algorithm of the operator's structure (diagonal, Kronecker, block diagonal, ...). */
      method: "structured";
      /** Which one, in words. */
      detail: string;
    };

/** The result of `invQuadLogdet`. */
export interface InvQuadLogdet {
  /** Σ over columns of rhsᵀ A⁻¹ rhs. */
  invQuad: number;
  /** log det A (NaN when not asked for). */
  logdet: number;
}

export const DEFAULT_MAX_DENSE_BYTES = 2 ** 30;

/**
 * A lazy matrix known by what it can do — products, diagonal, entries, solves — rather than by its entries
 * (linear_operator's LinearOperator). Public methods take and return tf tensors; the `*F64` methods are the
 * exact float64 core that models use. A subclass implements `matmulF64`, `diagonalF64`, `entriesF64`,
 * `transpose` and `structure`, and overrides what its structure makes faster.
 */
export abstract class LinearOperator {
  /** [rows, columns] */
  abstract readonly shape: readonly [number, number];
  /** Every operator computes in float64 (tensors it returns are float32 copies). */
  readonly dtype = "float64" as const;

  /** A rhs. shapes: [n, m] @ [m, t] -> [n, t] */
  abstract matmulF64(rhs: Mat): Mat;
  /** Main diagonal, O(n) for every structured operator. shape: [min(n, m)] */
  abstract diagonalF64(): Float64Array;
  /** Entries A[rows[p], cols[p]]. shape: [p] */
  abstract entriesF64(rows: Int32Array, cols: Int32Array): Float64Array;
  /** Aᵀ, lazy. */
  abstract transpose(): LinearOperator;
  /** The tree of operators this one is built from, for display and `describe()`. */
  abstract structure(): StructureNode;

  /**
   * True when the subclass overrides solveF64 / logdetF64 with exact
   * structured algorithms (Diag, Kronecker, BlockDiag, ...), so generic code
   * must not densify it.
   */
  protected get hasStructuredSolves(): boolean {
    return false;
  }

  /** Whether A = A^T by construction (kernel K(x, x), diagonals, sums of those). */
  get symmetric(): boolean {
    return false;
  }

  /** How the most recent solve/logdet ran (Cholesky or CG, iterations, ...). */
  lastSolveReport: SolveReport | null = null;

  // ---------------------------------------------------------------- public tf API

  /** A @ rhs. shapes: [n, m] @ [m, t] -> [n, t] (a vector rhs is [m, 1]). */
  matmul(rhs: TensorLike): tf.Tensor2D {
    return matToTensor(this.matmulF64(this.checkRhs(toMat(rhs, "right-hand side"))));
  }

  /** The main diagonal without forming the matrix, O(n) for every structured operator. shape: [min(n, m)] */
  diagonal(): tf.Tensor1D {
    return vectorToTensor(this.diagonalF64());
  }

  /** Entries at index pairs. */
  getIndices(rows: ArrayLike<number>, cols: ArrayLike<number>): tf.Tensor1D {
    return vectorToTensor(this.entriesF64(this.indexArray(rows, this.shape[0], "row"), this.indexArray(cols, this.shape[1], "column")));
  }

  /** Whole rows. shape: [idx.length, m] */
  rows(idx: ArrayLike<number>): tf.Tensor2D {
    return matToTensor(this.rowsF64(this.indexArray(idx, this.shape[0], "row")));
  }

  /** The dense matrix as a float32 tensor; refuses above `maxBytes` of f64. */
  toDense(options: DenseOptions = {}): tf.Tensor2D {
    return matToTensor(this.toDenseF64(options));
  }

  /** A^{-1} rhs for symmetric positive-definite A. shape: [n, t] */
  async solve(rhs: TensorLike, options: SolveOptions = {}): Promise<tf.Tensor2D> {
    return matToTensor(this.solveF64(toMat(rhs, "right-hand side"), options));
  }

  /** log det A for symmetric positive-definite A: Cholesky at or below `maxCholeskySize`, stochastic Lanczos quadrature above. */
  async logdet(options: SolveOptions = {}): Promise<number> {
    return this.logdetF64(options);
  }

  /** sum_columns rhs^T A^{-1} rhs and log det A, sharing one solve. */
  async invQuadLogdet(rhs: TensorLike, options: SolveOptions & { logdet?: boolean } = {}): Promise<InvQuadLogdet> {
    return this.invQuadLogdetF64(toMat(rhs, "right-hand side"), options);
  }

  // ------------------------------------------------------------------ algebra

  /** A + B: Diag + Diag stays Diag, K + Diag is AddedDiag, anything else is Sum. */
  add(other: LinearOperator | TensorLike): LinearOperator {
    const b = other instanceof LinearOperator ? other : denseFrom(other);
    if (b.shape[0] !== this.shape[0] || b.shape[1] !== this.shape[1]) {
      throw new ShapeError(`cannot add ${fmtShape(this.shape)} and ${fmtShape(b.shape)} operators: shapes differ`);
    }
    return algebra.add(this, b);
  }

  /** c * A for a number c. (Elementwise products of kernels: use kernel.mul(kernel).) */
  mul(c: number | LinearOperator): LinearOperator {
    if (typeof c !== "number") {
      throw new ArgumentError("LinearOperator.mul takes a number; for the elementwise product of two kernels use k1.mul(k2) on the kernels");
    }
    if (!Number.isFinite(c)) throw new ArgumentError(`cannot scale an operator by ${c}`);
    return algebra.scale(this, c);
  }

  /** A + diag(d): d a number (constant) or a vector [n]. */
  addDiagonal(d: number | TensorLike): LinearOperator {
    this.requireSquare("addDiagonal");
    const diag = typeof d === "number" ? algebra.constantDiag(d, this.shape[0]) : algebra.diag(toVector(d, "diagonal"));
    if (diag.shape[0] !== this.shape[0]) throw new ShapeError(`addDiagonal: operator is ${fmtShape(this.shape)} but the diagonal has ${diag.shape[0]} entries`);
    return this.add(diag);
  }

  // ------------------------------------------------------------------ f64 core

  /** `rows` in f64. shape: [idx.length, m] */
  rowsF64(idx: Int32Array): Mat {
    const m = this.shape[1];
    const rows = new Int32Array(idx.length * m);
    const cols = new Int32Array(idx.length * m);
    for (let a = 0; a < idx.length; a++) {
      for (let j = 0; j < m; j++) {
        rows[a * m + j] = idx[a];
        cols[a * m + j] = j;
      }
    }
    return mat(idx.length, m, this.entriesF64(rows, cols));
  }

  /**
   * Row sums over contiguous column blocks: A @ B with B[j, c] = 1 when
   * colStarts[c] <= j < colStarts[c + 1]. shape: [n, colStarts.length - 1]
   * Lazy operators override this with one pass over the pairs.
   */
  columnBlockSumsF64(colStarts: Int32Array): Mat {
    const m = this.shape[1];
    const bc = colStarts.length - 1;
    const B = mat(m, bc);
    for (let c = 0; c < bc; c++) for (let j = colStarts[c]; j < colStarts[c + 1]; j++) B.data[j * bc + c] = 1;
    return this.matmulF64(B);
  }

  /** `toDense` in f64; throws DenseTooLargeError above `options.maxBytes` (default 1 GiB). */
  toDenseF64(options: DenseOptions = {}): Mat {
    this.checkDenseBytes(options);
    return this.materialise();
  }

  /**
   * The dense f64 matrix for a caller that reads it once and reuses `out`
   * (length >= n m): written there where the operator can, else a fresh
   * array. With `lowerOnly` a square operator may leave the strict upper
   * triangle unspecified (a Cholesky factorisation reads only the lower one).
   * Callers have checked the budget.
   * @internal
   */
  denseF64Into(_out: Float64Array, _lowerOnly = false): Mat {
    return this.materialise();
  }

  private checkDenseBytes(options: DenseOptions): void {
    const [n, m] = this.shape;
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_DENSE_BYTES;
    const bytes = n * m * 8;
    if (bytes > maxBytes) {
      throw new DenseTooLargeError(
        `toDense would need ${formatBytes(bytes)} for this ${fmtShape(this.shape)} float64 matrix, above the ${formatBytes(maxBytes)} budget. ` +
          `Use matmul(v), diagonal(), rows(idx) or getIndices(i, j), which never store the whole matrix, or pass { maxBytes } if you really have the memory.`,
        bytes,
        maxBytes,
      );
    }
  }

  /** Dense f64 copy; callers have checked the budget. */
  protected materialise(): Mat {
    const idx = Int32Array.from({ length: this.shape[0] }, (_, i) => i);
    return this.rowsF64(idx);
  }

  /** `solve` in f64: A⁻¹ rhs. shape: [n, t] */
  solveF64(rhs: Mat, options: SolveOptions = {}): Mat {
    this.requireSquare("solve");
    this.checkRhs(rhs);
    const o = resolveSolveOptions(options);
    if (this.shape[0] <= o.maxCholeskySize) return choleskySolve(this.choleskyFactor(o), rhs);
    return this.iterative(rhs, false, o).solution;
  }

  /** `logdet` in f64. */
  logdetF64(options: SolveOptions = {}): number {
    this.requireSquare("logdet");
    const o = resolveSolveOptions(options);
    if (this.shape[0] <= o.maxCholeskySize) return choleskyLogdet(this.choleskyFactor(o));
    return this.iterative(null, true, o).logdet;
  }

  /** `invQuadLogdet` in f64; `options.logdet: false` skips the log-determinant. */
  invQuadLogdetF64(rhs: Mat, options: SolveOptions & { logdet?: boolean } = {}): InvQuadLogdet {
    this.requireSquare("invQuadLogdet");
    this.checkRhs(rhs);
    const o = resolveSolveOptions(options);
    const wantLogdet = options.logdet ?? true;
    let solution: Mat;
    let logdet = Number.NaN;
    if (this.hasStructuredSolves) {
      solution = this.solveF64(rhs, options);
      if (wantLogdet) logdet = this.logdetF64(options);
    } else if (this.shape[0] <= o.maxCholeskySize) {
      const L = this.choleskyFactor(o);
      solution = choleskySolve(L, rhs);
      if (wantLogdet) logdet = choleskyLogdet(L);
    } else {
      const r = this.iterative(rhs, wantLogdet, o);
      solution = r.solution;
      logdet = r.logdet;
    }
    let invQuad = 0;
    for (let i = 0; i < rhs.data.length; i++) invQuad += rhs.data[i] * solution.data[i];
    return { invQuad, logdet };
  }

  /**
   * R with R R^T ~ A: the Cholesky factor at or below maxCholeskySize, a
   * Lanczos root (rank maxLanczosIterations) above.
   */
  rootDecomposition(options: SolveOptions = {}): LinearOperator {
    this.requireSquare("rootDecomposition");
    const o = resolveSolveOptions(options);
    if (this.shape[0] <= o.maxCholeskySize) return algebra.lowRankRoot(this.choleskyFactor(o));
    const l = lanczos((v) => this.matmulF64(v), this.shape[0], o.maxLanczosIterations, o.random);
    return algebra.lowRankRoot(lanczosRoot(l));
  }

  /**
   * CG / SLQ with this operator's preconditioner; exposed for models that
   * need the probe solves for gradients.
   * @internal
   */
  iterative(rhs: Mat | null, wantLogdet: boolean, o: ResolvedSolveOptions): IterativeResult {
    const { operator, bytes } = this.forRepeatedProducts(o.denseCacheBytes);
    const result = iterativeSolve(
      { size: this.shape[0], apply: (v) => operator.matmulF64(v), preconditioner: this.preconditioner(o) },
      rhs,
      wantLogdet,
      o,
    );
    this.lastSolveReport = { ...result.report, materialised: bytes > 0, materialisedBytes: bytes };
    return result;
  }

  /**
   * Cholesky factor of the dense matrix (jitter ladder), cached per operator.
   * @internal
   */
  choleskyFactor(o: ResolvedSolveOptions = resolveSolveOptions()): Mat {
    if (!this.cachedCholesky) {
      this.checkDenseBytes({ maxBytes: o.maxDenseBytes });
      // The dense copy lives only through the factorisation: a reused buffer, lower triangle only.
      const size = this.shape[0] * this.shape[1];
      // Shared memory, so the fused executor's threads write the kernel matrix into it directly.
      const scratch = factorScratch && factorScratch.length >= size ? factorScratch : sharedF64(size);
      factorScratch = null; // a nested factorisation (inside denseF64Into) takes its own
      try {
        const dense = this.denseF64Into(scratch, true);
        // The description is built only for a warning or error (it costs more than a small factorisation).
        const r = choleskyWithJitter(dense, () => this.describe());
        this.cachedCholesky = r.L;
        this.lastSolveReport = { method: "cholesky", size: this.shape[0], jitter: r.jitter };
      } finally {
        if (size * 8 <= MAX_FACTOR_SCRATCH_BYTES) factorScratch = scratch;
      }
    }
    return this.cachedCholesky;
  }
  private cachedCholesky: Mat | null = null;

  /**
   * A preconditioner for CG (AddedDiag provides pivoted Cholesky + diag).
   * @internal
   */
  preconditioner(_o: ResolvedSolveOptions): LowRankPlusDiag | null {
    return null;
  }

  /**
   * The operator CG should multiply with. Lazy operators whose dense f64 copy
   * fits `budgetBytes` return that copy (built once, reused every iteration).
   * @internal
   */
  forRepeatedProducts(_budgetBytes: number): { operator: LinearOperator; bytes: number } {
    return { operator: this, bytes: 0 };
  }

  // ------------------------------------------------------------------ helpers

  /** "AddedDiag(Kernel[RBF] 1,000 x 1,000, ConstantDiag)" style one-liner. */
  describe(): string {
    return describeNode(this.structure(), true);
  }

  /** One line: structure, shape and dtype. */
  toString(): string {
    return `${this.describe()} [${fmtShape(this.shape)}, float64]`;
  }

  /** The notebook display: structure, diagonal chart and block summary (see gp.display). */
  [JUPYTER_DISPLAY](): MimeBundle | Promise<MimeBundle> {
    return renderBundle("operator", this, () => this.toString());
  }

  /** Throws ShapeError unless the operator is square; `what` names the operation in the message. */
  protected requireSquare(what: string): void {
    if (this.shape[0] !== this.shape[1]) throw new ShapeError(`${what} needs a square operator, this one is ${fmtShape(this.shape)}`);
  }

  /** Throws ShapeError unless `rhs` has as many rows as the operator has columns; returns it. */
  protected checkRhs(rhs: Mat): Mat {
    if (rhs.rows !== this.shape[1]) {
      throw new ShapeError(
        `operator is ${fmtShape(this.shape)} but the right-hand side has ${rhs.rows} rows; it needs ${this.shape[1]} rows (shape [${this.shape[1]}, t])`,
      );
    }
    return rhs;
  }

  private indexArray(idx: ArrayLike<number>, limit: number, what: string): Int32Array {
    const out = Int32Array.from(idx as ArrayLike<number>);
    for (let i = 0; i < out.length; i++) {
      if (out[i] !== idx[i] || out[i] < 0 || out[i] >= limit) {
        throw new ShapeError(`${what} index ${idx[i]} is not an integer in [0, ${limit})`);
      }
    }
    return out;
  }
}

export function fmtShape(shape: readonly [number, number]): string {
  return `${shape[0].toLocaleString("en-US")} x ${shape[1].toLocaleString("en-US")}`;
}

function describeNode(node: StructureNode, top: boolean): string {
  const inner = node.children.length ? `(${node.children.map((c) => describeNode(c, false)).join(", ")})` : "";
  const leafShape = node.children.length === 0 && !top ? ` ${fmtShape(node.shape)}` : "";
  return `${node.label}${inner}${leafShape}`;
}

/**
 * Constructors the base class dispatches to, filled in by operators/algebra.ts
 * (the subclasses import this file, so it cannot import them).
 */
export const algebra = {
  add: (_a: LinearOperator, _b: LinearOperator): LinearOperator => {
    throw new Error("operator algebra not loaded");
  },
  scale: (_a: LinearOperator, _c: number): LinearOperator => {
    throw new Error("operator algebra not loaded");
  },
  diag: (_d: Float64Array): LinearOperator => {
    throw new Error("operator algebra not loaded");
  },
  constantDiag: (_v: number, _n: number): LinearOperator => {
    throw new Error("operator algebra not loaded");
  },
  lowRankRoot: (_r: Mat): LinearOperator => {
    throw new Error("operator algebra not loaded");
  },
  dense: (_m: Mat): LinearOperator => {
    throw new Error("operator algebra not loaded");
  },
};

function denseFrom(x: TensorLike): LinearOperator {
  return algebra.dense(toMat(x, "operand"));
}
