// q(u') = N(m, S) over the whitened inducing values of each latent function,
// S = L L^T with a lower-triangular root L. Subclasses say how m and L come
// from their parameters; the KL to the whitened prior N(0, I) and its
// gradient are shared:
//   KL = 1/2 (||L||_F^2 + m^T m - M - 2 sum_i log|L_ii|)
//   dKL/dm = m,  dKL/dL = L - diag(1 / L_ii)   (lower triangle)

import { type Mat, mat } from "../algorithms/matrix";
import { ArgumentError } from "../errors";
import { Module } from "../module/Module";
import { Parameter } from "../module/Parameter";
import { globalRandom } from "../random";

/** Options of the variational distributions. */
export interface VariationalDistributionOptions {
  /** M, the number of inducing points. */
  numInducingPoints: number;
  /** `[b]`: one distribution per latent function (GPyTorch's batch_shape). */
  batchShape?: number[];
  /** Standard deviation of the random initial mean (GPyTorch: 1e-3). */
  meanInitStd?: number;
}

export abstract class VariationalDistribution extends Module {
  /** M, the number of inducing points. */
  readonly numInducingPoints: number;
  /** Number of independent distributions (the batch size, 1 without a batch). */
  readonly numMembers: number;
  /** The batch dimensions of the parameters ([] or [b]). */
  readonly distributionBatchShape: readonly number[];

  constructor(options: VariationalDistributionOptions) {
    super();
    const M = options?.numInducingPoints;
    if (!Number.isInteger(M) || M < 1) throw new ArgumentError(`numInducingPoints must be a positive integer, got ${M}`);
    const batch = options.batchShape ?? [];
    if (batch.length > 1 || (batch.length === 1 && (!Number.isInteger(batch[0]) || batch[0] < 1))) {
      throw new ArgumentError(`batchShape must be [] or [b] with b a positive integer, got [${batch}]`);
    }
    this.numInducingPoints = M;
    this.distributionBatchShape = [...batch];
    this.numMembers = batch.length ? batch[0] : 1;
  }

  /** Mean m of member q. shape: [M] */
  abstract meanF64(q: number): Float64Array;
  /** Lower-triangular root L of member q's covariance S = L L^T. shape: [M, M] */
  abstract rootF64(q: number): Mat;
  /** Adds dF/dm and dF/dL (lower triangle) of member q into the parameter grads. */
  abstract backward(q: number, dMean: Float64Array, dRoot: Mat): void;

  /** KL(q_q || N(0, I)) of member q. */
  klDivergence(q: number): number {
    const m = this.meanF64(q);
    const L = this.rootF64(q);
    const M = this.numInducingPoints;
    let s = -M;
    for (let i = 0; i < M; i++) {
      s += m[i] * m[i] - 2 * Math.log(Math.abs(L.data[i * M + i]));
      for (let j = 0; j <= i; j++) s += L.data[i * M + j] ** 2;
    }
    return 0.5 * s;
  }

  /**
   * Adds -scale * dKL/d(m, L) into dMean and dRoot (in place); `current`
   * passes member q's mean and root when the caller already holds them.
   */
  addKLGradient(q: number, scale: number, dMean: Float64Array, dRoot: Mat, current?: { mean: Float64Array; root: Mat }): void {
    const m = current?.mean ?? this.meanF64(q);
    const L = current?.root ?? this.rootF64(q);
    const M = this.numInducingPoints;
    for (let i = 0; i < M; i++) {
      dMean[i] -= scale * m[i];
      for (let j = 0; j <= i; j++) dRoot.data[i * M + j] -= scale * L.data[i * M + j];
      dRoot.data[i * M + i] += scale / L.data[i * M + i];
    }
  }

  /** Throws unless q names a member of the batch. */
  protected checkMember(q: number): void {
    if (!Number.isInteger(q) || q < 0 || q >= this.numMembers) throw new ArgumentError(`latent ${q} is out of range [0, ${this.numMembers})`);
  }

  /** A fresh M x M matrix (helper for subclasses). */
  protected squareMat(): Mat {
    return mat(this.numInducingPoints, this.numInducingPoints);
  }
}

/**
 * Distributions parameterised by the mean itself (variationalMean) and a
 * root of the covariance (Cholesky, mean-field).
 */
export abstract class MeanRootVariationalDistribution extends VariationalDistribution {
  /** The whitened mean m. shape: [...batchShape, M] */
  readonly variationalMean: Parameter;

  constructor(options: VariationalDistributionOptions) {
    super(options);
    // Registered first, so state keys come in GPyTorch's order (variationalMean, then the covariance).
    this.variationalMean = this.registerParameter("variationalMean", new Parameter([...this.distributionBatchShape, this.numInducingPoints]));
    this.variationalMean.setRaw(globalRandom.normals(this.variationalMean.size).map((v) => v * (options.meanInitStd ?? 1e-3)));
  }

  meanF64(q: number): Float64Array {
    this.checkMember(q);
    const M = this.numInducingPoints;
    return this.variationalMean.raw.slice(q * M, (q + 1) * M);
  }

  /** Adds dF/dm of member q into the mean's gradient. */
  protected backwardMean(q: number, dMean: Float64Array): void {
    const M = this.numInducingPoints;
    for (let i = 0; i < M; i++) this.variationalMean.grad[q * M + i] += dMean[i];
  }
}
