// The lazy matrix a kernel returns: a KernelLinearOperator that also knows
// which kernel parameters its formula came from, so an MLL can push the
// bilinear derivative sum_ij M_ij dK_ij/dtheta back into parameter grads.

import { KernelLinearOperator, type KernelOperatorOptions } from "../operators/KernelLinearOperator";
import type { BilinearWeights } from "../reductions/engine";
import { gradientLayout } from "../reductions/formula";
import type { KernelFormula } from "./KernelFormula";

export class KernelOperator extends KernelLinearOperator {
  constructor(readonly kernelFormula: KernelFormula, name: string, options: KernelOperatorOptions = {}) {
    super(kernelFormula.toFormula(name), options);
  }

  /**
   * Adds sum_ij M_ij dK_ij/draw to every raw parameter's grad, M given by
   * `weights` (dense [n, m] or low rank U W^T: never n x m for low rank).
   */
  backward(weights: BilinearWeights): void {
    const acc = this.bilinearDerivative(weights);
    this.kernelFormula.backward(acc, gradientLayout(this.formula));
  }
}
