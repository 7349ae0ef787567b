import type { Mat } from "../algorithms/matrix";
import { type Constraint, Positive } from "../constraints/Interval";
import { Parameter } from "../module/Parameter";
import type { Prior } from "../priors/Prior";
import { Kernel } from "./Kernel";
import type { KernelFormula } from "./KernelFormula";

/** Options of ScaleKernel. */
export interface ScaleOptions {
  /** Initial outputscale (default 1 after softplus of 0, as GPyTorch: 0.693). */
  outputscale?: number;
  /** Constraint of the outputscale (default Positive). */
  outputscaleConstraint?: Constraint;
  /** Prior on the outputscale (GPyTorch's outputscale_prior). */
  outputscalePrior?: Prior;
  /** `[b]`: one outputscale per batch member (GPyTorch's batch_shape). */
  batchShape?: number[];
}

/** outputscale * base(x, x'): multiplies every term's coefficient. */
export class ScaleKernel<K extends Kernel = Kernel> extends Kernel {
  /** shape: [] */
  readonly rawOutputscale: Parameter;

  constructor(
    /** The kernel being scaled (GPyTorch's base_kernel). */
    readonly baseKernel: K,
    options: ScaleOptions = {},
  ) {
    super({ batchShape: options.batchShape });
    this.rawOutputscale = this.registerParameter("rawOutputscale", new Parameter([], options.outputscaleConstraint ?? new Positive(), options.outputscale));
    this.registerPrior("outputscalePrior", options.outputscalePrior, this.rawOutputscale);
    this.registerModule("baseKernel", baseKernel);
  }

  /** The outputscale s of k = s · k_base (constrained). */
  get outputscale(): number {
    return this.rawOutputscale.valueAt(0);
  }
  /** Sets the outputscale (constrained). */
  set outputscale(v: number) {
    this.rawOutputscale.setValue(v);
  }

  override get name(): string {
    return `ScaleKernel(${this.baseKernel.name})`;
  }

  override inputDims(): number | null {
    return this.baseKernel.inputDims();
  }

  protected formulaFor(x1: Mat, x2: Mat): KernelFormula {
    return this.baseKernel.buildFormula(x1, x2).scaled({ param: this.rawOutputscale, index: 0 });
  }
}
