// Exact GP regression. The training solve (alpha = (K + noise)^{-1} (y - m),
// plus the Cholesky factor when n <= maxCholeskySize) is cached against the
// parameter values and training data, so repeated predictions reuse it.

import { choleskySolve, solveLower } from "../algorithms/cholesky";
import { type Mat, mat, matmulTransposedLeft } from "../algorithms/matrix";
import { type ResolvedSolveOptions, type SolveOptions, resolveSolveOptions } from "../algorithms/settings";
import type { ModelDisplayData } from "../displayData";
import { JUPYTER_DISPLAY, type MimeBundle, renderBundle } from "../displayHooks";
import { MultivariateNormal } from "../distributions/MultivariateNormal";
import { ArgumentError, ShapeError } from "../errors";
import type { Kernel } from "../kernels/Kernel";
import type { GaussianLikelihoodBase } from "../likelihoods/Likelihood";
import type { Mean } from "../means/Mean";
import { Module } from "../module/Module";
import { DiagLinearOperator } from "../operators/DiagLinearOperator";
import { DenseLinearOperator as DenseCovariance } from "../operators/DenseLinearOperator";
import type { LinearOperator } from "../operators/LinearOperator";
import { type TensorLike, toMat, toVector } from "../tensorLike";
import { lanczosInverseRoot } from "./love";
import { type PivotedVarianceCache, buildPivotedVariance, pivotedSolve, pivotedVariances } from "./pivotedVariance";
import { Prediction } from "./Prediction";

export interface ExactGPOptions<M extends Mean = Mean, K extends Kernel = Kernel> {
  meanModule?: M;
  covarModule?: K;
  /** Numerical settings for training and prediction (maxCholeskySize, CG tolerance, probes, ...). */
  solve?: SolveOptions;
}

export interface PredictOptions {
  /** Include observation noise: the predictive distribution of y, not f. */
  noise?: boolean;
  /** Per-point noise variances of the test targets (FixedNoiseGaussianLikelihood). */
  observationNoise?: ArrayLike<number>;
  /**
   * Above maxCholeskySize only: variances by LOVE (one Lanczos run, cached,
   * O(n k) per point) instead of the default CG solve per test point (exact
   * to the CG tolerance; a batch of t points is t right-hand sides per CG
   * step). LOVE is approximate: with small noise it needs many Lanczos
   * iterations (measured at n = 2,000, noise 0.01: k = 100 gave errors 40x
   * the variance, k = 300 about 5%).
   */
  fastPredVar?: boolean;
  /** Lanczos iterations for LOVE (default: the solve options' maxLanczosIterations, 100). */
  loveIterations?: number;
  /**
   * How variances are computed above maxCholeskySize (at or below it they are
   * exact by Cholesky whatever this says):
   * - "cg" (default; "love" with fastPredVar): one CG solve per test point, exact to the CG tolerance;
   * - "love": see fastPredVar;
   * - "pivotedCholesky": an adaptive-rank pivoted Cholesky of K(X, X), built once
   *   and cached, gives DTC variances (exact as its residual vanishes) and the
   *   preconditioner for the training solve (a few CG steps). Measured at
   *   n = 5,000, 1,000 test points, d = 3, noise 0.01: 0.82 s cold against
   *   3.0 s for LOVE; variance error 2.7% max, 0.37% mean relative; the error
   *   estimate is in lastPredictionReport (bench/README.md).
   */
  varianceMethod?: "cg" | "love" | "pivotedCholesky";
  /**
   * "pivotedCholesky": pivot until every training point's residual prior
   * variance is below this times the smallest noise (default 1e-3; 3e-3 and
   * 1e-2 measured 13% and 24% faster, 2.8x and 11x the error at n = 5,000).
   */
  varianceTolerance?: number;
  /** "pivotedCholesky": rank cap (default 1,024; time grows as n r^2). */
  varianceMaxRank?: number;
  solve?: SolveOptions;
}

