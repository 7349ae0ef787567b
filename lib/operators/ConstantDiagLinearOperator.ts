import { ArgumentError } from "../errors";
import { DiagLinearOperator } from "./DiagLinearOperator";
import type { LinearOperator, StructureNode } from "./LinearOperator";

/** c * I, stored as one number. shape: [n, n] */
export class ConstantDiagLinearOperator extends DiagLinearOperator {
  constructor(
    /** The diagonal value c of c·I. */
    readonly value: number,
    size: number,
  ) {
    super(new Float64Array(0));
    if (!Number.isInteger(size) || size < 0) throw new ArgumentError(`size must be a non-negative integer, got ${size}`);
    (this as { shape: readonly [number, number] }).shape = [size, size];
  }

  override valueAt(_i: number): number {
    return this.value;
  }

  override get values(): Float64Array {
    return new Float64Array(this.shape[0]).fill(this.value);
  }

  override rootDecomposition(): LinearOperator {
    this.requirePositive("rootDecomposition", true);
    return new ConstantDiagLinearOperator(Math.sqrt(this.value), this.shape[0]);
  }

  override structure(): StructureNode {
    return { label: `ConstantDiag[${+this.value.toPrecision(6)}]`, shape: this.shape, children: [] };
  }
}
