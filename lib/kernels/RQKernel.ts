import type { Mat } from "../algorithms/matrix";
import { type Constraint, Positive } from "../constraints/Interval";
import { Parameter } from "../module/Parameter";
import { rationalQuadraticProfile } from "../reductions/profiles";
import { Kernel, type KernelOptions } from "./Kernel";
import type { KernelFormula } from "./KernelFormula";
import { stationaryFormula } from "./stationary";

/** Options of RQKernel. */
export interface RQOptions extends KernelOptions {
  /** Initial alpha (default softplus(0) = ln 2, like GPyTorch). */
  alpha?: number;
  /** Constraint of α (default Positive). */
  alphaConstraint?: Constraint;
}

/** Rational quadratic (1 + r^2 / (2 alpha))^(-alpha), r^2 the lengthscale-scaled squared distance. */
export class RQKernel extends Kernel {
  /** Raw lengthscale. shape: [1, ardNumDims or 1] */
  readonly rawLengthscale: Parameter;
  /** shape: [1] */
  readonly rawAlpha: Parameter;

  constructor(options: RQOptions = {}) {
    super(options);
    this.rawLengthscale = this.makeLengthscale(options);
    this.rawAlpha = this.registerParameter("rawAlpha", new Parameter([1], options.alphaConstraint ?? new Positive(), options.alpha));
  }

  /** Lengthscale per dimension (constrained). */
  get lengthscale(): number[] {
    return Array.from(this.rawLengthscale.value());
  }
  /** Sets the constrained lengthscale. */
  set lengthscale(v: number | number[]) {
    this.rawLengthscale.setValue(v);
  }
  /** Shape parameter α of k = (1 + ‖(x - y) / ℓ‖² / (2α))^(-α). */
  get alpha(): number {
    return this.rawAlpha.valueAt(0);
  }
  /** Sets α (constrained). */
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
