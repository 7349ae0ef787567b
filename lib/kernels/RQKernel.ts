import type { Mat } from "../algorithms/matrix";
import { type Constraint, Positive } from "../constraints/Interval";
import { Parameter } from "../module/Parameter";
import { rationalQuadraticProfile } from "../reductions/profiles";
import { Kernel, type KernelOptions } from "./Kernel";
import type { KernelFormula } from "./KernelFormula";
import { stationaryFormula } from "./stationary";

export interface RQOptions extends KernelOptions {
  /** Initial alpha (default softplus(0) = ln 2, like GPyTorch). */
  alpha?: number;
  alphaConstraint?: Constraint;
}

/** Rational quadratic (1 + r^2 / (2 alpha))^(-alpha), r^2 the lengthscale-scaled squared distance. */
export class RQKernel extends Kernel {
  readonly rawLengthscale: Parameter;
  /** shape: [1] */
  readonly rawAlpha: Parameter;

  constructor(options: RQOptions = {}) {
    super(options);
    this.rawLengthscale = this.makeLengthscale(options);
    this.rawAlpha = this.registerParameter("rawAlpha", new Parameter([1], options.alphaConstraint ?? new Positive(), options.alpha));
  }

  get lengthscale(): number[] {
    return Array.from(this.rawLengthscale.value());
  }
  set lengthscale(v: number | number[]) {
    this.rawLengthscale.setValue(v);
  }
  get alpha(): number {
    return this.rawAlpha.valueAt(0);
  }
  set alpha(v: number) {
    this.rawAlpha.setValue(v);
  }

  protected formulaFor(x1: Mat, x2: Mat): KernelFormula {
    this.checkArd(x1);
    return stationaryFormula(x1, x2, this.rawLengthscale, rationalQuadraticProfile, Float64Array.of(this.alpha), (acc, off) =>
      this.rawAlpha.addValueGrad(0, acc[off]),
    );
  }
}

/** GPyTorch's full name for the same kernel. */
export { RQKernel as RationalQuadraticKernel };
