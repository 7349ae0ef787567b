import type * as tf from "@tensorflow/tfjs-core";
import { type Mat, mat } from "../algorithms/matrix";
import type { SolveOptions } from "../algorithms/settings";
import { NotPSDError } from "../errors";
import { toVector } from "../tensorLike";
import { LinearOperator, type StructureNode } from "./LinearOperator";

/** diag(d). O(n) memory; exact solves and log-determinants. shape: [n, n] */
export class DiagLinearOperator extends LinearOperator {
  readonly shape: readonly [number, number];
  private readonly stored: Float64Array;

  constructor(values: tf.Tensor1D | number[] | Float64Array) {
    super();
    this.stored = values instanceof Float64Array && values.length === 0 ? values : Float64Array.from(toVector(values, "diagonal"));
    this.shape = [this.stored.length, this.stored.length];
  }

  /** The diagonal. shape: [n] */
  get values(): Float64Array {
    return this.stored;
  }

  /** The i-th diagonal value (lets Diag and ConstantDiag be used alike). */
  valueAt(i: number): number {
    return this.stored[i];
  }

  override get symmetric(): boolean {
    return true;
  }
  protected override get hasStructuredSolves(): boolean {
    return true;
  }

  matmulF64(rhs: Mat): Mat {
    this.checkRhs(rhs);
    const out = mat(rhs.rows, rhs.cols);
    for (let i = 0; i < rhs.rows; i++) {
      const d = this.valueAt(i);
      for (let c = 0; c < rhs.cols; c++) out.data[i * rhs.cols + c] = d * rhs.data[i * rhs.cols + c];
    }
    return out;
  }

  diagonalF64(): Float64Array {
    return Float64Array.from({ length: this.shape[0] }, (_, i) => this.valueAt(i));
  }

  entriesF64(rows: Int32Array, cols: Int32Array): Float64Array {
    return Float64Array.from(rows, (r, p) => (r === cols[p] ? this.valueAt(r) : 0));
  }

  transpose(): LinearOperator {
    return this;
  }

  structure(): StructureNode {
    return { label: "Diag", shape: this.shape, children: [] };
  }

  override solveF64(rhs: Mat, _options: SolveOptions = {}): Mat {
    this.checkRhs(rhs);
    this.requirePositive("solve");
    const out = mat(rhs.rows, rhs.cols);
    for (let i = 0; i < rhs.rows; i++) {
      const d = this.valueAt(i);
      for (let c = 0; c < rhs.cols; c++) out.data[i * rhs.cols + c] = rhs.data[i * rhs.cols + c] / d;
    }
    this.lastSolveReport = { method: "structured", detail: "diagonal" };
    return out;
  }

  override logdetF64(_options: SolveOptions = {}): number {
    this.requirePositive("logdet");
    let s = 0;
    for (let i = 0; i < this.shape[0]; i++) s += Math.log(this.valueAt(i));
    return s;
  }

  override rootDecomposition(): LinearOperator {
    this.requirePositive("rootDecomposition", true);
    return new DiagLinearOperator(this.diagonalF64().map(Math.sqrt));
  }

  /** Throws NotPSDError naming `what` unless every diagonal entry is positive (or zero with `allowZero`). */
  protected requirePositive(what: string, allowZero = false): void {
    for (let i = 0; i < this.shape[0]; i++) {
      const d = this.valueAt(i);
      if (!(d > 0 || (allowZero && d === 0))) {
        throw new NotPSDError(`${what}: diagonal entry ${i} is ${d}; a positive-definite diagonal needs every entry > 0`);
      }
    }
  }
}
