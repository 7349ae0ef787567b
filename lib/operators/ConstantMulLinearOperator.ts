import { type Mat, scaleMat } from "../algorithms/matrix";
import type { ResolvedSolveOptions, SolveOptions } from "../algorithms/settings";
import { NotPSDError } from "../errors";
import { LinearOperator, type StructureNode } from "./LinearOperator";

/** c * A without touching A's entries. */
export class ConstantMulLinearOperator extends LinearOperator {
  readonly shape: readonly [number, number];

  constructor(
    /** The operator being scaled. */
    readonly base: LinearOperator,
    /** The factor c of c·A. */
    readonly constant: number,
  ) {
    super();
    this.shape = base.shape;
  }

  override get symmetric(): boolean {
    return this.base.symmetric;
  }
  protected override get hasStructuredSolves(): boolean {
    return true;
  }

  matmulF64(rhs: Mat): Mat {
    return scaleMat(this.base.matmulF64(rhs), this.constant);
  }

  diagonalF64(): Float64Array {
    return this.base.diagonalF64().map((v) => v * this.constant);
  }

  entriesF64(rows: Int32Array, cols: Int32Array): Float64Array {
    return this.base.entriesF64(rows, cols).map((v) => v * this.constant);
  }

  override rowsF64(idx: Int32Array): Mat {
    return scaleMat(this.base.rowsF64(idx), this.constant);
  }

  /** @internal */
  override denseF64Into(buffer: Float64Array, lowerOnly = false): Mat {
    const out = this.base.denseF64Into(buffer, lowerOnly);
    for (let i = 0; i < out.data.length; i++) out.data[i] *= this.constant;
    return out;
  }

  override columnBlockSumsF64(colStarts: Int32Array): Mat {
    return scaleMat(this.base.columnBlockSumsF64(colStarts), this.constant);
  }

  transpose(): LinearOperator {
    return new ConstantMulLinearOperator(this.base.transpose(), this.constant);
  }

  structure(): StructureNode {
    return { label: `ConstantMul[${+this.constant.toPrecision(6)}]`, shape: this.shape, children: [this.base.structure()] };
  }

  private requirePositive(what: string): void {
    if (!(this.constant > 0)) throw new NotPSDError(`${what}: c * A with c = ${this.constant} is not positive definite; c must be > 0`);
  }

  override solveF64(rhs: Mat, options: SolveOptions = {}): Mat {
    this.requirePositive("solve");
    return scaleMat(this.base.solveF64(rhs, options), 1 / this.constant);
  }

  override logdetF64(options: SolveOptions = {}): number {
    this.requirePositive("logdet");
    return this.base.logdetF64(options) + this.shape[0] * Math.log(this.constant);
  }

  /** @internal */
  override preconditioner(o: ResolvedSolveOptions) {
    return this.base.preconditioner(o);
  }

  /** @internal */
  override forRepeatedProducts(budgetBytes: number): { operator: LinearOperator; bytes: number } {
    const inner = this.base.forRepeatedProducts(budgetBytes);
    return inner.bytes ? { operator: new ConstantMulLinearOperator(inner.operator, this.constant), bytes: inner.bytes } : { operator: this, bytes: 0 };
  }
}
