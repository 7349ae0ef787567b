import type { Mat } from "../algorithms/matrix";
import { Parameter } from "../module/Parameter";
import { Mean } from "./Mean";

export interface ConstantMeanOptions {
  constant?: number;
}

/** m(x) = c. GPyTorch 1.12 stores it as "rawConstant" (shape [], unconstrained). */
export class ConstantMean extends Mean {
  readonly rawConstant: Parameter;

  constructor(options: ConstantMeanOptions = {}) {
    super();
    this.rawConstant = this.registerParameter("rawConstant", new Parameter([], null, options.constant));
  }

  get constant(): number {
    return this.rawConstant.raw[0];
  }
  set constant(v: number) {
    this.rawConstant.setValue(v);
  }

  forwardF64(x: Mat): Float64Array {
    return new Float64Array(x.rows).fill(this.constant);
  }

  backward(_x: Mat, dmean: Float64Array): void {
    let s = 0;
    for (let i = 0; i < dmean.length; i++) s += dmean[i];
    this.rawConstant.addValueGrad(0, s);
  }
}
