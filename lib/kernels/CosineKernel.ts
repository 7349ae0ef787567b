import type { Mat } from "../algorithms/matrix";
import { type Constraint, Positive } from "../constraints/Interval";
import { Parameter } from "../module/Parameter";
import type { Prior } from "../priors/Prior";
import { cosineProfile } from "../reductions/profiles";
import { Kernel, type KernelOptions, scaledFeatures } from "./Kernel";
import { KernelFormula } from "./KernelFormula";
import { lengthscaleBackward } from "./stationary";

/** Options of CosineKernel. */
export interface CosineOptions extends Omit<KernelOptions, "ardNumDims" | "lengthscaleConstraint" | "lengthscalePrior"> {
  /** Constraint of the period length (default Positive). */
  periodLengthConstraint?: Constraint;
  /** Prior on the period length (GPyTorch's period_length_prior). */
  periodLengthPrior?: Prior;
}

/** cos(pi ||x - x'|| / p) (GPyTorch's CosineKernel, one period length). */
export class CosineKernel extends Kernel {
  /** shape: [1, 1] */
  readonly rawPeriodLength: Parameter;

  constructor(options: CosineOptions = {}) {
    super(options);
    this.rawPeriodLength = this.registerParameter("rawPeriodLength", new Parameter([1, 1], options.periodLengthConstraint ?? new Positive()));
    this.registerPrior("periodLengthPrior", options.periodLengthPrior, this.rawPeriodLength);
  }

  /** Period p of k = cos(2π ‖x - y‖ / p) (constrained). */
  get periodLength(): number {
    return this.rawPeriodLength.valueAt(0);
  }
  /** Sets the period (constrained). */
  set periodLength(v: number) {
    this.rawPeriodLength.setValue(v);
  }

  protected formulaFor(x1: Mat, x2: Mat): KernelFormula {
    const p = this.rawPeriodLength.value();
    const x = scaledFeatures(x1, p);
    const factor = { statistic: "sqdist" as const, dims: x1.cols, x, y: x1 === x2 ? x : scaledFeatures(x2, p), profile: cosineProfile, params: new Float64Array(0) };
    // Features are x / p, so the period length enters like a shared lengthscale.
    return KernelFormula.of(x1.rows, x2.rows, factor, (acc, slots) => lengthscaleBackward(this.rawPeriodLength, acc, slots.perDim, x1.cols));
  }
}