/** What the last predict did above maxCholeskySize. */
export interface PredictionReport {
  method: "cholesky" | "cg" | "love" | "pivotedCholesky";
  /** Pivoted-Cholesky rank (pivotedCholesky). */
  rank?: number;
  /** Largest residual prior variance at a test point: the variance error estimate (pivotedCholesky). */
  maxVarianceError?: number;
  /** True when varianceMaxRank stopped the pivoting before varianceTolerance was met. */
  capped?: boolean;
  /** CG iterations of the training solve, when this call ran it. */
  trainingSolveIterations?: number;
}

/** The training system K + noise at the current parameters. */
export interface TrainingSystem {
  prior: MultivariateNormal;
  /** Noise variances. shape: [n] */
  noise: Float64Array;
  /** K + diag(noise), lazy. shape: [n, n] */
  covariance: LinearOperator;
  /** y - m(X). shape: [n] */
  residual: Float64Array;
}

interface SolveCache {
  key: string;
  alpha: Float64Array;
  /** Cholesky factor of K + noise (null on the iterative path). */
  L: Mat | null;
  covariance: LinearOperator;
  /** LOVE inverse root of K + noise (iterative path, built on first use). [n, k] */
  loveRoot?: Mat;
  /** Pivoted-Cholesky variance factor, keyed by its tolerance and rank cap. */
  pivoted?: { key: string; cache: PivotedVarianceCache };
}

/** Test points per prediction batch: bounds the [t, n + t] block of kernel rows. */
const PREDICT_BATCH_BYTES = 64 * 2 ** 20;

/**
 * Type parameters follow the modules passed in, so that
 * `model.covarModule.baseKernel.lengthscale` type-checks in a notebook.
 * (meanModule / covarModule are undefined at run time when neither passed
 * nor assigned by a subclass; forward() then says so.)
 */
export class ExactGP<M extends Mean = Mean, K extends Kernel = Kernel, L extends GaussianLikelihoodBase = GaussianLikelihoodBase> extends Module {
  readonly likelihood: L;
  meanModule!: M;
  covarModule!: K;
  solveOptions: SolveOptions;
  private trainX: Mat | null = null;
  private trainY: Float64Array | null = null;
  private dataVersion = 0;
  private cache: SolveCache | null = null;
  /** What the last prediction did (method, rank, error estimate). */
  lastPredictionReport: PredictionReport | null = null;

  /**
   * @param trainX [n, d] (number[] is [n, 1]); null to set data later with setTrainData.
   * @param trainY [n]
   */
  constructor(trainX: TensorLike | Mat | null, trainY: TensorLike | null, likelihood: L, options: ExactGPOptions<M, K> = {}) {
    super();
    if (!likelihood) throw new ArgumentError("ExactGP needs a likelihood, e.g. new gp.likelihoods.GaussianLikelihood()");
    this.likelihood = this.registerModule("likelihood", likelihood);
    if (options.meanModule) this.meanModule = this.registerModule("meanModule", options.meanModule);
    if (options.covarModule) this.covarModule = this.registerModule("covarModule", options.covarModule);
    this.solveOptions = options.solve ?? {};
    if (trainX !== null || trainY !== null) this.setTrainData(trainX as TensorLike, trainY as TensorLike);
  }

  /** Replaces the training data (GPyTorch's set_train_data). x: [n, d], y: [n] */
  setTrainData(x: TensorLike | Mat, y: TensorLike): void {
    const X = toMat(x, "training inputs");
    const Y = toVector(y, "training targets");
    if (X.rows !== Y.length) {
      throw new ShapeError(`training inputs have ${X.rows} rows but training targets have ${Y.length} values; pass one target per input row`);
    }
    this.trainX = X;
    this.trainY = Y;
    this.dataVersion++;
    this.cache = null;
  }

  get trainInputs(): Mat {
    return this.requireData().x;
  }
  get trainTargets(): Float64Array {
    return this.requireData().y;
  }
  get numTrainingPoints(): number {
    return this.trainX ? this.trainX.rows : 0;
  }

  /**
   * The prior at x [n, d]: override in a subclass (GPyTorch's forward), e.g.
   * `return new MultivariateNormal(this.meanModule.call(x), this.covarModule.call(x))`.
   * x arrives as an f64 matrix that kernels and means accept directly.
   */
  forward(x: Mat): MultivariateNormal {
    if (!this.meanModule || !this.covarModule) {
      throw new ArgumentError("ExactGP has no meanModule / covarModule: pass them in the options, or subclass ExactGP and override forward(x)");
    }
    return new MultivariateNormal(this.meanModule.originF64(x), this.covarModule.operatorF64(x, x));
  }

