import type * as tf from "@tensorflow/tfjs-core";
import { solveLower, solveLowerTransposed } from "../algorithms/cholesky";
import { type Mat, transposeMat } from "../algorithms/matrix";
import type { SolveOptions } from "../algorithms/settings";
import { NotPSDError, ShapeError } from "../errors";
import { toMat } from "../tensorLike";
import { DenseLinearOperator } from "./DenseLinearOperator";
import type { LinearOperator, StructureNode } from "./LinearOperator";

/**
 * A lower (or upper) triangular matrix such as a Cholesky factor: solves by
 * substitution, log det = sum log diag. Entries on the other side of the
 * diagonal are ignored (treated as 0).
 */
export class TriangularLinearOperator extends DenseLinearOperator {
  constructor(
    matrix: Mat | tf.Tensor2D | number[][],
    /** Whether the matrix is upper (else lower) triangular. */
    readonly upper = false,
  ) {
    const m = toMat(matrix, "triangular matrix");
    if (m.rows !== m.cols) throw new ShapeError(`a triangular operator must be square, got ${m.rows} x ${m.cols}`);
    const clean = { rows: m.rows, cols: m.cols, data: m.data.slice() };
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < m.cols; j++) if (upper ? j < i : j > i) clean.data[i * m.cols + j] = 0;
    }
    super(clean);
  }

  override get symmetric(): boolean {
    return false;
  }
  protected override get hasStructuredSolves(): boolean {
    return true;
  }

  override transpose(): LinearOperator {
    return new TriangularLinearOperator(transposeMat(this.matrix), !this.upper);
  }

  override structure(): StructureNode {
    return { label: this.upper ? "Triangular[upper]" : "Triangular", shape: this.shape, children: [] };
  }

  override solveF64(rhs: Mat, _options: SolveOptions = {}): Mat {
    this.checkRhs(rhs);
    this.requireNonsingular();
    this.lastSolveReport = { method: "structured", detail: "triangular substitution" };
    // An upper triangular U is L^T for L = U^T.
    return this.upper ? solveLowerTransposed(transposeMat(this.matrix), rhs) : solveLower(this.matrix, rhs);
  }

  /** log det = sum log diag (requires a positive diagonal, as for a Cholesky factor). */
  override logdetF64(): number {
    this.requireNonsingular();
    let s = 0;
    for (let i = 0; i < this.shape[0]; i++) s += Math.log(this.matrix.data[i * this.shape[0] + i]);
    return s;
  }

  private requireNonsingular(): void {
    for (let i = 0; i < this.shape[0]; i++) {
      const d = this.matrix.data[i * this.shape[0] + i];
      if (!(d > 0)) throw new NotPSDError(`triangular diagonal entry ${i} is ${d}; solves and logdet need a positive diagonal (a Cholesky factor)`);
    }
  }
}
