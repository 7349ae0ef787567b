import { type Mat, mat } from "../algorithms/matrix";
import { defaultExecutor } from "../backend/backend";
import {
  type BilinearWeights, type ReductionOptions, pairwiseBilinear, pairwiseColumnBlockSums, pairwiseEntries, pairwiseMatmul, pairwiseRows,
} from "../reductions/engine";
import { type Factor, type Formula, diagonalIsFirstEntry } from "../reductions/formula";
import { DenseLinearOperator } from "./DenseLinearOperator";
import { LinearOperator, type StructureNode } from "./LinearOperator";

/** Options of KernelLinearOperator. */
export interface KernelOperatorOptions {
  /** Shown in structure trees: "Kernel[<label>]" (default: the formula's name). */
  label?: string;
  /** K(x, x): symmetric by construction. */
  symmetric?: boolean;
  /** Executor / threads for every reduction of this operator. */
  reduction?: ReductionOptions;
}

/**
 * The lazy kernel matrix K[i, j] = k(x_i, y_j): every product, diagonal,
 * entry and derivative is a tiled reduction over the formula, so memory is
 * O(n + m) (times the tile), never O(n m). shape: [n, m]
 */
export class KernelLinearOperator extends LinearOperator {
  readonly shape: readonly [number, number];
  /** Its name in structure trees and reports, e.g. "Kernel[RBF]". */
  readonly label: string;
  private readonly isSymmetric: boolean;
  /** The executor settings its reductions use. */
  readonly reductionOptions: ReductionOptions;

  constructor(
    /** The kernel formula the engine evaluates. */
    readonly formula: Formula,
    options: KernelOperatorOptions = {},
  ) {
    super();
    this.shape = [formula.n, formula.m];
    this.label = options.label ?? formula.name;
    this.isSymmetric = options.symmetric ?? false;
    this.reductionOptions = { ...(options.reduction ?? {}), symmetric: this.isSymmetric };
  }

  override get symmetric(): boolean {
    return this.isSymmetric;
  }

  matmulF64(rhs: Mat): Mat {
    this.checkRhs(rhs);
    return mat(this.shape[0], rhs.cols, pairwiseMatmul(this.formula, rhs.data, rhs.cols, this.reductionOptions));
  }

  /**
   * k(x_i, y_i) for each i: n pair evaluations, never the matrix; one where
   * every pair's distance is exactly 0 (a stationary K(x, x) on finite inputs).
   */
  diagonalF64(): Float64Array {
    const k = Math.min(this.shape[0], this.shape[1]);
    if (k > 0 && diagonalIsFirstEntry(this.formula)) {
      return new Float64Array(k).fill(pairwiseEntries(this.formula, Int32Array.of(0), Int32Array.of(0), this.reductionOptions)[0]);
    }
    const idx = Int32Array.from({ length: k }, (_, i) => i);
    return pairwiseEntries(this.formula, idx, idx, this.reductionOptions);
  }

  entriesF64(rows: Int32Array, cols: Int32Array): Float64Array {
    return pairwiseEntries(this.formula, rows, cols, this.reductionOptions);
  }

  override rowsF64(idx: Int32Array): Mat {
    return mat(idx.length, this.shape[1], pairwiseRows(this.formula, idx, this.rowsOptions(idx.length)));
  }

  /** @internal */
  override denseF64Into(out: Float64Array, lowerOnly = false): Mat {
    const n = this.shape[0];
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    return mat(n, this.shape[1], pairwiseRows(this.formula, idx, this.rowsOptions(n), { out, lowerOnly: lowerOnly && this.isSymmetric }));
  }

  /**
   * Every row of K(x, x) is a dense copy for a Cholesky factorisation, which
   * f32 entries can spoil: it comes from the f64 CPU loops even where WGSL runs the rest.
   */
  private rowsOptions(rows: number): ReductionOptions {
    const denseCopy = this.isSymmetric && rows === this.shape[0] && (this.reductionOptions.executor ?? defaultExecutor()) === "webgpu";
    return denseCopy ? { ...this.reductionOptions, executor: "fused" as const } : this.reductionOptions;
  }

  override columnBlockSumsF64(colStarts: Int32Array): Mat {
    return mat(this.shape[0], colStarts.length - 1, pairwiseColumnBlockSums(this.formula, colStarts, this.reductionOptions));
  }

  /**
   * Derivative accumulators of sum_ij M_ij k_ij with respect to the formula's
   * parameters (layout: reductions.gradientLayout). Low-rank M never forms n x m.
   * @internal
   */
  bilinearDerivative(weights: BilinearWeights): Float64Array {
    return pairwiseBilinear(this.formula, weights, this.reductionOptions);
  }

  transpose(): LinearOperator {
    const f = this.formula;
    const factors: Factor[] = f.factors.map((fa) => ({
      ...fa,
      x: fa.y,
      y: fa.x,
      scaledFrom: fa.scaledFrom && { x: fa.scaledFrom.y, y: fa.scaledFrom.x, scale: fa.scaledFrom.scale },
      table: fa.table && fa.tableSize ? transposeTable(fa.table, fa.tableSize) : fa.table,
    }));
    return new KernelLinearOperator(
      { ...f, n: f.m, m: f.n, factors },
      { label: this.label, symmetric: this.isSymmetric, reduction: this.reductionOptions },
    );
  }

  structure(): StructureNode {
    return { label: `Kernel[${this.label}]`, shape: this.shape, children: [] };
  }

  /**
   * CG reuses the operator many times: within the budget, evaluate it once.
   * @internal
   */
  override forRepeatedProducts(budgetBytes: number): { operator: LinearOperator; bytes: number } {
    const bytes = this.shape[0] * this.shape[1] * 8;
    if (budgetBytes <= 0 || bytes > budgetBytes) return { operator: this, bytes: 0 };
    // Reported through lastSolveReport (materialised, materialisedBytes) of the solving operator.
    this.denseCopy ??= new DenseLinearOperator(this.materialise());
    return { operator: this.denseCopy, bytes };
  }
  private denseCopy: DenseLinearOperator | null = null;
}

function transposeTable(t: Float64Array, size: number): Float64Array {
  const out = new Float64Array(t.length);
  for (let a = 0; a < size; a++) for (let b = 0; b < size; b++) out[b * size + a] = t[a * size + b];
  return out;
}
