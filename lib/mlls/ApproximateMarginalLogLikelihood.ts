// The shared shape of GPyTorch's variational objectives on a minibatch of B
// points (x [B, d], y [B] or [B, T]):
//   value = (sum_{i,t} term(y_it; mean_it, var_it, noise_t)) / B - beta KL / numData
//           + (sum of the attached priors' log densities) / numData
// where mean/var are q(f)'s marginals. Subclasses give the per-(point, task)
// term and its derivatives; the gradient flows back through the marginals
// (kernel, mean, variational and inducing parameters) and the noise.
// Only B x T marginals and M x B blocks per latent exist: memory is O(B M).

import { type Mat, mat } from "../algorithms/matrix";
import { ArgumentError, ShapeError } from "../errors";
import { taskNoise } from "../likelihoods/taskNoise";
import { priorLogProb } from "../priors/priorTerms";
import { type ExpectedLogLikelihood, VariationalLikelihood } from "../likelihoods/VariationalLikelihood";
import type { ApproximateGP } from "../models/ApproximateGP";
import type { Module } from "../module/Module";
import { type TensorLike, toMat } from "../tensorLike";

/** Options of VariationalELBO and PredictiveLogLikelihood. */
export interface ApproximateMLLOptions {
  /** Size of the whole training set (GPyTorch's num_data); required. */
  numData: number;
  /** Weight of the KL term (default 1). */
  beta?: number;
}

/** An objective's value for one batch and its parts. */
export interface ApproximateMLLResult {
  /** The objective (GPyTorch's value for this batch). */
  value: number;
  /** sum of the data terms / B */
  expectedLogLik: number;
  /** KL(q(u) || p(u)) summed over latent GPs (not divided). */
  kl: number;
}

/** One (point, task) term and its derivatives w.r.t. mean, variance and noise. */
export interface PointTerm {
  /** The term's value at this (point, task). */
  value: number;
  /** Its derivative w.r.t. the latent mean. */
  dMean: number;
  /** Its derivative w.r.t. the latent variance. */
  dVar: number;
  /** Its derivative w.r.t. the observation noise variance. */
  dNoise: number;
}

/**
 * The base of the variational objectives (GPyTorch's _ApproximateMarginalLogLikelihood): a data term over
 * a batch scaled to numData, minus beta · KL(q(u) ‖ p(u)), divided by numData.
 */
export abstract class ApproximateMarginalLogLikelihood {
  /** N, the size of the full training set (minibatch terms are scaled to it). */
  readonly numData: number;
  /** Weight of the KL term (default 1). */
  readonly beta: number;

  constructor(
    /** The likelihood p(y | f). */
    readonly likelihood: Module,
    /** The variational GP. */
    readonly model: ApproximateGP,
    options: ApproximateMLLOptions,
  ) {
    const name = this.constructor.name;
    if (!likelihood) throw new ArgumentError(`${name} needs a likelihood`);
    if (!model || typeof model.marginalsF64 !== "function") throw new ArgumentError(`${name} needs an ApproximateGP model`);
    if (!options || options.numData === undefined) {
      throw new ArgumentError(`${name} needs { numData }: the size of the whole training set, which scales the KL term against each minibatch`);
    }
    if (!Number.isInteger(options.numData) || options.numData < 1) throw new ArgumentError(`numData must be a positive integer, got ${options.numData}`);
    this.numData = options.numData;
    this.beta = options.beta ?? 1;
    // Validates the pairing now, not at the first batch.
    if (likelihood instanceof VariationalLikelihood) likelihood.targetColumns(model.numTasks);
    else taskNoise(likelihood, model.numTasks);
    model.likelihood ??= likelihood;
    model.numData ??= options.numData;
  }

  /**
   * The data term of a batch with a non-Gaussian likelihood, summed over the
   * batch, with its gradients (the ELBO: expected log likelihood; the
   * predictive log likelihood: log of the expected likelihood).
   */
  protected abstract integratedTerms(likelihood: VariationalLikelihood, y: Mat, mean: Float64Array, variance: Float64Array, numOutputs: number, paramGradScale?: number): ExpectedLogLikelihood;

  /** term(y; mean, var, noise) and its derivatives. */
  protected abstract pointTerm(y: number, mean: number, variance: number, noise: number): PointTerm;

  /** The objective on one batch. x: [B, d], y: [B] or [B, T] */
  async evaluate(x: TensorLike | Mat, y: TensorLike | Mat): Promise<number> {
    return this.compute(x, y, false).value;
  }

  /** The objective, and its gradient ADDED to every parameter's grad (model and likelihood). */
  async evaluateWithGradient(x: TensorLike | Mat, y: TensorLike | Mat): Promise<ApproximateMLLResult> {
    return this.compute(x, y, true);
  }

