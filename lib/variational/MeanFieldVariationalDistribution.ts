// Diagonal q(u') = N(m, diag(s^2)), s = max(|variationalStddev|, 1e-8) like
// GPyTorch's MeanFieldVariationalDistribution (state keys variationalMean,
// variationalStddev; GPyTorch's "_variational_stddev" maps onto it).
// Initialised at m = meanInitStd * randn (seeded), s = 1.

import { type Mat, mat } from "../algorithms/matrix";
import { Parameter } from "../module/Parameter";
import { MeanRootVariationalDistribution, type VariationalDistributionOptions } from "./VariationalDistribution";

const MIN_STDDEV = 1e-8;

export class MeanFieldVariationalDistribution extends MeanRootVariationalDistribution {
  /** shape: [...batchShape, M]; the standard deviations are its absolute values. */
  readonly variationalStddev: Parameter;

  constructor(options: VariationalDistributionOptions) {
    super(options);
    const M = this.numInducingPoints, b = this.distributionBatchShape;
    this.variationalStddev = this.registerParameter("variationalStddev", new Parameter([...b, M], null, 1));
  }

  rootF64(q: number): Mat {
    this.checkMember(q);
    const M = this.numInducingPoints;
    const L = mat(M, M);
    for (let i = 0; i < M; i++) L.data[i * M + i] = Math.max(Math.abs(this.variationalStddev.raw[q * M + i]), MIN_STDDEV);
    return L;
  }

  backward(q: number, dMean: Float64Array, dRoot: Mat): void {
    const M = this.numInducingPoints;
    this.backwardMean(q, dMean);
    for (let i = 0; i < M; i++) {
      const r = this.variationalStddev.raw[q * M + i];
      // d|r|/dr = sign(r); zero where the clamp is active.
      if (Math.abs(r) > MIN_STDDEV) this.variationalStddev.grad[q * M + i] += Math.sign(r) * dRoot.data[i * M + i];
    }
  }
}