  /** K(X, X) + noise and the residual y - m(X) at the current parameters. */
  trainingSystem(): TrainingSystem {
    const { x, y } = this.requireData();
    const prior = this.forward(x);
    if (prior.size !== x.rows) throw new ShapeError(`forward(x) returned a distribution of size ${prior.size} for ${x.rows} training points`);
    const noise = this.likelihood.noiseF64(x.rows, x);
    const covariance = prior.lazyCovarianceMatrix.add(new DiagLinearOperator(noise));
    const residual = y.map((v, i) => v - prior.meanF64[i]);
    return { prior, noise, covariance, residual };
  }

  /** Parameter values + data version: the cache key of the training solve. */
  stateKey(): string {
    return `${this.dataVersion}|${this.parameters().map((p) => Array.from(p.raw).join(",")).join(";")}`;
  }

  /** Stores a training solve computed elsewhere (the MLL does, so predict after fit reuses it). */
  storeSolve(key: string, alpha: Float64Array, L: Mat | null, covariance: LinearOperator): void {
    this.cache = { key, alpha, L, covariance };
  }

  /** The cached training solve, computed when parameters or data changed. */
  trainingSolve(options: SolveOptions = {}): SolveCache {
    const key = this.stateKey();
    if (this.cache && this.cache.key === key) return this.cache;
    const o = resolveSolveOptions({ ...this.solveOptions, ...options });
    const sys = this.trainingSystem();
    const n = sys.residual.length;
    const r = mat(n, 1, sys.residual);
    let L: Mat | null = null;
    let alpha: Float64Array;
    if (n <= o.maxCholeskySize) {
      L = sys.covariance.choleskyFactor(o);
      alpha = choleskySolve(L, r).data;
    } else alpha = sys.covariance.solveF64(r, o).data;
    this.cache = { key, alpha, L, covariance: sys.covariance };
    return this.cache;
  }

  /**
   * Posterior mean and variance at x [t, d] (of f; of y with { noise: true }).
   * Test points go in batches; each batch evaluates t (n + t) kernel pairs.
   */
  async predict(x: TensorLike | Mat, options: PredictOptions = {}): Promise<Prediction> {
    return this.predictF64(toMat(x, "test inputs"), options);
  }

  predictF64(xt: Mat, options: PredictOptions = {}): Prediction {
    const { x, y } = this.requireData();
    if (xt.cols !== x.cols) {
      throw new ShapeError(`test inputs have ${xt.cols} columns but the model was trained on ${x.cols}-column inputs`);
    }
    const o = resolveSolveOptions({ ...this.solveOptions, ...options.solve });
    const n = x.rows, t = xt.rows;
    const method = n <= o.maxCholeskySize ? "cholesky" : (options.varianceMethod ?? (options.fastPredVar ? "love" : "cg"));
    this.lastPredictionReport = { method };
    const solve = method === "pivotedCholesky" ? this.pivotedTrainingSolve(o, options) : this.trainingSolve(o);
    const mean = new Float64Array(t);
    const variance = new Float64Array(t);
    const batch = Math.max(1, Math.min(t, Math.floor(PREDICT_BATCH_BYTES / (8 * (n + t)))));
    for (let s = 0; s < t; s += batch) {
      const b = Math.min(batch, t - s);
      this.predictBatch(xt, s, b, solve, o, mean, variance, options, method);
    }
    if (options.noise) {
      const noise = this.likelihood.noiseF64(t, xt, { test: true, noise: options.observationNoise });
      for (let i = 0; i < t; i++) variance[i] += noise[i];
    }
    return new Prediction(xt, mean, variance, !!options.noise, { x, y });
  }

