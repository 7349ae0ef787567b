// Kernel base class. A kernel is defined once, as a formula (KernelFormula)
// over its inputs; `forward` turns that into a lazy KernelOperator, or into
// the O(n) diagonal when `diag` is set: the diagonal path evaluates n pairs
// (i, i), so no kernel and no composition can return n x n where n was asked.

import type * as tf from "@tensorflow/tfjs-core";
import { type Mat, mat } from "../algorithms/matrix";
import type { Constraint } from "../constraints/Interval";
import { Positive } from "../constraints/Interval";
import type { KernelDisplayData } from "../displayData";
import { JUPYTER_DISPLAY, type MimeBundle, renderBundle } from "../displayHooks";
import { ArgumentError, ShapeError } from "../errors";
import { Module } from "../module/Module";
import { Parameter } from "../module/Parameter";
import type { Prior } from "../priors/Prior";
import type { LinearOperator } from "../operators/LinearOperator";
import type { ReductionOptions } from "../reductions/engine";
import { sharedF64 } from "../reductions/fusedExecutor";
import { type TensorLike, toMat, vectorToTensor } from "../tensorLike";
import type { KernelFormula } from "./KernelFormula";
import { KernelOperator } from "./KernelOperator";

/** Options every kernel with a lengthscale takes (RBF, Matern, RQ, Periodic, SpectralMixture). */
export interface KernelOptions {
  /** One lengthscale per input dimension (GPyTorch's ard_num_dims). */
  ardNumDims?: number;
  /** Input columns this kernel reads (default: all). */
  activeDims?: number[];
  /** Constraint of the lengthscale (default Positive). */
  lengthscaleConstraint?: Constraint;
  /** Prior on the (constrained) lengthscale, added to the MLL (GPyTorch's lengthscale_prior). */
  lengthscalePrior?: Prior;
  /**
   * `[b]`: b independent kernels in one module (GPyTorch's batch_shape), e.g.
   * one per latent function of a multitask GP. Parameters get a leading
   * dimension b; evaluate member q with kernel.batchMember(q).
   */
  batchShape?: number[];
}

/** Options of `kernel.call(x1, x2, options)`. */
export interface CallOptions {
  /** Return k(x1_i, x2_i), shape [n], instead of the n x m operator. */
  diag?: boolean;
  /** Executor / threads for this operator's reductions. */
  reduction?: ReductionOptions;
}

/** Kernel inputs: a tf.Tensor, number[][] or a Mat of shape [n, d]; number[] is n points of dimension 1. */
export type KernelInput = TensorLike | Mat;

/** Above this many values, features go in shared memory so worker threads read them without copies. */
const SHARED_FEATURES_MIN = 1 << 15;

export function featureArray(length: number): Float64Array {
  return length >= SHARED_FEATURES_MIN ? sharedF64(length) : new Float64Array(length);
}

/** x[:, k] * scale / divisor[k or 0]: the pre-transformed features of a factor. shape: [n, d] */
export function scaledFeatures(x: Mat, divisor: Float64Array, scale = 1): Float64Array {
  const out = featureArray(x.data.length);
  const d = x.cols;
  for (let i = 0; i < x.rows; i++) {
    for (let k = 0; k < d; k++) out[i * d + k] = (x.data[i * d + k] * scale) / divisor[divisor.length === 1 ? 0 : k];
  }
  return out;
}

export abstract class Kernel extends Module {
  /** The input columns this kernel reads (null: all), GPyTorch's active_dims. */
  readonly activeDims: number[] | null;
  /** Number of lengthscales, one per input dimension (null: one shared), GPyTorch's ard_num_dims. */
  readonly ardNumDims: number | null;

