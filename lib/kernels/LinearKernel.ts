import type { Mat } from "../algorithms/matrix";
import { type Constraint, Positive } from "../constraints/Interval";
import { Parameter } from "../module/Parameter";
import type { Prior } from "../priors/Prior";
import { identityProfile } from "../reductions/profiles";
import { Kernel, type KernelOptions, featureArray } from "./Kernel";
import { KernelFormula } from "./KernelFormula";

/** Options of LinearKernel. */
export interface LinearOptions extends Omit<KernelOptions, "ardNumDims" | "lengthscaleConstraint" | "lengthscalePrior"> {
  /** Initial variance v of k = v xᵀy (default 1). */
  variance?: number;
  /** Constraint of the variance (default Positive). */
  varianceConstraint?: Constraint;
  /** Prior on the variance (GPyTorch's variance_prior). */
  variancePrior?: Prior;
}

/** variance * x^T x' (GPyTorch's LinearKernel: no offset, no lengthscale). */
export class LinearKernel extends Kernel {
  /** shape: [1, 1] */
  readonly rawVariance: Parameter;

  constructor(options: LinearOptions = {}) {
    super(options);
    this.rawVariance = this.registerParameter("rawVariance", new Parameter([1, 1], options.varianceConstraint ?? new Positive(), options.variance));
    this.registerPrior("variancePrior", options.variancePrior, this.rawVariance);
  }

  /** The variance v (constrained). */
  get variance(): number {
    return this.rawVariance.valueAt(0);
  }
  /** Sets the variance (constrained). */
  set variance(v: number) {
    this.rawVariance.setValue(v);
  }

  protected formulaFor(x1: Mat, x2: Mat): KernelFormula {
    const copy = (x: Mat) => {
      const f = featureArray(x.data.length);
      f.set(x.data);
      return f;
    };
    const x = copy(x1);
    const factor = { statistic: "dot" as const, dims: x1.cols, x, y: x1 === x2 ? x : copy(x2), profile: identityProfile, params: new Float64Array(0) };
    // The dot factor has no parameters; the variance is the term's coefficient.
    return KernelFormula.of(x1.rows, x2.rows, factor, () => {}).scaled({ param: this.rawVariance, index: 0 });
  }
}