  private predictBatch(
    xt: Mat,
    start: number,
    b: number,
    solve: SolveCache,
    o: ResolvedSolveOptions,
    mean: Float64Array,
    variance: Float64Array,
    options: PredictOptions,
    method: PredictionReport["method"],
  ): void {
    const { x } = this.requireData();
    const n = x.rows, d = x.cols;
    // The joint prior over [train; test batch], as GPyTorch evaluates it.
    const joint = mat(n + b, d);
    joint.data.set(x.data);
    joint.data.set(xt.data.subarray(start * d, (start + b) * d), n * d);
    const prior = this.forward(joint);
    const K = prior.lazyCovarianceMatrix;
    const testIdx = Int32Array.from({ length: b }, (_, i) => n + i);
    const rows = K.rowsF64(testIdx); // [b, n + b]
    const kss = K.entriesF64(testIdx, testIdx);
    for (let c = 0; c < b; c++) {
      let m = prior.meanF64[n + c];
      for (let i = 0; i < n; i++) m += rows.data[c * (n + b) + i] * solve.alpha[i];
      mean[start + c] = m;
    }
    // K(X, x*) [n, b], for the methods that use it whole (a strided copy: skipped otherwise).
    const Kxt = mat(n, method === "pivotedCholesky" ? 0 : b);
    for (let c = 0; c < Kxt.cols; c++) for (let i = 0; i < n; i++) Kxt.data[i * b + c] = rows.data[c * (n + b) + i];
    if (solve.L) {
      const V = solveLower(solve.L, Kxt);
      for (let c = 0; c < b; c++) {
        let q = 0;
        for (let i = 0; i < n; i++) q += V.data[i * b + c] ** 2;
        variance[start + c] = Math.max(kss[c] - q, 0);
      }
    } else if (method === "pivotedCholesky" && solve.pivoted) {
      const c = solve.pivoted.cache;
      const kSt = mat(c.rank, b); // K(S, x*) [r, b], read from the rows already evaluated
      for (let j = 0; j < c.rank; j++) for (let col = 0; col < b; col++) kSt.data[j * b + col] = rows.data[col * (n + b) + c.pivots[j]];
      const v = pivotedVariances(c, kSt, kss);
      variance.set(v.variance, start);
      const report = this.lastPredictionReport!;
      report.maxVarianceError = Math.max(report.maxVarianceError ?? 0, v.residual.reduce((a, e) => Math.max(a, e), 0));
    } else if (method === "love") {
      solve.loveRoot ??= lanczosInverseRoot(solve.covariance, o, options.loveIterations ?? o.maxLanczosIterations);
      const W = matmulTransposedLeft(solve.loveRoot, Kxt); // R^T K(X, x*) [k, b]
      for (let c = 0; c < b; c++) {
        let q = 0;
        for (let j = 0; j < W.rows; j++) q += W.data[j * b + c] ** 2;
        variance[start + c] = Math.max(kss[c] - q, 0);
      }
    } else {
      const S = solve.covariance.solveF64(Kxt, o);
      for (let c = 0; c < b; c++) {
        let q = 0;
        for (let i = 0; i < n; i++) q += Kxt.data[i * b + c] * S.data[i * b + c];
        variance[start + c] = Math.max(kss[c] - q, 0);
      }
    }
  }

