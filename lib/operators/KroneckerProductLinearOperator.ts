import { type Mat, mat } from "../algorithms/matrix";
import type { SolveOptions } from "../algorithms/settings";
import { ArgumentError } from "../errors";
import { LinearOperator, type StructureNode } from "./LinearOperator";

/**
 * A (x) B, never formed: (A (x) B) vec(V) = vec(A V B^T) with V reshaped
 * [mA, mB] row-major. Solves and logdets factor over A and B.
 * shape: [nA * nB, mA * mB]
 */
export class KroneckerProductLinearOperator extends LinearOperator {
  readonly shape: readonly [number, number];
  /** A of A ⊗ B. */
  readonly left: LinearOperator;
  /** B of A ⊗ B (several factors nest to the right). */
  readonly right: LinearOperator;

  /** Two or more factors; more than two nest to the right. */
  constructor(...factors: LinearOperator[]) {
    super();
    if (factors.length < 2) throw new ArgumentError("a Kronecker product needs at least two factors");
    this.left = factors[0];
    this.right = factors.length === 2 ? factors[1] : new KroneckerProductLinearOperator(...factors.slice(1));
    this.shape = [this.left.shape[0] * this.right.shape[0], this.left.shape[1] * this.right.shape[1]];
  }

  override get symmetric(): boolean {
    return this.left.symmetric && this.right.symmetric;
  }
  protected override get hasStructuredSolves(): boolean {
    return true;
  }

  /** Applies f(A) on the left and g(B) on the right of each reshaped column. */
  private apply(rhs: Mat, leftOp: (m: Mat) => Mat, rightOp: (m: Mat) => Mat, outLeft: number, outRight: number): Mat {
    const inLeft = rhs.rows / this.right.shape[1];
    const inRight = this.right.shape[1];
    const t = rhs.cols;
    const out = mat(outLeft * outRight, t);
    for (let c = 0; c < t; c++) {
      // V: [inLeft, inRight]; result = A V B^T = A (B V^T)^T
      const Vt = mat(inRight, inLeft);
      for (let a = 0; a < inLeft; a++) for (let b = 0; b < inRight; b++) Vt.data[b * inLeft + a] = rhs.data[(a * inRight + b) * t + c];
      const BVt = rightOp(Vt); // [outRight, inLeft]
      const VBt = mat(inLeft, outRight);
      for (let b = 0; b < outRight; b++) for (let a = 0; a < inLeft; a++) VBt.data[a * outRight + b] = BVt.data[b * inLeft + a];
      const R = leftOp(VBt); // [outLeft, outRight]
      for (let i = 0; i < outLeft * outRight; i++) out.data[i * t + c] = R.data[i];
    }
    return out;
  }

  matmulF64(rhs: Mat): Mat {
    this.checkRhs(rhs);
    return this.apply(rhs, (m) => this.left.matmulF64(m), (m) => this.right.matmulF64(m), this.left.shape[0], this.right.shape[0]);
  }

  diagonalF64(): Float64Array {
    const a = this.left.diagonalF64(), b = this.right.diagonalF64();
    const out = new Float64Array(a.length * b.length);
    for (let i = 0; i < a.length; i++) for (let j = 0; j < b.length; j++) out[i * b.length + j] = a[i] * b[j];
    return out;
  }

  entriesF64(rows: Int32Array, cols: Int32Array): Float64Array {
    const nb = this.right.shape[0], mb = this.right.shape[1];
    const ra = Int32Array.from(rows, (r) => Math.floor(r / nb)), rb = Int32Array.from(rows, (r) => r % nb);
    const ca = Int32Array.from(cols, (c) => Math.floor(c / mb)), cb = Int32Array.from(cols, (c) => c % mb);
    const a = this.left.entriesF64(ra, ca), b = this.right.entriesF64(rb, cb);
    return a.map((v, p) => v * b[p]);
  }

  transpose(): LinearOperator {
    return new KroneckerProductLinearOperator(this.left.transpose(), this.right.transpose());
  }

  structure(): StructureNode {
    return { label: "Kronecker", shape: this.shape, children: [this.left.structure(), this.right.structure()] };
  }

  override solveF64(rhs: Mat, options: SolveOptions = {}): Mat {
    this.requireSquare("solve");
    this.checkRhs(rhs);
    this.lastSolveReport = { method: "structured", detail: "Kronecker factors solved separately" };
    return this.apply(rhs, (m) => this.left.solveF64(m, options), (m) => this.right.solveF64(m, options), this.left.shape[0], this.right.shape[0]);
  }

  override logdetF64(options: SolveOptions = {}): number {
    this.requireSquare("logdet");
    return this.right.shape[0] * this.left.logdetF64(options) + this.left.shape[0] * this.right.logdetF64(options);
  }
}
