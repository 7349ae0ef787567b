// Full-covariance q(u') = N(m, L L^T), L = tril(cholVariationalCovar): the
// strictly upper part is ignored and the diagonal may be negative, exactly as
// GPyTorch's CholeskyVariationalDistribution. Initialised like GPyTorch from
// the whitened prior: m = meanInitStd * randn (seeded), L = I.
// State keys: variationalMean [..., M], cholVariationalCovar [..., M, M].

import { type Mat, mat } from "../algorithms/matrix";
import { Parameter } from "../module/Parameter";
import { MeanRootVariationalDistribution, type VariationalDistributionOptions } from "./VariationalDistribution";

export class CholeskyVariationalDistribution extends MeanRootVariationalDistribution {
  /** shape: [...batchShape, M, M] (lower triangle used) */
  readonly cholVariationalCovar: Parameter;

  constructor(options: VariationalDistributionOptions) {
    super(options);
    const M = this.numInducingPoints, b = this.distributionBatchShape;
    this.cholVariationalCovar = this.registerParameter("cholVariationalCovar", new Parameter([...b, M, M]));
    for (let q = 0; q < this.numMembers; q++) for (let i = 0; i < M; i++) this.cholVariationalCovar.raw[q * M * M + i * M + i] = 1;
  }

  rootF64(q: number): Mat {
    this.checkMember(q);
    const M = this.numInducingPoints;
    const L = mat(M, M);
    const raw = this.cholVariationalCovar.raw, o = q * M * M;
    for (let i = 0; i < M; i++) L.data.set(raw.subarray(o + i * M, o + i * M + i + 1), i * M);
    return L;
  }

  /** The shared KL formula, read from the parameter in place (no copy of L a call). */
  override klDivergence(q: number): number {
    this.checkMember(q);
    const M = this.numInducingPoints;
    const m = this.variationalMean.raw, L = this.cholVariationalCovar.raw, om = q * M, o = q * M * M;
    let s = -M;
    for (let i = 0; i < M; i++) {
      s += m[om + i] * m[om + i] - 2 * Math.log(Math.abs(L[o + i * M + i]));
      for (let j = 0; j <= i; j++) s += L[o + i * M + j] ** 2;
    }
    return 0.5 * s;
  }

  backward(q: number, dMean: Float64Array, dRoot: Mat): void {
    const M = this.numInducingPoints;
    this.backwardMean(q, dMean);
    for (let i = 0; i < M; i++) for (let j = 0; j <= i; j++) this.cholVariationalCovar.grad[q * M * M + i * M + j] += dRoot.data[i * M + j];
  }
}
