// GPyTorch's VariationalELBO: the expected log likelihood under q(f),
//   E_q[log N(y | f, s)] = -1/2 ((y - mu)^2 / s + var / s + log s + log 2 pi),
// averaged over the batch, minus beta KL / numData. Non-Gaussian likelihoods
// (VariationalLikelihood) give E_q[log p(y | f)] themselves (Gauss–Hermite).

import type { Mat } from "../algorithms/matrix";
import type { ExpectedLogLikelihood, VariationalLikelihood } from "../likelihoods/VariationalLikelihood";
import { ApproximateMarginalLogLikelihood, type PointTerm } from "./ApproximateMarginalLogLikelihood";

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * GPyTorch's VariationalELBO: Σ E_q[log p(y_i
 * f_i)] scaled to numData, minus beta · KL, divided by numData.
 */
export class VariationalELBO extends ApproximateMarginalLogLikelihood {
  /** Bernoulli, StudentT, Laplace and Softmax likelihoods: E_q[log p(y | f)] by their quadrature. */
  protected integratedTerms(likelihood: VariationalLikelihood, y: Mat, mean: Float64Array, variance: Float64Array, numOutputs: number, paramGradScale?: number): ExpectedLogLikelihood {
    return likelihood.expectedLogProb(y, mean, variance, numOutputs, paramGradScale);
  }

  protected pointTerm(y: number, mean: number, variance: number, s: number): PointTerm {
    const r = y - mean;
    const q = (r * r + variance) / s;
    return { value: -0.5 * (q + Math.log(s) + LOG_2PI), dMean: r / s, dVar: -0.5 / s, dNoise: 0.5 * (q / s - 1 / s) };
  }
}
