// Observation models for exact GPs: y = f + eps with Gaussian noise, whose
// covariance is a diagonal added to the latent covariance.

import type { Mat } from "../algorithms/matrix";
import { MultivariateNormal } from "../distributions/MultivariateNormal";
import { Module } from "../module/Module";
import { DiagLinearOperator } from "../operators/DiagLinearOperator";

export abstract class GaussianLikelihoodBase extends Module {
  /**
   * Noise variances at the training inputs (or at test inputs x, for
   * predictions with noise). shape: [n]
   */
  abstract noiseF64(n: number, x?: Mat, options?: { test?: boolean; noise?: ArrayLike<number> }): Float64Array;

  /** Adds sum_i dNoise[i] * d noise_i / d raw to the grads. */
  abstract backwardNoise(dNoise: Float64Array): void;

  /** The distribution of y: covariance K + diag(noise). */
  marginal(f: MultivariateNormal, options: { noise?: ArrayLike<number> } = {}): MultivariateNormal {
    const noise = this.noiseF64(f.size, undefined, { test: true, noise: options.noise });
    return new MultivariateNormal(f.meanOrigin ?? f.meanF64, f.lazyCovarianceMatrix.add(new DiagLinearOperator(noise)));
  }
}
