// Exact multitask GP regression (GPyTorch's ExactGP + MultitaskKernel +
// MultitaskGaussianLikelihood): y_i in R^T with
//   Cov = K_x (x) B + I (x) Sigma,  B the task covariance, Sigma the task noise,
// solved through its Kronecker structure (MultitaskSystem): T systems of size
// n, never the (nT) x (nT) matrix. Predictions per task:
//   mean* = m(x*) + K_*x alpha B,   alpha = Cov^{-1} vec(y - m)
//   var*_t = k(x*, x*) B_tt - sum_a (P^{-1} B)_at^2 k_*^T (lambda_a K_x + I)^{-1} k_*
// with k(x*, x*) from the kernel's diagonal path.

import { type Mat, mat } from "../algorithms/matrix";
import { type SolveOptions, resolveSolveOptions } from "../algorithms/settings";
import { ArgumentError, ShapeError } from "../errors";
import type { Kernel } from "../kernels/Kernel";
import { MultitaskKernel } from "../kernels/MultitaskKernel";
import { ConstantMean } from "../means/ConstantMean";
import type { Mean } from "../means/Mean";
import { MultitaskGaussianLikelihood } from "../likelihoods/MultitaskGaussianLikelihood";
import { Module } from "../module/Module";
import { MultitaskMultivariateNormal } from "../distributions/MultitaskMultivariateNormal";
import { type TensorLike, toMat } from "../tensorLike";
import { MultitaskPrediction } from "./MultitaskPrediction";
import { MultitaskSystem } from "./MultitaskSystem";

/** Options of MultitaskExactGP. */
export interface MultitaskExactGPOptions {
  /** One mean per task (batchShape [T]) or one shared; default ConstantMean({ batchShape: [T] }). */
  meanModule?: Mean;
  /** A MultitaskKernel(dataKernel, { numTasks, rank }). */
  covarModule: MultitaskKernel;
  /** Numerical settings for training and prediction. */
  solve?: SolveOptions;
}

/** Test points per prediction chunk (bounds the [n, chunk] kernel block). */
const PREDICT_BATCH_BYTES = 64 * 2 ** 20;

export class MultitaskExactGP extends Module {
  /** The multitask Gaussian likelihood. */
  readonly likelihood: MultitaskGaussianLikelihood;
  /** Mean per task (batched) or shared. */
  readonly meanModule: Mean;
  /** The Kronecker kernel K_x ⊗ B. */
  readonly covarModule: MultitaskKernel;
  /** T, the number of tasks. */
  readonly numTasks: number;
  /** Numerical settings used by training and prediction. */
  solveOptions: SolveOptions;
  /** Training inputs. shape: [n, d] */
  readonly trainInputs: Mat;
  /** shape: [n, T] */
  readonly trainTargets: Mat;

  /** trainX [n, d], trainY [n, T] */
  constructor(trainX: TensorLike | Mat, trainY: TensorLike | Mat, likelihood: MultitaskGaussianLikelihood, options: MultitaskExactGPOptions) {
    super();
    if (!(likelihood instanceof MultitaskGaussianLikelihood)) throw new ArgumentError("MultitaskExactGP needs a MultitaskGaussianLikelihood({ numTasks })");
    if (!options || !(options.covarModule instanceof MultitaskKernel)) throw new ArgumentError("MultitaskExactGP needs { covarModule: new gp.kernels.MultitaskKernel(dataKernel, { numTasks }) }");
    const T = options.covarModule.numTasks;
    if (likelihood.numTasks !== T) throw new ArgumentError(`the likelihood has numTasks = ${likelihood.numTasks} but the MultitaskKernel has ${T}`);
    this.numTasks = T;
    this.trainInputs = toMat(trainX, "training inputs");
    this.trainTargets = toMat(trainY as TensorLike, "training targets");
    if (this.trainTargets.rows !== this.trainInputs.rows) throw new ShapeError(`training inputs have ${this.trainInputs.rows} rows but targets have ${this.trainTargets.rows}`);
    if (this.trainTargets.cols !== T) throw new ShapeError(`training targets have ${this.trainTargets.cols} columns (tasks) but the model has ${T} tasks; pass y as [n, ${T}]`);
    this.likelihood = this.registerModule("likelihood", likelihood);
    this.meanModule = this.registerModule("meanModule", options.meanModule ?? new ConstantMean({ batchShape: [T] }));
    if (this.meanModule.batchShape.length && this.meanModule.batchShape[0] !== T) throw new ArgumentError(`meanModule has batchShape [${this.meanModule.batchShape}] but there are ${T} tasks`);
    this.covarModule = this.registerModule("covarModule", options.covarModule);
    this.solveOptions = options.solve ?? {};
  }