  /**
   * The objective over a whole data set, in chunks of `chunk` points:
   * (sum of all data terms - beta KL) / N, with N = x.rows (= numData for the training set).
   */
  async evaluateDataset(x: TensorLike | Mat, y: TensorLike | Mat, chunk = 4096): Promise<number> {
    const X = toMat(x, "inputs");
    const Y = toMat(y as TensorLike, "targets");
    if (Y.rows !== X.rows) throw new ShapeError(`${X.rows} inputs but ${Y.rows} targets`);
    const n = X.rows, d = X.cols, T = Y.cols;
    let sum = 0, kl = 0;
    for (let s = 0; s < n; s += chunk) {
      const b = Math.min(chunk, n - s);
      const r = this.compute(mat(b, d, X.data.subarray(s * d, (s + b) * d)), mat(b, T, Y.data.subarray(s * T, (s + b) * T)), false);
      sum += r.expectedLogLik * b;
      kl = r.kl;
    }
    return (sum - this.beta * kl) / n + priorLogProb([this.model, this.likelihood]) / this.numData;
  }

  /** Model and likelihood parameters, each once (what an optimiser should move). */
  parameters() {
    return [...new Set([...this.model.parameters(), ...this.likelihood.parameters()])];
  }

  /** Synchronous core of `evaluate` / `evaluateWithGradient`: with `withGradient`, parameter gradients accumulate. */
  compute(x: TensorLike | Mat, y: TensorLike | Mat, withGradient: boolean): ApproximateMLLResult {
    const X = toMat(x, "inputs");
    const Y = toMat(y as TensorLike, "targets");
    const T = this.model.numTasks, B = X.rows;
    if (Y.rows !== B) throw new ShapeError(`the batch has ${B} inputs but ${Y.rows} targets`);
    if (B > this.numData) {
      throw new ArgumentError(`numData (${this.numData}) is smaller than this batch (${B} points); numData must be the size of the whole training set`);
    }
    if (this.likelihood instanceof VariationalLikelihood) return this.computeIntegrated(this.likelihood, X, Y, withGradient);
    if (Y.cols !== T) {
      throw new ShapeError(`the targets have ${Y.cols} column${Y.cols === 1 ? "" : "s"} (tasks) but the model has ${T} task${T === 1 ? "" : "s"}; pass y as [B${T === 1 ? "" : `, ${T}`}]`);
    }
    const noise = taskNoise(this.likelihood, T);
    const marg = this.model.marginalsF64(X, { withGradient });
    const gMean = new Float64Array(B * T);
    const gVar = new Float64Array(B * T);
    const dNoise = new Float64Array(T);
    let sum = 0;
    for (let i = 0; i < B; i++) {
      for (let t = 0; t < T; t++) {
        const k = i * T + t;
        const r = this.pointTerm(Y.data[k], marg.mean[k], marg.variance[k], noise.values[t]);
        sum += r.value;
        gMean[k] = r.dMean / B;
        gVar[k] = r.dVar / B;
        dNoise[t] += r.dNoise / B;
      }
    }
    const kl = this.model.klDivergence();
    const klScale = this.beta / this.numData;
    if (withGradient) {
      (marg.backward as NonNullable<typeof marg.backward>)(gMean, gVar, klScale);
      noise.backward(dNoise);
    }
    // GPyTorch: log_prior = sum of prior.log_prob(value) / num_data, added to every batch.
    const logPrior = priorLogProb([this.model, this.likelihood], withGradient ? 1 / this.numData : null);
    return { value: sum / B - klScale * kl + logPrior / this.numData, expectedLogLik: sum / B, kl };
  }

  /** The objective with a non-Gaussian likelihood: the likelihood integrates its density under q(f). */
  private computeIntegrated(likelihood: VariationalLikelihood, X: Mat, Y: Mat, withGradient: boolean): ApproximateMLLResult {
    const T = this.model.numTasks, B = X.rows;
    const cols = likelihood.targetColumns(T);
    if (Y.cols !== cols) {
      throw new ShapeError(`${likelihood.constructor.name} takes targets [B${cols === 1 ? "" : `, ${cols}`}] for this model, got ${Y.cols} columns`);
    }
    const marg = this.model.marginalsF64(X, { withGradient });
    const ell = this.integratedTerms(likelihood, Y, marg.mean, marg.variance, T, withGradient ? 1 / B : undefined);
    const kl = this.model.klDivergence();
    const klScale = this.beta / this.numData;
    if (withGradient) {
      const gMean = ell.dMean.map((g) => g / B);
      const gVar = ell.dVariance.map((g) => g / B);
      (marg.backward as NonNullable<typeof marg.backward>)(gMean, gVar, klScale);
    }
    const logPrior = priorLogProb([this.model, this.likelihood], withGradient ? 1 / this.numData : null);
    return { value: ell.sum / B - klScale * kl + logPrior / this.numData, expectedLogLik: ell.sum / B, kl };
  }
}
