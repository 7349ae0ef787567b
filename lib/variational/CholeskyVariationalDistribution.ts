// Full-covariance q(u') = N(m, L L^T), L = tril(cholVariationalCovar): the
// strictly upper part is ignored and the diagonal may be negative, exactly as
// GPyTorch's CholeskyVariationalDistribution. Initialised like GPyTorch from
// the whitened prior: m = meanInitStd * randn (seeded), L = I.
// State keys: variationalMean [..., M], cholVariationalCovar [..., M, M].

import { type Mat, mat } from "../algorithms/matrix";
import { Parameter } from "../module/Parameter";
import { globalRandom } from "../random";
import { VariationalDistribution, type VariationalDistributionOptions } from "./VariationalDistribution";

export class CholeskyVariationalDistribution extends VariationalDistribution {
  /** shape: [...batchShape, M] */
  readonly variationalMean: Parameter;
  /** shape: [...batchShape, M, M] (lower triangle used) */
  readonly cholVariationalCovar: Parameter;

  constructor(options: VariationalDistributionOptions) {
    super(options);
    const M = this.numInducingPoints, b = this.distributionBatchShape;
    this.variationalMean = this.registerParameter("variationalMean", new Parameter([...b, M]));
    this.variationalMean.setRaw(globalRandom.normals(this.variationalMean.size).map((v) => v * (options.meanInitStd ?? 1e-3)));
    this.cholVariationalCovar = this.registerParameter("cholVariationalCovar", new Parameter([...b, M, M]));
    for (let q = 0; q < this.numMembers; q++) for (let i = 0; i < M; i++) this.cholVariationalCovar.raw[q * M * M + i * M + i] = 1;
  }

  meanF64(q: number): Float64Array {
    this.checkMember(q);
    const M = this.numInducingPoints;
    return this.variationalMean.raw.slice(q * M, (q + 1) * M);
  }

  rootF64(q: number): Mat {
    this.checkMember(q);
    const M = this.numInducingPoints;
    const L = mat(M, M);
    const raw = this.cholVariationalCovar.raw;
    for (let i = 0; i < M; i++) for (let j = 0; j <= i; j++) L.data[i * M + j] = raw[q * M * M + i * M + j];
    return L;
  }

  backward(q: number, dMean: Float64Array, dRoot: Mat): void {
    const M = this.numInducingPoints;
    for (let i = 0; i < M; i++) this.variationalMean.grad[q * M + i] += dMean[i];
    for (let i = 0; i < M; i++) for (let j = 0; j <= i; j++) this.cholVariationalCovar.grad[q * M * M + i * M + j] += dRoot.data[i * M + j];
  }
}