  /** The kernel over inputs, K_x. */
  get dataKernel(): Kernel {
    return this.covarModule.dataCovarModule;
  }

  /** Means per task at x. shape: [n, T] */
  meanF64(x: Mat): Float64Array {
    const T = this.numTasks, out = new Float64Array(x.rows * T);
    for (let t = 0; t < T; t++) this.meanModule.batchMember(t).forwardF64(x).forEach((v, i) => (out[i * T + t] = v));
    return out;
  }

  /**
   * The Kronecker-structured training system and the residual y - m(X) [n, T].
   * @internal
   */
  trainingSystem(options: SolveOptions = {}) {
    const x = this.trainInputs;
    const Kx = this.dataKernel.operatorF64(x, x);
    const B = this.covarModule.taskCovarModule.covarMatrixF64();
    const system = new MultitaskSystem(Kx, B, this.likelihood.taskNoiseCovarF64(), resolveSolveOptions({ ...this.solveOptions, ...options }));
    const m = this.meanF64(x);
    const residual = mat(x.rows, this.numTasks, this.trainTargets.data.map((v, i) => v - m[i]));
    return { Kx, B, system, residual };
  }

  /** The prior at x: mean [n, T], lazy covariance K_x (x) B [nT, nT]. */
  call(x: TensorLike | Mat): MultitaskMultivariateNormal {
    const xm = toMat(x, "inputs");
    return new MultitaskMultivariateNormal(this.meanF64(xm), this.numTasks, this.covarModule.operatorF64(xm, xm));
  }

  /** Posterior mean and variance of every task at x (`noise: true` for y). x shape: [t, d] */
  async predict(x: TensorLike | Mat, options: { noise?: boolean; solve?: SolveOptions } = {}): Promise<MultitaskPrediction> {
    return this.predictF64(toMat(x, "test inputs"), options);
  }

  /** `predict` on f64 inputs, synchronously. */
  predictF64(xt: Mat, options: { noise?: boolean; solve?: SolveOptions } = {}): MultitaskPrediction {
    const x = this.trainInputs;
    if (xt.cols !== x.cols) throw new ShapeError(`test inputs have ${xt.cols} columns but the model was trained on ${x.cols}-column inputs`);
    const { B, system, residual } = this.trainingSystem(options.solve);
    const T = this.numTasks, n = x.rows, s = xt.rows;
    const alpha = system.solve(residual);
    // alpha B [n, T]
    const aB = mat(n, T);
    for (let i = 0; i < n; i++) for (let t = 0; t < T; t++) for (let u = 0; u < T; u++) aB.data[i * T + t] += alpha.data[i * T + u] * B[u * T + t];
    // G = P^{-1} B [T, T]
    const G = new Float64Array(T * T);
    for (let a = 0; a < T; a++) for (let t = 0; t < T; t++) for (let u = 0; u < T; u++) G[a * T + t] += system.Pinv.data[a * T + u] * B[u * T + t];
    const mean = this.meanF64(xt);
    const variance = new Float64Array(s * T);
    const chunk = Math.max(1, Math.min(s, Math.floor(PREDICT_BATCH_BYTES / (8 * n))));
    for (let c0 = 0; c0 < s; c0 += chunk) {
      const b = Math.min(chunk, s - c0);
      const xs = mat(b, xt.cols, xt.data.slice(c0 * xt.cols, (c0 + b) * xt.cols));
      const Kxs = this.dataKernel.operatorF64(x, xs).toDenseF64(); // [n, b]
      const kss = this.dataKernel.operatorF64(xs, xs).diagonalF64(); // the diag path, O(b)
      for (let j = 0; j < b; j++) {
        for (let t = 0; t < T; t++) {
          let m = 0;
          for (let i = 0; i < n; i++) m += Kxs.data[i * b + j] * aB.data[i * T + t];
          mean[(c0 + j) * T + t] += m;
        }
      }
      const q = system.quadForms(Kxs); // [T, b]
      for (let j = 0; j < b; j++) {
        for (let t = 0; t < T; t++) {
          let v = kss[j] * B[t * T + t];
          for (let a = 0; a < T; a++) v -= G[a * T + t] ** 2 * q.data[a * b + j];
          variance[(c0 + j) * T + t] = Math.max(v, 0);
        }
      }
    }
    if (options.noise) {
      const S = this.likelihood.taskNoiseCovarF64();
      for (let j = 0; j < s; j++) for (let t = 0; t < T; t++) variance[j * T + t] += S[t * T + t];
    }
    return new MultitaskPrediction(xt, mean, variance, T, !!options.noise);
  }
}
