import type * as tf from "@tensorflow/tfjs-core";
import { type Mat, mat, matmulMat, matmulTransposedLeft } from "../algorithms/matrix";
import { toMat } from "../tensorLike";
import { LinearOperator, type StructureNode } from "./LinearOperator";

/** R R^T for a root R [n, k]; products cost O(n k). shape: [n, n] */
export class LowRankRootLinearOperator extends LinearOperator {
  readonly shape: readonly [number, number];
  /** shape: [n, k] */
  readonly root: Mat;

  constructor(root: Mat | tf.Tensor2D | number[][]) {
    super();
    this.root = toMat(root, "root");
    this.shape = [this.root.rows, this.root.rows];
  }

  override get symmetric(): boolean {
    return true;
  }

  matmulF64(rhs: Mat): Mat {
    return matmulMat(this.root, matmulTransposedLeft(this.root, this.checkRhs(rhs)));
  }

  diagonalF64(): Float64Array {
    const { rows, cols, data } = this.root;
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) out[i] += data[i * cols + k] ** 2;
    return out;
  }

  entriesF64(rows: Int32Array, cols: Int32Array): Float64Array {
    const k = this.root.cols, d = this.root.data;
    return Float64Array.from(rows, (i, p) => {
      let s = 0;
      for (let c = 0; c < k; c++) s += d[i * k + c] * d[cols[p] * k + c];
      return s;
    });
  }

  override rowsF64(idx: Int32Array): Mat {
    const k = this.root.cols;
    const sub = mat(idx.length, k);
    idx.forEach((i, a) => sub.data.set(this.root.data.subarray(i * k, (i + 1) * k), a * k));
    const out = mat(idx.length, this.shape[0]);
    for (let a = 0; a < idx.length; a++) {
      for (let j = 0; j < this.shape[0]; j++) {
        let s = 0;
        for (let c = 0; c < k; c++) s += sub.data[a * k + c] * this.root.data[j * k + c];
        out.data[a * this.shape[0] + j] = s;
      }
    }
    return out;
  }

  transpose(): LinearOperator {
    return this;
  }

  structure(): StructureNode {
    return { label: `LowRankRoot[rank ${this.root.cols}]`, shape: this.shape, children: [] };
  }
}
