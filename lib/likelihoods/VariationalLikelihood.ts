// Likelihoods without a Gaussian closed form, for variational GPs
// (ApproximateGP + VariationalELBO). The ELBO hands each batch's q(f)
// marginals to the likelihood, which returns the expected log likelihood
// sum_i E_q[log p(y_i | f_i)] and its gradients with respect to the
// marginal means and variances (the ELBO passes those back through the
// variational strategy) and adds its own parameters' gradients.
// One-dimensional likelihoods (Bernoulli, StudentT, Laplace) integrate
// each (point, output) with GPyTorch's 20-point Gauss–Hermite rule:
//   E[g(f)] = sum_k w_k g(mu + sqrt(2 v) t_k),
// whose derivatives are exact for that sum:
//   d/dmu = sum_k w_k g'(f_k),   d/dv = sum_k w_k g'(f_k) t_k / sqrt(2 v).

import type { Mat } from "../algorithms/matrix";
import { ShapeError } from "../errors";
import { Module } from "../module/Module";
import { type GaussHermiteRule, NUM_GAUSS_HERMITE_LOCS, gaussHermite } from "./gaussHermite";

/** The expected log likelihood of one batch and its gradients. */
export interface ExpectedLogLikelihood {
  /** sum over points (and outputs) of E_q[log p(y | f)] */
  sum: number;
  /** d sum / d mean. shape: [B, T] (T = the model's outputs) */
  dMean: Float64Array;
  /** d sum / d variance. shape: [B, T] */
  dVariance: Float64Array;
}

/** q(f) marginals as a likelihood reads them: a Prediction / MultitaskPrediction, or a MultivariateNormal. */
export interface LatentMarginalsLike {
  /** Means of f. shape: [n] or [n, T] row-major */
  meanF64: Float64Array;
  /** Variances of f (an array, or a method that returns one). shape: like meanF64 */
  varianceF64: Float64Array | (() => Float64Array);
  /** Outputs per point (MultitaskPrediction); 1 when absent. */
  numTasks?: number;
}

/** The distribution of y at test points (GPyTorch's likelihood(model(x))), summarised. */
export interface ObservationMarginal {
  /** E[y] (Bernoulli: p(y = 1)). shape: [n] (or [n, T] row-major for several outputs) */
  mean: Float64Array;
  /** Var[y]. shape: like mean */
  variance: Float64Array;
  /**
   * How the values were computed: "exact" (closed form) or "gauss-hermite"
   * (deterministic quadrature where GPyTorch draws Monte Carlo samples).
   */
  method: "exact" | "gauss-hermite";
}

/** Class probabilities at test points (SoftmaxLikelihood's likelihood(model(x))). */
export interface ClassProbabilities {
  /** p(y = c) per test point. shape: [n, C] */
  probs: number[][];
  /** The most probable class per test point. shape: [n] */
  predicted: Int32Array;
  /** "gauss-hermite": deterministic quadrature where GPyTorch draws Monte Carlo samples. */
  method: "gauss-hermite";
}

/** A likelihood that variational objectives integrate under q(f) (not Gaussian in closed form). */
export abstract class VariationalLikelihood extends Module {
  /**
   * Checks the pairing with a model of `numOutputs` latent outputs and
   * returns the number of target columns it expects (1 for labels).
   */
  abstract targetColumns(numOutputs: number): number;

  /**
   * sum_i E_q[log p(y_i | f_i)] for marginals mean, variance [B, T]. With
   * `paramGradScale`, also adds paramGradScale * d sum / d raw into this
   * likelihood's parameter grads. shapes: y [B, targetColumns]
   */
  abstract expectedLogProb(y: Mat, mean: Float64Array, variance: Float64Array, numOutputs: number, paramGradScale?: number): ExpectedLogLikelihood;

  /**
   * sum_i log E_q[p(y_i | f_i)] (GPyTorch's log_marginal, the data term of
   * PredictiveLogLikelihood), with the same gradients as expectedLogProb.
   */
  abstract logMarginal(y: Mat, mean: Float64Array, variance: Float64Array, numOutputs: number, paramGradScale?: number): ExpectedLogLikelihood;

  /** The predictive distribution of y from q(f) at test points (exact, or quadrature where GPyTorch samples). */
  abstract marginal(f: LatentMarginalsLike): ObservationMarginal | ClassProbabilities;
}

/**
 * A likelihood p(y | f) of one latent value per observation, integrated by
 * Gauss–Hermite quadrature (GPyTorch's _OneDimensionalLikelihood).
 */
export abstract class OneDimensionalLikelihood extends VariationalLikelihood {
  /** The quadrature rule (GPyTorch reads num_gauss_hermite_locs, 20, at construction). */
  readonly quadrature: GaussHermiteRule;
  /** Scratch for logProbTerms: [value, d/df, d/dparam values...]. */
  private readonly terms: Float64Array;

  constructor(numParameterValues: number, numGaussHermiteLocs = NUM_GAUSS_HERMITE_LOCS) {
    super();
    this.quadrature = gaussHermite(numGaussHermiteLocs);
    this.terms = new Float64Array(2 + numParameterValues);
  }

  /**
   * log p(y | f) into out[0], d/df into out[1], and d/d(constrained parameter
   * value j) into out[2 + j]. Called once per quadrature node.
   */
  protected abstract logProbTerms(y: number, f: number, out: Float64Array): void;

  /** Adds sum_j dValues[j] * d value_j / d raw into the parameter grads. */
  protected abstract addParameterGradients(dValues: Float64Array): void;

