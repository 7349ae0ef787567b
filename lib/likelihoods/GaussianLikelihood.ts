import { type Constraint, GreaterThan } from "../constraints/Interval";
import { Module } from "../module/Module";
import { Parameter } from "../module/Parameter";
import type { Prior } from "../priors/Prior";
import { GaussianLikelihoodBase } from "./Likelihood";

/** Options of GaussianLikelihood (and HomoskedasticNoise). */
export interface GaussianLikelihoodOptions {
  /** Initial noise variance (default 1e-4 + softplus(0), like GPyTorch). */
  noise?: number;
  /** Default GreaterThan(1e-4), like GPyTorch. */
  noiseConstraint?: Constraint;
  /** Prior on the noise variance (GPyTorch's noise_prior, on noiseCovar). */
  noisePrior?: Prior;
}

/** One learnt noise variance shared by all points (GPyTorch's HomoskedasticNoise). */
export class HomoskedasticNoise extends Module {
  /** shape: [1] */
  readonly rawNoise: Parameter;
  constructor(options: GaussianLikelihoodOptions = {}) {
    super();
    this.rawNoise = this.registerParameter("rawNoise", new Parameter([1], options.noiseConstraint ?? new GreaterThan(1e-4), options.noise));
    this.registerPrior("noisePrior", options.noisePrior, this.rawNoise);
  }
}

/** y = f + eps, eps ~ N(0, noise). State key: "likelihood.noiseCovar.rawNoise". */
export class GaussianLikelihood extends GaussianLikelihoodBase {
  /** The noise module (GPyTorch's noise_covar), holding rawNoise. */
  readonly noiseCovar: HomoskedasticNoise;

  constructor(options: GaussianLikelihoodOptions = {}) {
    super();
    this.noiseCovar = this.registerModule("noiseCovar", new HomoskedasticNoise(options));
    this.registerAlias("noise", "noiseCovar.noise");
    this.registerAlias("rawNoise", "noiseCovar.rawNoise");
  }

  /** The noise variance σ² (constrained; GreaterThan(1e-4) as in GPyTorch). */
  get noise(): number {
    return this.noiseCovar.rawNoise.valueAt(0);
  }
  /** Sets σ² (constrained). */
  set noise(v: number) {
    this.noiseCovar.rawNoise.setValue(v);
  }

  noiseF64(n: number): Float64Array {
    return new Float64Array(n).fill(this.noise);
  }

  backwardNoise(dNoise: Float64Array): void {
    let s = 0;
    for (let i = 0; i < dNoise.length; i++) s += dNoise[i];
    this.noiseCovar.rawNoise.addValueGrad(0, s);
  }
}