  /**
   * The training solve and the pivoted-Cholesky variance factor: the factor
   * is built first so that, when alpha is not cached yet, CG runs with it as
   * preconditioner (a few iterations instead of tens).
   */
  private pivotedTrainingSolve(o: ResolvedSolveOptions, options: PredictOptions): SolveCache {
    const key = this.stateKey();
    const pivotKey = `${options.varianceTolerance ?? 1e-3}|${options.varianceMaxRank ?? 1024}`;
    const cached = this.cache && this.cache.key === key ? this.cache : null;
    if (cached?.pivoted?.key === pivotKey) {
      Object.assign(this.lastPredictionReport!, { rank: cached.pivoted.cache.rank, capped: cached.pivoted.cache.capped });
      return cached;
    }
    const sys = this.trainingSystem();
    if (!sys.noise.every((v) => v > 0)) {
      throw new ArgumentError('varianceMethod "pivotedCholesky" needs positive noise on every training point (its preconditioner divides by it); use varianceMethod "cg"');
    }
    const c = buildPivotedVariance(sys.prior.lazyCovarianceMatrix, sys.noise, {
      tolerance: options.varianceTolerance ?? 1e-3,
      maxRank: options.varianceMaxRank ?? 1024,
    });
    if (c.capped) {
      process.emitWarning(
        `pivoted-Cholesky variances: rank cap ${c.rank} reached with residual prior variance ${c.maxTrainResidual.toExponential(2)} left ` +
          `(tolerance ${options.varianceTolerance ?? 1e-3} x noise); variances may be off by about that much. Raise varianceMaxRank or varianceTolerance.`,
        "NumericalWarning",
      );
    }
    const report = this.lastPredictionReport!;
    Object.assign(report, { rank: c.rank, capped: c.capped });
    let solve = cached;
    if (!solve) {
      const r = pivotedSolve(c, sys.covariance, sys.residual, o.cgTolerance, o.maxCgIterations);
      report.trainingSolveIterations = r.iterations;
      if (!r.converged) {
        process.emitWarning(`training solve: CG stopped at maxCgIterations (${o.maxCgIterations}) before tolerance ${o.cgTolerance}`, "NumericalWarning");
      }
      this.storeSolve(key, r.solution, null, sys.covariance);
      solve = this.cache!;
    }
    solve.pivoted = { key: pivotKey, cache: c };
    return solve;
  }

  /** The posterior of f at x as a distribution (dense covariance; for modest t). */
  posterior(x: TensorLike | Mat, options: PredictOptions = {}): MultivariateNormal {
    const xt = toMat(x, "test inputs");
    const p = this.predictF64(xt, { ...options, noise: false });
    const { x: X } = this.requireData();
    const n = X.rows, t = xt.rows;
    const solve = this.trainingSolve(options.solve);
    const joint = mat(n + t, X.cols);
    joint.data.set(X.data);
    joint.data.set(xt.data, n * X.cols);
    const K = this.forward(joint).lazyCovarianceMatrix;
    const testIdx = Int32Array.from({ length: t }, (_, i) => n + i);
    const rows = K.rowsF64(testIdx);
    const Kxt = mat(n, t);
    const Kss = mat(t, t);
    for (let c = 0; c < t; c++) {
      for (let i = 0; i < n; i++) Kxt.data[i * t + c] = rows.data[c * (n + t) + i];
      for (let c2 = 0; c2 < t; c2++) Kss.data[c * t + c2] = rows.data[c * (n + t) + n + c2];
    }
    const S = solve.L ? choleskySolve(solve.L, Kxt) : solve.covariance.solveF64(Kxt, resolveSolveOptions({ ...this.solveOptions, ...options.solve }));
    for (let a = 0; a < t; a++) {
      for (let c = 0; c < t; c++) {
        let q = 0;
        for (let i = 0; i < n; i++) q += Kxt.data[i * t + a] * S.data[i * t + c];
        Kss.data[a * t + c] -= q;
      }
    }
    return new MultivariateNormal(p.meanF64, new DenseCovariance(Kss));
  }

  displayData(): ModelDisplayData {
    return {
      kind: "model",
      name: this.constructor.name,
      structure: this.covarModule ? this.covarModule.name : "custom forward()",
      numTrainingPoints: this.numTrainingPoints,
      inputDims: this.trainX ? this.trainX.cols : 0,
      hyperparameters: this.hyperparameterRows(),
    };
  }

  override toString(): string {
    const rows = this.hyperparameterRows().map((r) => `  ${r.name}: ${r.value.map((v) => +v.toPrecision(6)).join(", ")}`);
    return [`${this.constructor.name} (${this.numTrainingPoints} training points)`, ...rows].join("\n");
  }

  [JUPYTER_DISPLAY](): MimeBundle | Promise<MimeBundle> {
    return renderBundle("model", this.displayData(), () => this.toString());
  }

  private requireData(): { x: Mat; y: Float64Array } {
    if (!this.trainX || !this.trainY) {
      throw new ArgumentError("this ExactGP has no training data: pass trainX and trainY to the constructor or call setTrainData(x, y) before predicting or fitting");
    }
    return { x: this.trainX, y: this.trainY };
  }
}

