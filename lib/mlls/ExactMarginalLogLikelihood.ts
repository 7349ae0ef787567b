// log p(y | X, theta) / n for an ExactGP (GPyTorch's ExactMarginalLogLikelihood),
// and its gradient w.r.t. every raw parameter, all in f64.
//
// With K^ = K + diag(noise), r = y - m, alpha = K^^{-1} r:
//   L     = -1/2 r^T alpha - 1/2 log det K^ - n/2 log(2 pi)
//   dL/dK = M = 1/2 (alpha alpha^T - K^^{-1})   (pushed through the kernel's
//           bilinear derivative), dL/dnoise_i = M_ii, dL/dm = alpha.
// n <= maxCholeskySize: exact (Cholesky, dense M). Above: CG for alpha and the
// probe solves K^^{-1} z (z ~ N(0, P), P the preconditioner), SLQ for log det,
// and the unbiased trace estimate tr(K^^{-1} dK) ~ mean_z (K^^{-1} z)^T dK (P^{-1} z),
// so M = U W^T with U = [alpha, K^^{-1} Z], W = [alpha / 2, -P^{-1} Z / (2 p)]:
// rank p + 1, never n x n. Priors attached to the model or likelihood add
// (sum log p(constrained value)) / n, as GPyTorch does.

import { choleskyLogdet, choleskySolve } from "../algorithms/cholesky";
import { type Mat, mat } from "../algorithms/matrix";
import { type SolveOptions, resolveSolveOptions } from "../algorithms/settings";
import { ArgumentError } from "../errors";
import { KernelOperator } from "../kernels/KernelOperator";
import type { GaussianLikelihoodBase } from "../likelihoods/Likelihood";
import type { ExactGP } from "../models/ExactGP";
import { type SgprBound, inducingPointKernelOf, sgprBound } from "../models/sgpr";
import type { SolveReport } from "../operators/LinearOperator";
import { priorLogProb } from "../priors/priorTerms";
import { sharedF64 } from "../reductions/fusedExecutor";
import { choleskyInverse } from "./choleskyInverse";

/**
 * Default CG tolerance of MLL evaluations on the iterative path for the solve
 * K^^{-1} (y - m) (predictions keep 1e-6): the mean's gradient and the data-fit
 * term read it directly.
 */
export const TRAINING_CG_TOLERANCE = 1e-3;
/** ... and for the probe solves, which only feed stochastic estimates (GPyTorch trains with 1 and >= 20 iterations). */
export const TRAINING_PROBE_CG_TOLERANCE = 1e-2;

/** Options of the exact MLL. */
export interface MLLOptions {
  /** Numerical settings for this evaluation, over the model's (training defaults: CG tolerance 1e-3, probes 1e-2). */
  solve?: SolveOptions;
}

/** The exact MLL's value and how it was computed. */
export interface MLLResult {
  /** (log p(y) + sum of the priors' log densities) / n */
  value: number;
  /** How the solve and log-determinant were computed. */
  report: SolveReport | null;
  /** SGPR models (InducingPointKernel): the Titsias bound's two parts, totals before dividing by n. */
  sgpr?: SgprBound;
}

/**
 * GPyTorch's ExactMarginalLogLikelihood: (log p(y
 * X) + Σ log p(θ)) / n for an ExactGP, with gradients
 * from one solve (Cholesky) or from CG probe vectors and stochastic Lanczos quadrature (above maxCholeskySize).
 */
export class ExactMarginalLogLikelihood {
  /** How the most recent evaluation solved (Cholesky or CG, iterations, ...). */
  lastReport: SolveReport | null = null;

  constructor(
    /** The model's Gaussian likelihood. */
    readonly likelihood: GaussianLikelihoodBase,
    /** The exact GP. */
    readonly model: ExactGP,
    /** Default options of every evaluation. */
    readonly options: MLLOptions = {},
  ) {
    if (model.likelihood !== likelihood) throw new ArgumentError("ExactMarginalLogLikelihood: the likelihood must be the model's own likelihood");
  }

  /** GPyTorch's value: (log p(y) + sum log prior) / n. */
  async evaluate(options: MLLOptions = {}): Promise<number> {
    return this.compute(false, options).value;
  }

  /**
   * The value, and d(value)/d(raw) ADDED to every parameter's `grad`
   * (call model.zeroGrad() first, as with torch).
   */
  async evaluateWithGradient(options: MLLOptions = {}): Promise<MLLResult> {
    return this.compute(true, options);
  }

