import { ConstantDiagLinearOperator } from "./ConstantDiagLinearOperator";
import type { StructureNode } from "./LinearOperator";

/** The identity. shape: [n, n] */
export class IdentityLinearOperator extends ConstantDiagLinearOperator {
  constructor(size: number) {
    super(1, size);
  }

  override structure(): StructureNode {
    return { label: "Identity", shape: this.shape, children: [] };
  }
}
