import type * as tf from "@tensorflow/tfjs-core";
import type { Mat } from "../algorithms/matrix";
import { type Constraint, Positive } from "../constraints/Interval";
import { ArgumentError, ShapeError } from "../errors";
import { Parameter } from "../module/Parameter";
import { identityProfile } from "../reductions/profiles";
import { globalRandom } from "../random";
import { matToTensor } from "../tensorLike";
import { Kernel, featureArray } from "./Kernel";
import { KernelFormula } from "./KernelFormula";

/** Options of IndexKernel. */
export interface IndexOptions {
  /** Number of tasks T (task indices 0..T-1). */
  numTasks: number;
  /** Rank of the low-rank part W W^T (default 1). */
  rank?: number;
  /** Constraint of the per-task variances (default Positive). */
  varConstraint?: Constraint;
  /** The input column holding the task index (default: the only column). */
  activeDims?: number[];
}

/**
 * Covariance between task indices: B = W W^T + diag(var), W [numTasks, rank].
 * Inputs are [n, 1] integer task indices; the formula is a table lookup, so
 * d/dB_ab arrives as one accumulator per table entry: d/dW = (G + G^T) W,
 * d/dvar_a = G_aa. W starts at seeded standard normals like GPyTorch's randn.
 */
export class IndexKernel extends Kernel {
  /** Number of tasks. */
  readonly numTasks: number;
  /** Rank of the low-rank part B Bᵀ of the task covariance. */
  readonly rank: number;
  /** shape: [numTasks, rank], unconstrained. */
  readonly covarFactor: Parameter;
  /** shape: [numTasks] */
  readonly rawVar: Parameter;

  constructor(options: IndexOptions) {
    super({ activeDims: options?.activeDims });
    if (!options || !Number.isInteger(options.numTasks) || options.numTasks < 1) throw new ArgumentError(`IndexKernel needs { numTasks } a positive integer, got ${options?.numTasks}`);
    this.numTasks = options.numTasks;
    this.rank = options.rank ?? 1;
    this.covarFactor = this.registerParameter("covarFactor", new Parameter([this.numTasks, this.rank]));
    this.covarFactor.setRaw(globalRandom.normals(this.numTasks * this.rank));
    this.rawVar = this.registerParameter("rawVar", new Parameter([this.numTasks], options.varConstraint ?? new Positive()));
    this.rawVar.setRaw(globalRandom.normals(this.numTasks));
  }

  /** B = W W^T + diag(var), f64 row-major. shape: [numTasks, numTasks] */
  covarMatrixF64(): Float64Array {
    const T = this.numTasks, r = this.rank;
    const W = this.covarFactor.raw;
    const B = new Float64Array(T * T);
    for (let a = 0; a < T; a++) {
      for (let b = 0; b < T; b++) {
        let s = 0;
        for (let q = 0; q < r; q++) s += W[a * r + q] * W[b * r + q];
        B[a * T + b] = s;
      }
      B[a * T + a] += this.rawVar.valueAt(a);
    }
    return B;
  }

  /** The task covariance B as a tensor. shape: [numTasks, numTasks] */
  get covarMatrix(): tf.Tensor2D {
    return matToTensor({ rows: this.numTasks, cols: this.numTasks, data: this.covarMatrixF64() });
  }

  override inputDims(): number | null {
    return null;
  }

  protected formulaFor(x1: Mat, x2: Mat): KernelFormula {
    const T = this.numTasks, r = this.rank;
    const idx = (x: Mat, what: string) => {
      if (x.cols !== 1) throw new ShapeError(`IndexKernel takes task indices of shape [n, 1], got ${what} with ${x.cols} columns (use activeDims to pick the index column)`);
      const f = featureArray(x.rows);
      for (let i = 0; i < x.rows; i++) {
        const v = x.data[i];
        if (!Number.isInteger(v) || v < 0 || v >= T) throw new ShapeError(`IndexKernel: ${what}[${i}] = ${v} is not a task index in [0, ${T})`);
        f[i] = v;
      }
      return f;
    };
    const x = idx(x1, "x1");
    const factor = { statistic: "table" as const, dims: 1, x, y: x1 === x2 ? x : idx(x2, "x2"), table: this.covarMatrixF64(), tableSize: T, profile: identityProfile, params: new Float64Array(0) };
    return KernelFormula.of(x1.rows, x2.rows, factor, (acc, slots) => {
      const G = acc.subarray(slots.table, slots.table + T * T);
      const W = this.covarFactor.raw;
      for (let a = 0; a < T; a++) {
        this.rawVar.addValueGrad(a, G[a * T + a]);
        for (let q = 0; q < r; q++) {
          let s = 0;
          for (let b = 0; b < T; b++) s += (G[a * T + b] + G[b * T + a]) * W[b * r + q];
          this.covarFactor.addValueGrad(a * r + q, s);
        }
      }
    });
  }
}