  constructor(options: KernelOptions = {}) {
    super();
    this.setBatchShape(options.batchShape);
    this.activeDims = options.activeDims ? [...options.activeDims] : null;
    this.ardNumDims = options.ardNumDims ?? null;
    if (this.ardNumDims !== null && (!Number.isInteger(this.ardNumDims) || this.ardNumDims < 1)) {
      throw new ArgumentError(`ardNumDims must be a positive integer, got ${this.ardNumDims}`);
    }
    if (this.activeDims && this.ardNumDims !== null && this.activeDims.length !== this.ardNumDims) {
      throw new ArgumentError(`activeDims has ${this.activeDims.length} entries but ardNumDims is ${this.ardNumDims}`);
    }
  }

  /** e.g. "RBFKernel", "ScaleKernel(RBFKernel)". */
  get name(): string {
    return this.constructor.name;
  }

  /**
   * The kernel's formula on inputs already restricted to activeDims.
   * shapes: x1 [n, d], x2 [m, d]
   */
  protected abstract formulaFor(x1: Mat, x2: Mat): KernelFormula;

  /** The formula on raw inputs (activeDims applied). Composite kernels call this on children. */
  buildFormula(x1: Mat, x2: Mat): KernelFormula {
    if (this.batchShape.length) {
      throw new ShapeError(`${this.name} is a batch of ${this.batchShape[0]} kernels (batchShape [${this.batchShape}]); evaluate one of them with kernel.batchMember(q)`);
    }
    return this.formulaFor(this.selectDims(x1, "x1"), this.selectDims(x2, "x2"));
  }

  /**
   * GPyTorch's contract: the n x m covariance of x1 [n, d] and x2 [m, d] as a
   * lazy operator, or with `diag` its diagonal, shape [n] (n pair evaluations).
   */
  forward(x1: KernelInput, x2: KernelInput, options: CallOptions & { diag: true }): tf.Tensor1D;
  forward(x1: KernelInput, x2: KernelInput, options?: CallOptions & { diag?: false }): LinearOperator;
  forward(x1: KernelInput, x2: KernelInput, options?: CallOptions): LinearOperator | tf.Tensor1D;
  forward(x1: KernelInput, x2: KernelInput, options: CallOptions = {}): LinearOperator | tf.Tensor1D {
    const a = toMat(x1, "x1");
    const b = x2 === x1 ? a : toMat(x2, "x2");
    if (options.diag) return vectorToTensor(this.diagF64(a, b, options));
    return this.operatorF64(a, b, options);
  }

  /** k(x1, x2) (x2 defaults to x1): lazy operator, or the diagonal [n] with `diag`. */
  call(x1: KernelInput, x2?: KernelInput | null, options?: CallOptions & { diag?: false }): LinearOperator;
  call(x1: KernelInput, x2: KernelInput | null | undefined, options: CallOptions & { diag: true }): tf.Tensor1D;
  call(x1: KernelInput, x2?: KernelInput | null, options?: CallOptions): LinearOperator | tf.Tensor1D;
  call(x1: KernelInput, x2?: KernelInput | null, options: CallOptions = {}): LinearOperator | tf.Tensor1D {
    return this.forward(x1, x2 ?? x1, options);
  }

  /** The lazy covariance in f64 (symmetric when x2 is x1). */
  operatorF64(x1: Mat, x2: Mat, options: CallOptions = {}): LinearOperator {
    this.checkPair(x1, x2);
    return new KernelOperator(this.buildFormula(x1, x2), this.shortName(), { symmetric: x1 === x2, reduction: options.reduction, label: this.shortName() });
  }

  /** k(x1_i, x2_i) in f64, n pair evaluations. shape: [n] */
  diagF64(x1: Mat, x2: Mat, options: CallOptions = {}): Float64Array {
    this.checkPair(x1, x2);
    if (x1.rows !== x2.rows) throw new ShapeError(`diag needs x1 and x2 with the same number of rows, got ${x1.rows} and ${x2.rows}`);
    return new KernelOperator(this.buildFormula(x1, x2), this.shortName(), { reduction: options.reduction }).diagonalF64();
  }

  /** k1 + k2 (GPyTorch's AdditiveKernel). */
  add(other: Kernel): Kernel {
    return new kernelAlgebra.Additive(this, other);
  }