  /**
   * The [n, n] gradient weights' storage, reused across evaluations (backward
   * reads it synchronously); shared memory, so the gradient pass's threads
   * read it without a copy.
   */
  private weightBuffer(size: number): Float64Array {
    if (!this.weights || this.weights.length < size) this.weights = sharedF64(size);
    return this.weights;
  }
  private weights: Float64Array | null = null;

  /** Synchronous core. */
  compute(withGradient: boolean, options: MLLOptions = {}): MLLResult {
    const model = this.model;
    const inducing = inducingPointKernelOf(model);
    if (inducing) {
      // SGPR: the Titsias bound in O(n M^2), GPyTorch's log N(y | m, Q + noise) plus its added trace term.
      const n = model.numTrainingPoints;
      const sgpr = sgprBound(model, inducing, withGradient ? 1 / n : null);
      const logPrior = priorLogProb([model, this.likelihood], withGradient ? 1 / n : null);
      this.lastReport = null;
      return { value: (sgpr.logProbTerm + sgpr.addedLossTerm + logPrior) / n, report: null, sgpr };
    }
    // Training tolerates loose CG (the SLQ estimate is stochastic anyway): GPyTorch trains with
    // relative residual 1 and evaluates with 0.01; gplab trains with 1e-3 for the solve and
    // 1e-2 for the probes unless told otherwise.
    const o = resolveSolveOptions({
      cgTolerance: TRAINING_CG_TOLERANCE,
      probeCgTolerance: TRAINING_PROBE_CG_TOLERANCE,
      ...model.solveOptions,
      ...this.options.solve,
      ...options.solve,
    });
    const key = model.stateKey();
    const sys = model.trainingSystem();
    const n = sys.residual.length;
    const r = mat(n, 1, sys.residual);
    const covar = sys.prior.lazyCovarianceMatrix;
    if (withGradient && !(covar instanceof KernelOperator)) {
      throw new ArgumentError(
        `gradients need the prior covariance to be a kernel operator (kernel.call(x)); forward(x) returned ${covar.describe()}`,
      );
    }
    let alpha: Float64Array;
    let logdet: number;
    const dNoise = new Float64Array(n);
    if (n <= o.maxCholeskySize) {
      const L = sys.covariance.choleskyFactor(o);
      alpha = choleskySolve(L, r).data;
      logdet = choleskyLogdet(L);
      model.storeSolve(key, alpha, L, sys.covariance);
      if (withGradient) {
        // M = (alpha alpha^T - K^^{-1}) / (2 n), written as the inverse is copied out.
        const M = choleskyInverse(L, this.weightBuffer(n * n), { v: alpha, s: 1 / (2 * n) }).data;
        for (let i = 0; i < n; i++) dNoise[i] = M[i * n + i];
        (covar as KernelOperator).backward({ kind: "dense", M, symmetric: true });
      }
    } else {
      const res = sys.covariance.iterative(r, true, o);
      alpha = res.solution.data;
      logdet = res.logdet;
      model.storeSolve(key, alpha, null, sys.covariance);
      if (withGradient) {
        const p = res.probes.cols;
        const Pz: Mat = res.preconditionedProbes;
        const T = p + 1;
        const U = new Float64Array(n * T);
        const W = new Float64Array(n * T);
        for (let i = 0; i < n; i++) {
          U[i * T] = alpha[i];
          W[i * T] = alpha[i] / (2 * n);
          let diagEst = 0;
          for (let c = 0; c < p; c++) {
            const sz = res.probeSolves.data[i * p + c];
            const pz = Pz.data[i * p + c];
            U[i * T + 1 + c] = sz;
            W[i * T + 1 + c] = -pz / (2 * n * p);
            diagEst += sz * pz;
          }
          dNoise[i] = (alpha[i] * alpha[i] - diagEst / p) / (2 * n);
        }
        (covar as KernelOperator).backward({ kind: "lowRank", U, W, T });
      }
    }
    this.lastReport = sys.covariance.lastSolveReport;
    if (withGradient) {
      this.likelihood.backwardNoise(dNoise);
      if (sys.prior.meanOrigin) sys.prior.meanOrigin.backward(alpha.map((a) => a / n));
    }
    let quad = 0;
    for (let i = 0; i < n; i++) quad += sys.residual[i] * alpha[i];
    const logPrior = priorLogProb([model, this.likelihood], withGradient ? 1 / n : null);
    const value = (-0.5 * (quad + logdet + n * Math.log(2 * Math.PI)) + logPrior) / n;
    return { value, report: this.lastReport };
  }
}
