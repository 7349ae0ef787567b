// GPyTorch's StudentTLikelihood for robust regression:
//   y | f ~ StudentT(df = degFree, loc = f, scale = sqrt(noise)),
// degFree = 2 + softplus(rawDegFree) (GreaterThan(2), starts at 7),
// noise = softplus(rawNoise) (Positive, starts at softplus(0)).
// State keys: rawDegFree [1], rawNoise [1] (GPyTorch: raw_deg_free, raw_noise).
// ELBO: 20-point Gauss–Hermite like GPyTorch. Predictive mean and variance
// are exact (GPyTorch samples): mu and var + noise * df / (df - 2).

import { type Constraint, GreaterThan, Positive } from "../constraints/Interval";
import { ArgumentError } from "../errors";
import { Parameter } from "../module/Parameter";
import type { Prior } from "../priors/Prior";
import { digamma, logGamma } from "./specialFunctions";
import { type LatentMarginalsLike, type ObservationMarginal, OneDimensionalLikelihood, readMarginals } from "./VariationalLikelihood";

const HALF_LOG_PI = 0.5 * Math.log(Math.PI);

/** Options of StudentTLikelihood (GPyTorch's constraints and priors for deg_free and noise). */
export interface StudentTLikelihoodOptions {
  /** Initial degrees of freedom (default 7, like GPyTorch). */
  degFree?: number;
  /** Initial noise (the squared scale; default softplus(0) = 0.693, like GPyTorch). */
  noise?: number;
  /** Default GreaterThan(2): the variance exists. */
  degFreeConstraint?: Constraint;
  /** Default Positive(). */
  noiseConstraint?: Constraint;
  /** Prior on the degrees of freedom (GPyTorch's deg_free_prior). */
  degFreePrior?: Prior;
  /** Prior on the noise (GPyTorch's noise_prior). */
  noisePrior?: Prior;
  /** Gauss–Hermite locations for the expected log likelihood (default 20). */
  numGaussHermiteLocs?: number;
}

/** Heavy-tailed observation noise: Student's t with learnt degrees of freedom and scale sqrt(noise). */
export class StudentTLikelihood extends OneDimensionalLikelihood {
  /** shape: [1] */
  readonly rawDegFree: Parameter;
  /** shape: [1] */
  readonly rawNoise: Parameter;

  constructor(options: StudentTLikelihoodOptions = {}) {
    super(2, options.numGaussHermiteLocs);
    this.rawDegFree = this.registerParameter("rawDegFree", new Parameter([1], options.degFreeConstraint ?? new GreaterThan(2), options.degFree ?? 7));
    this.rawNoise = this.registerParameter("rawNoise", new Parameter([1], options.noiseConstraint ?? new Positive(), options.noise));
    this.registerPrior("degFreePrior", options.degFreePrior, this.rawDegFree);
    this.registerPrior("noisePrior", options.noisePrior, this.rawNoise);
  }

  /** Degrees of freedom nu (> 2). */
  get degFree(): number {
    return this.rawDegFree.valueAt(0);
  }
  /** Sets the degrees of freedom (> 2). */
  set degFree(v: number) {
    this.rawDegFree.setValue(v);
  }
  /** The squared scale of the noise (scale = sqrt(noise)). */
  get noise(): number {
    return this.rawNoise.valueAt(0);
  }
  /** Sets the noise (the squared scale). */
  set noise(v: number) {
    this.rawNoise.setValue(v);
  }

  // log p = lgamma((nu+1)/2) - lgamma(nu/2) - log(pi nu)/2 - log(noise)/2 - (nu+1)/2 log(1 + r^2/(nu noise)), r = y - f
  protected logProbTerms(y: number, f: number, out: Float64Array): void {
    const nu = this.degFree, s2 = this.noise;
    const r = y - f;
    const u = (r * r) / (nu * s2);
    const l1p = Math.log1p(u);
    out[0] = logGamma((nu + 1) / 2) - logGamma(nu / 2) - 0.5 * Math.log(nu) - HALF_LOG_PI - 0.5 * Math.log(s2) - ((nu + 1) / 2) * l1p;
    // d/dr of -(nu+1)/2 log(1+u) is -(nu+1) r / (nu s2 (1+u)); d/df = -d/dr.
    out[1] = ((nu + 1) * r) / (nu * s2 * (1 + u));
    // du/dnu = -u/nu, du/ds2 = -u/s2.
    out[2] = 0.5 * digamma((nu + 1) / 2) - 0.5 * digamma(nu / 2) - 0.5 / nu - 0.5 * l1p + ((nu + 1) / 2) * (u / nu) / (1 + u);
    out[3] = -0.5 / s2 + ((nu + 1) / 2) * (u / s2) / (1 + u);
  }

  protected addParameterGradients(d: Float64Array): void {
    this.rawDegFree.addValueGrad(0, d[0]);
    this.rawNoise.addValueGrad(0, d[1]);
  }

  protected override checkTarget(y: number, index: number): void {
    if (!Number.isFinite(y)) throw new ArgumentError(`StudentTLikelihood needs finite targets, but y[${index}] = ${y}; drop or impute the missing values`);
  }

  /** Exact predictive moments: mean mu, variance var + noise * degFree / (degFree - 2). */
  marginal(f: LatentMarginalsLike): ObservationMarginal {
    const { mean, variance } = readMarginals(f);
    const nu = this.degFree;
    const extra = (this.noise * nu) / (nu - 2);
    return { mean: mean.slice(), variance: variance.map((v) => v + extra), method: "exact" };
  }
}
