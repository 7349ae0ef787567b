import type { Mat } from "../algorithms/matrix";
import { ShapeError } from "../errors";
import { Parameter } from "../module/Parameter";
import type { Prior } from "../priors/Prior";
import { Mean } from "./Mean";

/** Options of ConstantMean. */
export interface ConstantMeanOptions {
  /** Initial constant (default 0). */
  constant?: number;
  /** `[b]`: one constant per batch member (GPyTorch's batch_shape). */
  batchShape?: number[];
  /** Prior on the constant (GPyTorch's constant_prior, registered as "mean_prior"). */
  constantPrior?: Prior;
}

/** m(x) = c. GPyTorch 1.12 stores it as "rawConstant" (shape [], unconstrained). */
export class ConstantMean extends Mean {
  /** The constant (unconstrained). shape: [1], or [b, 1] batched */
  readonly rawConstant: Parameter;

  constructor(options: ConstantMeanOptions = {}) {
    super();
    this.setBatchShape(options.batchShape);
    this.rawConstant = this.registerParameter("rawConstant", new Parameter([], null, options.constant));
    this.registerPrior("meanPrior", options.constantPrior, this.rawConstant);
  }

  /** The constant c of m(x) = c. */
  get constant(): number {
    return this.rawConstant.raw[0];
  }
  /** Sets the constant. */
  set constant(v: number) {
    this.rawConstant.setValue(v);
  }

  forwardF64(x: Mat): Float64Array {
    if (this.batchShape.length) throw new ShapeError(`this ConstantMean is a batch of ${this.batchShape[0]} means; evaluate one with mean.batchMember(q)`);
    return new Float64Array(x.rows).fill(this.constant);
  }

  backward(_x: Mat, dmean: Float64Array): void {
    let s = 0;
    for (let i = 0; i < dmean.length; i++) s += dmean[i];
    this.rawConstant.addValueGrad(0, s);
  }
}
