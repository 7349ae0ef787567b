// GPyTorch's BernoulliLikelihood for binary classification (probit link):
//   p(y = 1 | f) = Phi(f),  log p(y | f) = log Phi((2y - 1) f),  y in {0, 1}.
// The ELBO integrates GPyTorch's approximate log_normal_cdf by 20-point
// Gauss–Hermite, so values match GPyTorch's; the predictive probability is
// exact: p(y = 1) = Phi(mu / sqrt(1 + var)). No parameters.

import type { Mat } from "../algorithms/matrix";
import { LabelError, ShapeError } from "../errors";
import { gpytorchLogNormalCdf, normalCdf, normalPdf } from "./specialFunctions";
import { type ExpectedLogLikelihood, type LatentMarginalsLike, type ObservationMarginal, OneDimensionalLikelihood, readMarginals } from "./VariationalLikelihood";

/** Options of BernoulliLikelihood. */
export interface BernoulliLikelihoodOptions {
  /** Gauss–Hermite locations for the expected log likelihood (default 20, GPyTorch's). */
  numGaussHermiteLocs?: number;
}

/** Probit binary classification: labels 0 / 1, p(y = 1 | f) = Phi(f). */
export class BernoulliLikelihood extends OneDimensionalLikelihood {
  constructor(options: BernoulliLikelihoodOptions = {}) {
    super(0, options.numGaussHermiteLocs);
  }

  protected logProbTerms(y: number, f: number, out: Float64Array): void {
    const sign = 2 * y - 1;
    const r = gpytorchLogNormalCdf(sign * f);
    out[0] = r.value;
    out[1] = sign * r.derivative;
  }

  protected addParameterGradients(): void {}

  protected override checkTarget(y: number, index: number): void {
    if (y !== 0 && y !== 1) {
      throw new LabelError(
        `BernoulliLikelihood needs labels 0 or 1, but y[${index}] = ${y}. Map the two classes to 0 and 1 (for -1/+1 labels: (y + 1) / 2); for more than two classes use SoftmaxLikelihood`,
      );
    }
  }

  /**
   * sum_i log p(y_i) under the exact marginal, log Phi((2y - 1) mu / sqrt(1 + var))
   * (GPyTorch's BernoulliLikelihood.log_marginal), with its gradients.
   */
  override logMarginal(y: Mat, mean: Float64Array, variance: Float64Array, numOutputs: number): ExpectedLogLikelihood {
    const n = mean.length;
    if (y.data.length !== n || variance.length !== n) throw new ShapeError(`BernoulliLikelihood: ${y.data.length} targets for ${n} marginals; pass y as [B${numOutputs === 1 ? "" : `, ${numOutputs}`}]`);
    const dMean = new Float64Array(n), dVariance = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      this.checkTarget(y.data[i], i);
      const sign = 2 * y.data[i] - 1, root = Math.sqrt(1 + variance[i]);
      const a = (sign * mean[i]) / root;
      const p = normalCdf(a);
      const ratio = normalPdf(a) / p; // d log Phi(a) / da
      sum += Math.log(p);
      dMean[i] = (ratio * sign) / root;
      dVariance[i] = (-ratio * a) / (2 * (1 + variance[i]));
    }
    return { sum, dMean, dVariance };
  }

  /** p(y = 1) = Phi(mu / sqrt(1 + var)) (exact); variance p (1 - p). */
  marginal(f: LatentMarginalsLike): ObservationMarginal {
    const { mean, variance } = readMarginals(f);
    const p = mean.map((m, i) => normalCdf(m / Math.sqrt(1 + variance[i])));
    return { mean: p, variance: p.map((v) => v * (1 - v)), method: "exact" };
  }
}