  /** Throws a named error when y is outside the likelihood's support (e.g. labels not in {0, 1}). */
  protected checkTarget(_y: number, _index: number): void {}

  targetColumns(numOutputs: number): number {
    return numOutputs;
  }

  /** Checks one target per marginal; returns the number of marginals. */
  private checkMarginalShapes(y: Mat, mean: Float64Array, variance: Float64Array, numOutputs: number): number {
    const n = mean.length;
    if (y.data.length !== n || variance.length !== n) {
      throw new ShapeError(`${this.constructor.name}: ${y.data.length} targets for ${n} marginals; pass y as [B${numOutputs === 1 ? "" : `, ${numOutputs}`}]`);
    }
    return n;
  }

  /** Adds scale * dParams to the likelihood's own parameters (none when no scale is given: the caller wants values only). */
  private addScaledParameterGradients(dParams: Float64Array, scale: number | undefined): void {
    if (scale === undefined || dParams.length === 0) return;
    for (let j = 0; j < dParams.length; j++) dParams[j] *= scale;
    this.addParameterGradients(dParams);
  }

  /** log p(y | f) at one point. */
  logProb(y: number, f: number): number {
    this.logProbTerms(y, f, this.terms);
    return this.terms[0];
  }

  expectedLogProb(y: Mat, mean: Float64Array, variance: Float64Array, numOutputs: number, paramGradScale?: number): ExpectedLogLikelihood {
    const n = this.checkMarginalShapes(y, mean, variance, numOutputs);
    const { nodes, weights } = this.quadrature;
    const K = nodes.length, P = this.terms.length - 2;
    const out = this.terms;
    const dMean = new Float64Array(n), dVariance = new Float64Array(n);
    const dParams = new Float64Array(P);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const yi = y.data[i];
      this.checkTarget(yi, i);
      const v = Math.max(variance[i], 0);
      const s = Math.sqrt(2 * v);
      let e = 0, gm = 0, gt = 0;
      for (let k = 0; k < K; k++) {
        this.logProbTerms(yi, mean[i] + s * nodes[k], out);
        const w = weights[k];
        e += w * out[0];
        gm += w * out[1];
        gt += w * out[1] * nodes[k];
        for (let j = 0; j < P; j++) dParams[j] += w * out[2 + j];
      }
      sum += e;
      dMean[i] = gm;
      // d/dv of sqrt(2 v) t_k is t_k / sqrt(2 v); v > 0 always (jitter).
      dVariance[i] = s > 0 ? gt / s : 0;
    }
    this.addScaledParameterGradients(dParams, paramGradScale);
    return { sum, dMean, dVariance };
  }

  /**
   * log sum_k w_k p(y | f_k) per point (GPyTorch: the quadrature of p, then
   * log). With r_k = w_k p_k / sum_j w_j p_j, the gradients are the
   * r-weighted sums of the per-node derivatives.
   */
  logMarginal(y: Mat, mean: Float64Array, variance: Float64Array, numOutputs: number, paramGradScale?: number): ExpectedLogLikelihood {
    const n = this.checkMarginalShapes(y, mean, variance, numOutputs);
    const { nodes, weights } = this.quadrature;
    const K = nodes.length, P = this.terms.length - 2;
    const out = this.terms;
    const logTerms = new Float64Array(K), dF = new Float64Array(K), dTheta = new Float64Array(K * P);
    const dMean = new Float64Array(n), dVariance = new Float64Array(n);
    const dParams = new Float64Array(P);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const yi = y.data[i];
      this.checkTarget(yi, i);
      const s = Math.sqrt(2 * Math.max(variance[i], 0));
      let max = -Infinity;
      for (let k = 0; k < K; k++) {
        this.logProbTerms(yi, mean[i] + s * nodes[k], out);
        logTerms[k] = Math.log(weights[k]) + out[0];
        dF[k] = out[1];
        for (let j = 0; j < P; j++) dTheta[k * P + j] = out[2 + j];
        if (logTerms[k] > max) max = logTerms[k];
      }
      let z = 0;
      for (let k = 0; k < K; k++) z += Math.exp(logTerms[k] - max);
      sum += max + Math.log(z);
      let gm = 0, gt = 0;
      for (let k = 0; k < K; k++) {
        const r = Math.exp(logTerms[k] - max) / z;
        gm += r * dF[k];
        gt += r * dF[k] * nodes[k];
        for (let j = 0; j < P; j++) dParams[j] += r * dTheta[k * P + j];
      }
      dMean[i] = gm;
      dVariance[i] = s > 0 ? gt / s : 0;
    }
    this.addScaledParameterGradients(dParams, paramGradScale);
    return { sum, dMean, dVariance };
  }

  abstract override marginal(f: LatentMarginalsLike): ObservationMarginal;
}

/** Means and variances from a prediction or distribution. */
export function readMarginals(f: LatentMarginalsLike): { mean: Float64Array; variance: Float64Array; numTasks: number } {
  const variance = typeof f.varianceF64 === "function" ? f.varianceF64() : f.varianceF64;
  if (!(f.meanF64 instanceof Float64Array) || !(variance instanceof Float64Array) || variance.length !== f.meanF64.length) {
    throw new ShapeError("likelihood.marginal(f) takes the latent prediction of a variational GP: await model.predict(x) (or model.call(x))");
  }
  return { mean: f.meanF64, variance, numTasks: f.numTasks ?? 1 };
}
