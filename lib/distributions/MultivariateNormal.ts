// N(mean, K) with a lazy covariance: the variance comes from the
// operator's O(n) diagonal path, samples from its root decomposition, and
// the log-density from one invQuadLogdet.

import * as tf from "@tensorflow/tfjs-core";
import { type Mat, mat } from "../algorithms/matrix";
import type { SolveOptions } from "../algorithms/settings";
import { resolveSolveOptions } from "../algorithms/settings";
import { ShapeError } from "../errors";
import { type MeanOrigin, meanOrigin } from "../means/Mean";
import type { LinearOperator } from "../operators/LinearOperator";
import { LowRankRootLinearOperator } from "../operators/LowRankRootLinearOperator";
import { type TensorLike, matToTensor, toVector, vectorToTensor } from "../tensorLike";

/**
 * N(mean, K) with a lazy covariance (GPyTorch's MultivariateNormal): the variance is the operator's
 * diagonal and samples use its root decomposition, so K is never formed.
 */
export class MultivariateNormal {
  /** f64 mean. shape: [n] */
  readonly meanF64: Float64Array;
  /**
   * How the mean depends on parameters, when it came from a Mean module.
   * @internal
   */
  readonly meanOrigin: MeanOrigin | null;

  /**
   * @param mean shape [n]: a tensor (one a Mean module returned keeps f64 and
   *   its gradient), number[] or Float64Array.
   * @param lazyCovarianceMatrix lazy n x n operator (e.g. kernel.call(x)).
   */
  constructor(mean: TensorLike | MeanOrigin, readonly lazyCovarianceMatrix: LinearOperator) {
    const origin = isOrigin(mean) ? mean : mean instanceof tf.Tensor ? meanOrigin(mean) : undefined;
    this.meanOrigin = origin ?? null;
    this.meanF64 = origin ? origin.values : toVector(mean as TensorLike, "mean");
    const [r, c] = lazyCovarianceMatrix.shape;
    if (r !== c || r !== this.meanF64.length) {
      throw new ShapeError(`MultivariateNormal: mean has ${this.meanF64.length} entries but the covariance is ${r} x ${c}`);
    }
  }

  /** n, the dimension. */
  get size(): number {
    return this.meanF64.length;
  }

  /** The mean. shape: [n] */
  get mean(): tf.Tensor1D {
    return vectorToTensor(this.meanF64);
  }

  /** The lazy covariance operator (GPyTorch: lazy_covariance_matrix). */
  get covarianceMatrix(): LinearOperator {
    return this.lazyCovarianceMatrix;
  }

  /** diag(K), O(n). */
  varianceF64(): Float64Array {
    return this.lazyCovarianceMatrix.diagonalF64();
  }

  /** The marginal variances diag(K). shape: [n] */
  get variance(): tf.Tensor1D {
    return vectorToTensor(this.varianceF64());
  }

  /** The marginal standard deviations. shape: [n] */
  get stddev(): tf.Tensor1D {
    return vectorToTensor(this.varianceF64().map((v) => Math.sqrt(Math.max(v, 0))));
  }

  /** mean -/+ 2 standard deviations, like GPyTorch. */
  confidenceRegion(): [tf.Tensor1D, tf.Tensor1D] {
    const v = this.varianceF64();
    const lo = this.meanF64.map((m, i) => m - 2 * Math.sqrt(Math.max(v[i], 0)));
    const hi = this.meanF64.map((m, i) => m + 2 * Math.sqrt(Math.max(v[i], 0)));
    return [vectorToTensor(lo), vectorToTensor(hi)];
  }

  /**
   * Draws mean + R e with R R^T = K (Cholesky at or below maxCholeskySize,
   * Lanczos root above), e from the seeded generator. shape: [numSamples, n]
   */
  sampleF64(numSamples = 1, options: SolveOptions = {}): Mat {
    const o = resolveSolveOptions(options);
    // rootDecomposition returns R R^T as an operator; sample with R itself.
    const decomposition = this.lazyCovarianceMatrix.rootDecomposition(o);
    const root: Mat = decomposition instanceof LowRankRootLinearOperator ? decomposition.root : decomposition.toDenseF64();
    const k = root.cols;
    const n = this.size;
    // Draw-major normals: the first s draws do not depend on numSamples.
    const e = o.random.normals(numSamples * k);
    const out = mat(numSamples, n);
    for (let s = 0; s < numSamples; s++) {
      for (let i = 0; i < n; i++) {
        let v = this.meanF64[i];
        for (let q = 0; q < k; q++) v += root.data[i * k + q] * e[s * k + q];
        out.data[s * n + i] = v;
      }
    }
    return out;
  }

  /** Draws samples mean + R z with R Rᵀ = K (rootDecomposition). shape: [numSamples, n] */
  sample(numSamples = 1, options: SolveOptions = {}): tf.Tensor2D {
    return matToTensor(this.sampleF64(numSamples, options));
  }

  /** log N(y | mean, K). */
  async logProb(y: TensorLike, options: SolveOptions = {}): Promise<number> {
    const v = toVector(y, "value");
    if (v.length !== this.size) throw new ShapeError(`logProb: value has ${v.length} entries, the distribution ${this.size}`);
    const r = mat(v.length, 1, v.map((x, i) => x - this.meanF64[i]));
    const { invQuad, logdet } = this.lazyCovarianceMatrix.invQuadLogdetF64(r, options);
    return -0.5 * (invQuad + logdet + v.length * Math.log(2 * Math.PI));
  }

  /** One line: dimension and covariance structure. */
  toString(): string {
    return `MultivariateNormal(size ${this.size}, covariance ${this.lazyCovarianceMatrix.describe()})`;
  }
}

function isOrigin(x: unknown): x is MeanOrigin {
  return typeof x === "object" && x !== null && "values" in x && "backward" in x && (x as MeanOrigin).values instanceof Float64Array;
}
