import type { Mat } from "../algorithms/matrix";
import type { Parameter } from "../module/Parameter";
import { rbfProfile } from "../reductions/profiles";
import { Kernel, type KernelOptions } from "./Kernel";
import type { KernelFormula } from "./KernelFormula";
import { stationaryFormula } from "./stationary";

/** exp(-||x - x'||^2 / (2 l^2)), per-dimension l with ardNumDims. */
export class RBFKernel extends Kernel {
  /** Raw lengthscale, softplus-constrained by default. shape: [1, ardNumDims or 1] */
  readonly rawLengthscale: Parameter;

  constructor(options: KernelOptions = {}) {
    super(options);
    this.rawLengthscale = this.makeLengthscale(options);
  }

  /** Constrained lengthscale(s). shape: [ardNumDims or 1] */
  get lengthscale(): number[] {
    return Array.from(this.rawLengthscale.value());
  }
  /** Sets the constrained lengthscale (one value, or one per dimension). */
  set lengthscale(v: number | number[]) {
    this.rawLengthscale.setValue(v);
  }

  protected formulaFor(x1: Mat, x2: Mat): KernelFormula {
    this.checkArd(x1);
    return stationaryFormula(x1, x2, this.rawLengthscale, rbfProfile);
  }
}
