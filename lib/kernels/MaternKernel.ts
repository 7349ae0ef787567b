import type { Mat } from "../algorithms/matrix";
import { ArgumentError } from "../errors";
import type { Parameter } from "../module/Parameter";
import { matern12Profile, matern32Profile, matern52Profile } from "../reductions/profiles";
import { Kernel, type KernelOptions } from "./Kernel";
import type { KernelFormula } from "./KernelFormula";
import { stationaryFormula } from "./stationary";

/** Options of MaternKernel. */
export interface MaternOptions extends KernelOptions {
  /** Smoothness: 0.5, 1.5 or 2.5 (default 2.5, like GPyTorch). */
  nu?: 0.5 | 1.5 | 2.5;
}

/**
 * Matern on r = ||(x - x') / l||: nu = 1/2 exp(-r), 3/2 (1 + sqrt3 r) exp(-sqrt3 r),
 * 5/2 (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r). (GPyTorch also centres x on
 * mean(x1) first, which changes nothing mathematically.)
 */
export class MaternKernel extends Kernel {
  /** Raw lengthscale. shape: [1, ardNumDims or 1] */
  readonly rawLengthscale: Parameter;
  /** Smoothness ν (0.5, 1.5 or 2.5; default 2.5, as GPyTorch). */
  readonly nu: 0.5 | 1.5 | 2.5;

  constructor(options: MaternOptions = {}) {
    super(options);
    this.nu = options.nu ?? 2.5;
    if (![0.5, 1.5, 2.5].includes(this.nu)) throw new ArgumentError(`MaternKernel nu must be 0.5, 1.5 or 2.5, got ${this.nu}`);
    this.rawLengthscale = this.makeLengthscale(options);
  }

  /** Lengthscale per dimension (constrained). */
  get lengthscale(): number[] {
    return Array.from(this.rawLengthscale.value());
  }
  /** Sets the constrained lengthscale. */
  set lengthscale(v: number | number[]) {
    this.rawLengthscale.setValue(v);
  }

  override get name(): string {
    return `MaternKernel(nu=${this.nu})`;
  }

  protected formulaFor(x1: Mat, x2: Mat): KernelFormula {
    this.checkArd(x1);
    const profile = this.nu === 0.5 ? matern12Profile : this.nu === 1.5 ? matern32Profile : matern52Profile;
    return stationaryFormula(x1, x2, this.rawLengthscale, profile);
  }
}
