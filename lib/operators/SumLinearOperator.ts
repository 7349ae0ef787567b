import { type Mat, addMat } from "../algorithms/matrix";
import { ArgumentError } from "../errors";
import { LinearOperator, type StructureNode } from "./LinearOperator";

/** A_1 + ... + A_k, each kept lazy. */
export class SumLinearOperator extends LinearOperator {
  readonly shape: readonly [number, number];
  /** The summands. */
  readonly operands: readonly LinearOperator[];

  constructor(...operands: LinearOperator[]) {
    super();
    if (operands.length === 0) throw new ArgumentError("SumLinearOperator needs at least one operand");
    this.operands = operands;
    this.shape = operands[0].shape;
  }

  override get symmetric(): boolean {
    return this.operands.every((o) => o.symmetric);
  }

  matmulF64(rhs: Mat): Mat {
    return this.operands.map((o) => o.matmulF64(rhs)).reduce((a, b) => addMat(a, b));
  }

  diagonalF64(): Float64Array {
    const out = this.operands[0].diagonalF64();
    for (const o of this.operands.slice(1)) o.diagonalF64().forEach((v, i) => (out[i] += v));
    return out;
  }

  entriesF64(rows: Int32Array, cols: Int32Array): Float64Array {
    const out = this.operands[0].entriesF64(rows, cols);
    for (const o of this.operands.slice(1)) o.entriesF64(rows, cols).forEach((v, i) => (out[i] += v));
    return out;
  }

  override rowsF64(idx: Int32Array): Mat {
    return this.operands.map((o) => o.rowsF64(idx)).reduce((a, b) => addMat(a, b));
  }

  override columnBlockSumsF64(colStarts: Int32Array): Mat {
    return this.operands.map((o) => o.columnBlockSumsF64(colStarts)).reduce((a, b) => addMat(a, b));
  }

  transpose(): LinearOperator {
    return new SumLinearOperator(...this.operands.map((o) => o.transpose()));
  }

  structure(): StructureNode {
    return { label: "Sum", shape: this.shape, children: this.operands.map((o) => o.structure()) };
  }

  /** @internal */
  override forRepeatedProducts(budgetBytes: number): { operator: LinearOperator; bytes: number } {
    let bytes = 0;
    const parts = this.operands.map((o) => {
      const r = o.forRepeatedProducts(budgetBytes - bytes);
      bytes += r.bytes;
      return r.operator;
    });
    return bytes ? { operator: new SumLinearOperator(...parts), bytes } : { operator: this, bytes: 0 };
  }
}
