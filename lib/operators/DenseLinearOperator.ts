import type * as tf from "@tensorflow/tfjs-core";
import { type Mat, cloneMat, matmulMat, transposeMat } from "../algorithms/matrix";
import { toMat } from "../tensorLike";
import { LinearOperator, type StructureNode } from "./LinearOperator";

/** An explicit matrix. shape: [n, m] */
export class DenseLinearOperator extends LinearOperator {
  readonly shape: readonly [number, number];
  /** The entries, f64. shape: [n, m] */
  readonly matrix: Mat;

  constructor(matrix: tf.Tensor2D | number[][] | Mat) {
    super();
    this.matrix = toMat(matrix, "dense matrix");
    this.shape = [this.matrix.rows, this.matrix.cols];
  }

  override get symmetric(): boolean {
    if (this.isSymmetric === undefined) {
      const { rows: n, cols: m, data } = this.matrix;
      let sym = n === m;
      for (let i = 0; sym && i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const a = data[i * n + j], b = data[j * n + i];
          if (Math.abs(a - b) > 1e-10 * Math.max(1, Math.abs(a), Math.abs(b))) {
            sym = false;
            break;
          }
        }
      }
      this.isSymmetric = sym;
    }
    return this.isSymmetric;
  }
  private isSymmetric: boolean | undefined;

  matmulF64(rhs: Mat): Mat {
    return matmulMat(this.matrix, this.checkRhs(rhs));
  }

  diagonalF64(): Float64Array {
    const k = Math.min(this.shape[0], this.shape[1]);
    const out = new Float64Array(k);
    for (let i = 0; i < k; i++) out[i] = this.matrix.data[i * this.shape[1] + i];
    return out;
  }

  entriesF64(rows: Int32Array, cols: Int32Array): Float64Array {
    const out = new Float64Array(rows.length);
    for (let p = 0; p < rows.length; p++) out[p] = this.matrix.data[rows[p] * this.shape[1] + cols[p]];
    return out;
  }

  override rowsF64(idx: Int32Array): Mat {
    const m = this.shape[1];
    const out = new Float64Array(idx.length * m);
    idx.forEach((i, a) => out.set(this.matrix.data.subarray(i * m, (i + 1) * m), a * m));
    return { rows: idx.length, cols: m, data: out };
  }

  protected override materialise(): Mat {
    return cloneMat(this.matrix);
  }

  transpose(): LinearOperator {
    return new DenseLinearOperator(transposeMat(this.matrix));
  }

  structure(): StructureNode {
    return { label: "Dense", shape: this.shape, children: [] };
  }
}