  /** k1 * k2 elementwise (GPyTorch's ProductKernel). */
  mul(other: Kernel): Kernel {
    return new kernelAlgebra.Product(this, other);
  }

  /** "RBF", "Scale(RBF)": labels in operator structure trees. */
  shortName(): string {
    return this.name.replace(/Kernel/g, "");
  }

  /** Input width this kernel expects, when it knows (ARD or activeDims). */
  inputDims(): number | null {
    if (this.activeDims) return Math.max(...this.activeDims) + 1;
    return this.ardNumDims;
  }

  /**
   * The record gp.display draws (hyperparameters, structure, slice k(x0, x)).
   * @internal
   */
  displayData(): KernelDisplayData {
    const data: KernelDisplayData = { kind: "kernel", name: this.name, hyperparameters: this.hyperparameterRows() };
    try {
      const d = this.inputDims() ?? 1;
      const xs = Array.from({ length: 101 }, (_, i) => -3 + (6 * i) / 100);
      const grid = mat(xs.length, d);
      xs.forEach((v, i) => (grid.data[i * d] = v));
      const k = this.operatorF64(mat(1, d), grid).rowsF64(Int32Array.of(0)).data;
      data.slice = { x: xs, k: Array.from(k) };
    } catch {
      // Kernels over task indices have no meaningful slice.
    }
    return data;
  }

  override toString(): string {
    const rows = this.hyperparameterRows().map((r) => `  ${r.name}: ${r.value.map((v) => +v.toPrecision(6)).join(", ")}`);
    return [this.name, ...rows].join("\n");
  }

  /** The notebook display: hyperparameter table and a plot of k(x0, x). */
  [JUPYTER_DISPLAY](): MimeBundle | Promise<MimeBundle> {
    return renderBundle("kernel", this.displayData(), () => this.toString());
  }

  // ------------------------------------------------------------------ helpers

  private selectDims(x: Mat, what: string): Mat {
    if (!this.activeDims) return x;
    const dims = this.activeDims;
    for (const k of dims) {
      if (!Number.isInteger(k) || k < 0 || k >= x.cols) throw new ShapeError(`${this.name}: activeDims entry ${k} is not a column of ${what}, which has ${x.cols} columns`);
    }
    const out = mat(x.rows, dims.length);
    for (let i = 0; i < x.rows; i++) dims.forEach((k, c) => (out.data[i * dims.length + c] = x.data[i * x.cols + k]));
    return out;
  }

  /** Throws ShapeError when x1 and x2 differ in dimension or do not match `ardNumDims` / `activeDims`. */
  protected checkPair(x1: Mat, x2: Mat): void {
    if (x1.cols !== x2.cols) throw new ShapeError(`${this.name}: x1 has ${x1.cols} columns but x2 has ${x2.cols}; both must be [n, d] with the same d`);
  }

  /** Checks an ARD kernel's feature width. */
  protected checkArd(x: Mat): void {
    if (this.ardNumDims !== null && x.cols !== this.ardNumDims) {
      throw new ShapeError(`${this.name} was built with ardNumDims = ${this.ardNumDims} but the input has ${x.cols} columns (after activeDims)`);
    }
  }

  /** A Positive-by-default lengthscale of GPyTorch's shape [1, ardNumDims or 1]. */
  protected makeLengthscale(options: KernelOptions): Parameter {
    const p = this.registerParameter("rawLengthscale", new Parameter([1, this.ardNumDims ?? 1], options.lengthscaleConstraint ?? new Positive()));
    this.registerPrior("lengthscalePrior", options.lengthscalePrior, p);
    return p;
  }
}

/**
 * AdditiveKernel / ProductKernel, filled in by their own files (they extend
 * Kernel, so Kernel.ts cannot import them).
 */
export const kernelAlgebra = {
  Additive: null as unknown as new (...kernels: Kernel[]) => Kernel,
  Product: null as unknown as new (...kernels: Kernel[]) => Kernel,
};
