import type { Mat } from "../algorithms/matrix";
import { type Constraint, Positive } from "../constraints/Interval";
import { Parameter } from "../module/Parameter";
import type { Prior } from "../priors/Prior";
import { periodicProfile } from "../reductions/profiles";
import { Kernel, type KernelOptions, scaledFeatures } from "./Kernel";
import { KernelFormula } from "./KernelFormula";

/** Options of PeriodicKernel. */
export interface PeriodicOptions extends KernelOptions {
  /** Constraint of the period length (default Positive). */
  periodLengthConstraint?: Constraint;
  /** Prior on the period length(s) (GPyTorch's period_length_prior). */
  periodLengthPrior?: Prior;
}

/**
 * GPyTorch's periodic kernel: exp(-2 sum_k sin^2(pi |x_k - x'_k| / p_k) / l_k).
 * The lengthscale is not squared and the sum runs over dimensions.
 * Features u = pi x / p, weights w = 1 / l. Derivatives from the accumulators:
 * d/dp_k = -perDim_k / p_k (du scales as 1/p), d/dl_k = -perDimWeight_k / l_k^2.
 */
export class PeriodicKernel extends Kernel {
  /** Raw lengthscale. shape: [1, ardNumDims or 1] */
  readonly rawLengthscale: Parameter;
  /** shape: [1, ardNumDims or 1] */
  readonly rawPeriodLength: Parameter;

  constructor(options: PeriodicOptions = {}) {
    super(options);
    this.rawLengthscale = this.makeLengthscale(options);
    this.rawPeriodLength = this.registerParameter("rawPeriodLength", new Parameter([1, this.ardNumDims ?? 1], options.periodLengthConstraint ?? new Positive()));
    this.registerPrior("periodLengthPrior", options.periodLengthPrior, this.rawPeriodLength);
  }

  /** Lengthscale per dimension (constrained; not squared, as GPyTorch). */
  get lengthscale(): number[] {
    return Array.from(this.rawLengthscale.value());
  }
  /** Sets the constrained lengthscale. */
  set lengthscale(v: number | number[]) {
    this.rawLengthscale.setValue(v);
  }
  /** Period length per dimension (constrained). */
  get periodLength(): number[] {
    return Array.from(this.rawPeriodLength.value());
  }
  /** Sets the constrained period length. */
  set periodLength(v: number | number[]) {
    this.rawPeriodLength.setValue(v);
  }

  protected formulaFor(x1: Mat, x2: Mat): KernelFormula {
    this.checkArd(x1);
    const d = x1.cols;
    const p = this.rawPeriodLength.value();
    const l = this.rawLengthscale.value();
    const weights = Float64Array.from({ length: d }, (_, k) => 1 / l[l.length === 1 ? 0 : k]);
    const x = scaledFeatures(x1, p, Math.PI);
    const y = x1 === x2 ? x : scaledFeatures(x2, p, Math.PI);
    const factor = { statistic: "sinsq" as const, dims: d, x, y, weights, profile: periodicProfile, params: new Float64Array(0) };
    return KernelFormula.of(x1.rows, x2.rows, factor, (acc, slots) => {
      for (let k = 0; k < d; k++) {
        const ip = p.length === 1 ? 0 : k;
        const il = l.length === 1 ? 0 : k;
        this.rawPeriodLength.addValueGrad(ip, -acc[slots.perDim + k] / p[ip]);
        this.rawLengthscale.addValueGrad(il, -acc[slots.perDimWeight + k] / (l[il] * l[il]));
      }
    });
  }
}
