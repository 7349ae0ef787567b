// GPyTorch's PredictiveLogLikelihood (Jankowiak et al. 2020): the log of the
// predictive density of each target, log N(y | mu, var + s), averaged over
// the batch, minus beta KL / numData. Favours calibrated predictive variances.
// Non-Gaussian likelihoods give log E_q[p(y | f)] themselves (GPyTorch's
// log_marginal: analytic for Bernoulli, quadrature for the others).

import type { Mat } from "../algorithms/matrix";
import type { ExpectedLogLikelihood, VariationalLikelihood } from "../likelihoods/VariationalLikelihood";
import { ApproximateMarginalLogLikelihood, type PointTerm } from "./ApproximateMarginalLogLikelihood";

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * GPyTorch's PredictiveLogLikelihood: Σ log p(y_i
 * x_i) under the predictive distribution (not its expectation), minus the KL.
 */
export class PredictiveLogLikelihood extends ApproximateMarginalLogLikelihood {
  protected pointTerm(y: number, mean: number, variance: number, s: number): PointTerm {
    const r = y - mean;
    const v = variance + s;
    const d = 0.5 * ((r * r) / (v * v) - 1 / v);
    return { value: -0.5 * ((r * r) / v + Math.log(v) + LOG_2PI), dMean: r / v, dVar: d, dNoise: d };
  }

  /** log E_q[p(y | f)] per point, from the likelihood. */
  protected integratedTerms(likelihood: VariationalLikelihood, y: Mat, mean: Float64Array, variance: Float64Array, numOutputs: number, paramGradScale?: number): ExpectedLogLikelihood {
    return likelihood.logMarginal(y, mean, variance, numOutputs, paramGradScale);
  }
}
