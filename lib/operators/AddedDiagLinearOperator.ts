import type { LowRankPlusDiag } from "../algorithms/lowRankPlusDiag";
import { LowRankPlusDiag as Woodbury } from "../algorithms/lowRankPlusDiag";
import type { Mat } from "../algorithms/matrix";
import { pivotedCholeskyFactor } from "../algorithms/pivotedCholesky";
import { type ResolvedSolveOptions, type SolveOptions, preconditionerRankFor } from "../algorithms/settings";
import type { DiagLinearOperator } from "./DiagLinearOperator";
import { LinearOperator, type StructureNode } from "./LinearOperator";
import { LowRankRootLinearOperator } from "./LowRankRootLinearOperator";

/**
 * base + diag: the shape of every GP training covariance (K + noise I).
 * Its CG preconditioner is the rank-k pivoted Cholesky of base plus the
 * diagonal; with a low-rank base, solves are exact through Woodbury.
 */
export class AddedDiagLinearOperator extends LinearOperator {
  readonly shape: readonly [number, number];

  constructor(
    /** The operator the diagonal is added to. */
    readonly base: LinearOperator,
    /** The added diagonal. */
    readonly diag: DiagLinearOperator,
  ) {
    super();
    this.shape = base.shape;
  }

  override get symmetric(): boolean {
    return this.base.symmetric;
  }
  protected override get hasStructuredSolves(): boolean {
    return this.woodbury() !== null;
  }

  matmulF64(rhs: Mat): Mat {
    const out = this.base.matmulF64(rhs);
    for (let i = 0; i < rhs.rows; i++) {
      const d = this.diag.valueAt(i);
      for (let c = 0; c < rhs.cols; c++) out.data[i * rhs.cols + c] += d * rhs.data[i * rhs.cols + c];
    }
    return out;
  }

  diagonalF64(): Float64Array {
    const out = this.base.diagonalF64();
    for (let i = 0; i < out.length; i++) out[i] += this.diag.valueAt(i);
    return out;
  }

  entriesF64(rows: Int32Array, cols: Int32Array): Float64Array {
    const out = this.base.entriesF64(rows, cols);
    for (let p = 0; p < rows.length; p++) if (rows[p] === cols[p]) out[p] += this.diag.valueAt(rows[p]);
    return out;
  }

  override rowsF64(idx: Int32Array): Mat {
    const out = this.base.rowsF64(idx);
    idx.forEach((i, a) => (out.data[a * this.shape[1] + i] += this.diag.valueAt(i)));
    return out;
  }

  /** @internal */
  override denseF64Into(buffer: Float64Array, lowerOnly = false): Mat {
    const out = this.base.denseF64Into(buffer, lowerOnly);
    const n = this.shape[0];
    for (let i = 0; i < n; i++) out.data[i * n + i] += this.diag.valueAt(i);
    return out;
  }

  override columnBlockSumsF64(colStarts: Int32Array): Mat {
    const out = this.base.columnBlockSumsF64(colStarts);
    const bc = colStarts.length - 1;
    let c = 0;
    for (let i = 0; i < this.shape[0]; i++) {
      while (c < bc - 1 && i >= colStarts[c + 1]) c++;
      if (i >= colStarts[c] && i < colStarts[c + 1]) out.data[i * bc + c] += this.diag.valueAt(i);
    }
    return out;
  }

  transpose(): LinearOperator {
    return new AddedDiagLinearOperator(this.base.transpose(), this.diag);
  }

  structure(): StructureNode {
    return { label: "AddedDiag", shape: this.shape, children: [this.base.structure(), this.diag.structure()] };
  }

  /** @internal */
  override preconditioner(o: ResolvedSolveOptions): LowRankPlusDiag | null {
    const d = this.diag.diagonalF64();
    const rank = preconditionerRankFor(this.shape[0], o);
    if (!d.every((v) => v > 0) || rank <= 0) return null;
    // Operators are immutable: the CG solve and the MLL gradient that follows share one factorisation.
    if (this.cachedPreconditioner?.rank === rank) return this.cachedPreconditioner.value;
    const base = this.base;
    // The factor stays transposed ([rank, n], as the pivoting builds it): the Woodbury form reads it so.
    const { Lt } = pivotedCholeskyFactor(
      { size: this.shape[0], diagonal: () => base.diagonalF64(), rows: (idx) => base.rowsF64(idx).data, entries: (rows, cols) => base.entriesF64(rows, cols) },
      { maxRank: rank, traceTolerance: 1e-8 },
    );
    const value = new Woodbury(null, d, Lt);
    this.cachedPreconditioner = { rank, value };
    return value;
  }
  private cachedPreconditioner: { rank: number; value: LowRankPlusDiag } | undefined;

  /** @internal */
  override forRepeatedProducts(budgetBytes: number): { operator: LinearOperator; bytes: number } {
    const inner = this.base.forRepeatedProducts(budgetBytes);
    if (inner.bytes === 0) return { operator: this, bytes: 0 };
    return { operator: new AddedDiagLinearOperator(inner.operator, this.diag), bytes: inner.bytes };
  }

  /** Exact Woodbury form when base = R R^T and the diagonal is positive. */
  private woodbury(): LowRankPlusDiag | null {
    if (!(this.base instanceof LowRankRootLinearOperator)) return null;
    const d = this.diag.diagonalF64();
    if (!d.every((v) => v > 0)) return null;
    this.cachedWoodbury ??= new Woodbury(this.base.root, d);
    return this.cachedWoodbury;
  }
  private cachedWoodbury: LowRankPlusDiag | undefined;

  override solveF64(rhs: Mat, options: SolveOptions = {}): Mat {
    const w = this.woodbury();
    if (!w) return super.solveF64(rhs, options);
    this.checkRhs(rhs);
    this.lastSolveReport = { method: "structured", detail: "Woodbury (low rank + diagonal)" };
    return w.solve(rhs);
  }

  override logdetF64(options: SolveOptions = {}): number {
    const w = this.woodbury();
    return w ? w.logdet() : super.logdetF64(options);
  }
}
