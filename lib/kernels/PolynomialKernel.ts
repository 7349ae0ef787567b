import type { Mat } from "../algorithms/matrix";
import { type Constraint, Positive } from "../constraints/Interval";
import { ArgumentError } from "../errors";
import { Parameter } from "../module/Parameter";
import type { Prior } from "../priors/Prior";
import { polynomialProfile } from "../reductions/profiles";
import { Kernel, type KernelOptions, featureArray } from "./Kernel";
import { KernelFormula } from "./KernelFormula";

/** Options of PolynomialKernel. */
export interface PolynomialOptions extends Omit<KernelOptions, "ardNumDims" | "lengthscaleConstraint" | "lengthscalePrior"> {
  /** Integer power >= 1 (required, like GPyTorch). */
  power: number;
  /** Initial offset c of k = (xᵀy + c)^power. */
  offset?: number;
  /** Constraint of the offset (default Positive). */
  offsetConstraint?: Constraint;
  /** Prior on the offset (GPyTorch's offset_prior). */
  offsetPrior?: Prior;
}

/** (x^T x' + offset)^power. */
export class PolynomialKernel extends Kernel {
  /** The integer power. */
  readonly power: number;
  /** shape: [1] */
  readonly rawOffset: Parameter;

  constructor(options: PolynomialOptions) {
    super(options);
    if (!options || !Number.isInteger(options.power) || options.power < 1) {
      throw new ArgumentError(`PolynomialKernel needs { power } a positive integer, got ${options?.power}`);
    }
    this.power = options.power;
    this.rawOffset = this.registerParameter("rawOffset", new Parameter([1], options.offsetConstraint ?? new Positive(), options.offset));
    this.registerPrior("offsetPrior", options.offsetPrior, this.rawOffset);
  }

  /** The offset c (constrained). */
  get offset(): number {
    return this.rawOffset.valueAt(0);
  }
  /** Sets the offset (constrained). */
  set offset(v: number) {
    this.rawOffset.setValue(v);
  }

  override get name(): string {
    return `PolynomialKernel(power=${this.power})`;
  }

  protected formulaFor(x1: Mat, x2: Mat): KernelFormula {
    const copy = (x: Mat) => {
      const f = featureArray(x.data.length);
      f.set(x.data);
      return f;
    };
    const x = copy(x1);
    const factor = { statistic: "dot" as const, dims: x1.cols, x, y: x1 === x2 ? x : copy(x2), profile: polynomialProfile(this.power), params: Float64Array.of(this.offset) };
    return KernelFormula.of(x1.rows, x2.rows, factor, (acc, slots) => this.rawOffset.addValueGrad(0, acc[slots.params]));
  }
}
