// A Gaussian over n points x T tasks: mean [n, T] and a lazy covariance over
// the (point, task) pairs, ordered point-major like GPyTorch (row i * T + t).
// The variance comes from the operator's O(n T) diagonal path.

import type * as tf from "@tensorflow/tfjs-core";
import { mat } from "../algorithms/matrix";
import { ShapeError } from "../errors";
import type { LinearOperator } from "../operators/LinearOperator";
import { matToTensor } from "../tensorLike";

/** A multitask normal over n points x T tasks (GPyTorch's MultitaskMultivariateNormal), interleaved by point. */
export class MultitaskMultivariateNormal {
  /** T, the number of tasks. */
  readonly numTasks: number;
  /** Number of points. */
  readonly size: number;

  /**
   * @param meanF64 [n, T] row-major
   * @param lazyCovarianceMatrix [n T, n T], point-major
   */
  constructor(readonly meanF64: Float64Array, numTasks: number, readonly lazyCovarianceMatrix: LinearOperator) {
    this.numTasks = numTasks;
    this.size = meanF64.length / numTasks;
    const [r, c] = lazyCovarianceMatrix.shape;
    if (!Number.isInteger(this.size) || r !== c || r !== meanF64.length) {
      throw new ShapeError(`MultitaskMultivariateNormal: mean has ${meanF64.length} entries (${numTasks} tasks) but the covariance is ${r} x ${c}`);
    }
  }

  /** shape: [n, T] */
  get mean(): tf.Tensor2D {
    return matToTensor(mat(this.size, this.numTasks, this.meanF64));
  }

  /** diag of the covariance, O(n T). shape: [n T] (point-major) */
  varianceF64(): Float64Array {
    return this.lazyCovarianceMatrix.diagonalF64();
  }

  /** shape: [n, T] */
  get variance(): tf.Tensor2D {
    return matToTensor(mat(this.size, this.numTasks, this.varianceF64()));
  }

  /** mean -/+ 2 standard deviations. shapes: [n, T] */
  confidenceRegion(): [tf.Tensor2D, tf.Tensor2D] {
    const v = this.varianceF64();
    const sd = v.map((x) => Math.sqrt(Math.max(x, 0)));
    return [
      matToTensor(mat(this.size, this.numTasks, this.meanF64.map((m, i) => m - 2 * sd[i]))),
      matToTensor(mat(this.size, this.numTasks, this.meanF64.map((m, i) => m + 2 * sd[i]))),
    ];
  }

  /** One line: points, tasks and covariance structure. */
  toString(): string {
    return `MultitaskMultivariateNormal(${this.size} points x ${this.numTasks} tasks, covariance ${this.lazyCovarianceMatrix.describe()})`;
  }
}
