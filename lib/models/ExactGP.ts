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
import { pivotedVarianceBracket, refineVariances } from "./certifiedVariance";
import { type PivotedVarianceCache, buildPivotedVariance, pivotedPreconditionerSolve, pivotedSolve, pivotedVariances } from "./pivotedVariance";
import { Prediction } from "./Prediction";
import { inducingPointKernelOf, sgprPredict } from "./sgpr";

/** Options of ExactGP: its modules (unless a subclass overrides `forward`) and numerical settings. */
export interface ExactGPOptions<M extends Mean = Mean, K extends Kernel = Kernel> {
  /** The prior mean m(x) (GPyTorch's mean_module). */
  meanModule?: M;
  /** The prior covariance k(x, x') (GPyTorch's covar_module). */
  covarModule?: K;
  /** Numerical settings for training and prediction (maxCholeskySize, CG tolerance, probes, ...). */
  solve?: SolveOptions;
}

/** Options of `ExactGP.predict`; every variance method and tolerance has a default (docs/solver-settings.md). */
export interface PredictOptions {
  /** Include observation noise: the predictive distribution of y, not f. */
  noise?: boolean;
  /** Per-point noise variances of the test targets (FixedNoiseGaussianLikelihood). */
  observationNoise?: ArrayLike<number>;
  /**
   * Above maxCholeskySize only: variances by LOVE (one Lanczos run, cached,
   * O(n k) per point; varianceMethod "love"). LOVE is approximate: with small noise it needs many Lanczos
   * iterations (measured at n = 2,000, noise 0.01: k = 100 gave errors 40x
   * the variance, k = 300 about 5%).
   */
  fastPredVar?: boolean;
  /** Lanczos iterations for LOVE (default: the solve options' maxLanczosIterations, 100). */
  loveIterations?: number;
  /**
   * How variances are computed above maxCholeskySize (at or below it they are
   * exact by Cholesky whatever this says):
   * - "auto" (default): certified. A pivoted Cholesky of K(X, X)
   *   (varianceTolerance 3e-5 x noise) bounds every test point's variance from
   *   both sides without kernel products; points whose bound is wider than
   *   varianceErrorTolerance are refined by CG preconditioned with the same
   *   factor until it is not. lastPredictionReport gives the bounds.
   *   Measured at n = 5,000, d = 3, 1,000 test points: see bench/README.md.
   * - "cg": one CG solve per test point, exact to the CG tolerance, each CG
   *   step a kernel product with every test point (slow: 2.3 s for 16 points
   *   at n = 5,000, noise 0.01);
   * - "love": see fastPredVar;
   * - "pivotedCholesky": DTC variances of an adaptive-rank pivoted Cholesky
   *   (varianceTolerance 1e-3 x noise), no refinement: 2.7% max relative
   *   error at n = 5,000, noise 0.01, with a heuristic estimate
   *   (maxVarianceError) rather than a bound.
   */
  varianceMethod?: "auto" | "cg" | "love" | "pivotedCholesky";
  /**
   * "auto" / "pivotedCholesky": pivot until every training point's residual
   * prior variance is below this times the smallest noise (default 3e-5 for
   * "auto", 1e-3 for "pivotedCholesky"; smaller costs rank, larger costs
   * refinement).
   */
  varianceTolerance?: number;
  /** "auto" / "pivotedCholesky": rank cap (default 1,024, and n / 4 for "auto"; time grows as n r^2). */
  varianceMaxRank?: number;
  /** "auto": certified bound on each variance's relative error (default 1e-2). */
  varianceErrorTolerance?: number;
  /**
   * "auto": certified bound on each mean's absolute error (default 1e-4 x the
   * root mean square of y - m(X)); the training solve is refined until met.
   */
  meanErrorTolerance?: number;
  /** Numerical settings for this prediction, over the model's `solveOptions`. */
  solve?: SolveOptions;
}

/** What the last predict did: the method that ran and, for "auto", its certified error bounds. */
export interface PredictionReport {
  /** The method that computed the variances ("cholesky" at or below maxCholeskySize; "cg" for "auto" with a noise-free training point). */
  method: "cholesky" | "cg" | "love" | "pivotedCholesky" | "auto";
  /** The method asked for (varianceMethod, "love" for fastPredVar, else "auto"). */
  requested?: "cg" | "love" | "pivotedCholesky" | "auto";
  /** Pivoted-Cholesky rank (pivotedCholesky, auto). */
  rank?: number;
  /** Largest residual prior variance at a test point: the variance error estimate (pivotedCholesky). */
  maxVarianceError?: number;
  /** True when varianceMaxRank stopped the pivoting before varianceTolerance was met. */
  capped?: boolean;
  /** CG iterations of the training solve, when this call ran it. */
  trainingSolveIterations?: number;
  /** auto: test points whose pivoted-Cholesky bound exceeded the tolerance and were refined by preconditioned CG. */
  refinedPoints?: number;
  /** auto: products of the training covariance with the refined points' columns. */
  refineProducts?: number;
  /** auto: certified bound on |variance - exact| / exact over the returned points (in exact arithmetic, with a rounding allowance). */
  varianceErrorBound?: number;
  /** auto: the relative variance tolerance that was asked for. */
  varianceErrorTolerance?: number;
  /** auto: certified bound on |mean - exact| over the returned points. */
  meanErrorBound?: number;
  /** auto: the absolute mean tolerance that was asked for. */
  meanErrorTolerance?: number;
  /** auto: both bounds are within their tolerances (a NumericalWarning is emitted when not). */
  withinTolerance?: boolean;
  /** One line: what ran and the bounds. */
  summary?: string;
  /**
   * Wall-clock seconds of the stages this call ran (pivotedCholesky, auto):
   * factor (pivoted Cholesky + capacitance), trainingSolve, meanBound,
   * bounds (stage-1 brackets), refine (CG refinement).
   */
  seconds?: Record<string, number>;
}

/** The training system K + noise at the current parameters. */
export interface TrainingSystem {
  /** The prior N(m(X), K(X, X)) at the training inputs. */
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
  /** r^T P^{-1} r for the training residual r = y - m - A alpha and this factor ("auto"'s mean bound). */
  residualNormP?: { key: string; value: number };
}

/** The variance methods of PredictOptions.varianceMethod. */
const VARIANCE_METHODS = ["auto", "cg", "love", "pivotedCholesky"] as const;

/**
 * "auto"'s pivoting tolerance (x the smallest noise). Refining a point costs
 * a kernel product per CG step, ~4x its stage-1 bound, so a deeper factor
 * pays: at n = 5,000, d = 3, noise 0.01, 1,000 test points, 3e-4 / 1e-4 /
 * 3e-5 gave ranks 588 / 657 / 741 and refined 885 / 232 / 0 points, the
 * last the fastest (one run, same machine).
 */
const AUTO_PIVOT_TOLERANCE = 3e-5;

/** "auto": variances below this times k** are certified absolutely, not relatively (f64 resolution of k** - q). */
const VARIANCE_FLOOR = 1e-12;

/** "auto"'s tolerances and what the batches found, for the report. */
interface AutoState {
  varianceTolerance: number;
  meanTolerance: number;
  meanBound: number;
  /** Largest certified relative variance error so far. */
  maxRelative: number;
  refined: number;
  products: number;
  converged: boolean;
}

/** Adds the seconds since `started` (performance.now()) to report.seconds[stage]. */
function addSeconds(report: PredictionReport, stage: string, started: number): void {
  report.seconds ??= {};
  report.seconds[stage] = (report.seconds[stage] ?? 0) + (performance.now() - started) / 1000;
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
  /** The Gaussian likelihood the model was built with. */
  readonly likelihood: L;
  /** The prior mean (GPyTorch's mean_module). */
  meanModule!: M;
  /** The prior covariance kernel (GPyTorch's covar_module). */
  covarModule!: K;
  /** Numerical settings used by training and prediction (from the `solve` option). */
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

  /** The training inputs. shape: [n, d] */
  get trainInputs(): Mat {
    return this.requireData().x;
  }
  /** The training targets. shape: [n] */
  get trainTargets(): Float64Array {
    return this.requireData().y;
  }
  /** n, the number of training points. */
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

  /**
   * The cached training solve, computed when parameters or data changed.
   * @internal
   */
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

  /** `predict` on f64 inputs, synchronously. xt shape: [t, d] */
  predictF64(xt: Mat, options: PredictOptions = {}): Prediction {
    const inducing = inducingPointKernelOf(this);
    if (inducing) {
      // SGPR (InducingPointKernel): GPyTorch's predictive in O((n + t) M^2), whatever the size.
      this.lastPredictionReport = null;
      return sgprPredict(this, inducing, xt, options);
    }
    const { x, y } = this.requireData();
    if (xt.cols !== x.cols) {
      throw new ShapeError(`test inputs have ${xt.cols} columns but the model was trained on ${x.cols}-column inputs`);
    }
    const o = resolveSolveOptions({ ...this.solveOptions, ...options.solve });
    const n = x.rows, t = xt.rows;
    const requested = options.varianceMethod ?? (options.fastPredVar ? "love" : "auto");
    if (!VARIANCE_METHODS.includes(requested)) {
      throw new ArgumentError(`unknown varianceMethod "${requested}"; use one of ${VARIANCE_METHODS.map((m) => `"${m}"`).join(", ")} (default "auto")`);
    }
    let method: PredictionReport["method"] = n <= o.maxCholeskySize ? "cholesky" : requested;
    const report: PredictionReport = { method, requested };
    this.lastPredictionReport = report;
    let solve: SolveCache | null = null;
    if (method === "pivotedCholesky" || method === "auto") solve = this.pivotedTrainingSolve(o, options, method);
    if (!solve) {
      // "auto" with a noise-free training point: no pivoted bounds (they divide by the noise); CG per point is exact.
      if (method === "auto") report.summary = "CG per test point: a training point has zero noise, so no pivoted-Cholesky bounds";
      method = report.method = method === "auto" ? "cg" : method;
      solve = this.trainingSolve(o);
    }
    const auto = method === "auto" ? this.autoSettings(solve, xt, options, o) : null;
    const mean = new Float64Array(t);
    const variance = new Float64Array(t);
    const batch = Math.max(1, Math.min(t, Math.floor(PREDICT_BATCH_BYTES / (8 * (n + t)))));
    for (let s = 0; s < t; s += batch) {
      const b = Math.min(batch, t - s);
      this.predictBatch(xt, s, b, solve, o, mean, variance, options, method, auto);
    }
    if (auto) this.finishAutoReport(report, auto);
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
    auto: AutoState | null,
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
    /** K(S, x*) at the pivots S [r, b], read from the rows already evaluated. */
    const pivotColumns = (cache: PivotedVarianceCache): Mat => {
      const kSt = mat(cache.rank, b);
      for (let j = 0; j < cache.rank; j++) for (let col = 0; col < b; col++) kSt.data[j * b + col] = rows.data[col * (n + b) + cache.pivots[j]];
      return kSt;
    };
    if (solve.L) {
      const V = solveLower(solve.L, Kxt);
      for (let c = 0; c < b; c++) {
        let q = 0;
        for (let i = 0; i < n; i++) q += V.data[i * b + c] ** 2;
        variance[start + c] = Math.max(kss[c] - q, 0);
      }
    } else if (method === "auto" && auto && solve.pivoted) {
      this.autoVariances(solve, auto, Kxt, pivotColumns(solve.pivoted.cache), kss, o, variance, start);
    } else if (method === "pivotedCholesky" && solve.pivoted) {
      const v = pivotedVariances(solve.pivoted.cache, pivotColumns(solve.pivoted.cache), kss);
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
   * "auto": the mean bound for this call (refining the training solve until
   * it meets its tolerance) and the variance tolerance.
   * Mean error at x*: |k^T (alpha_hat - alpha)| = |k^T A^{-1} r| <= sqrt(k^T A^{-1} k) sqrt(r^T A^{-1} r)
   * <= sqrt(k**) sqrt(r^T P^{-1} r), r = y - m - A alpha_hat (A >= P).
   */
  private autoSettings(solve: SolveCache, xt: Mat, options: PredictOptions, o: ResolvedSolveOptions): AutoState {
    const pivoted = solve.pivoted!;
    const sys = this.trainingSystem();
    const n = sys.residual.length;
    const rms = Math.sqrt(sys.residual.reduce((a, v) => a + v * v, 0) / Math.max(n, 1));
    const meanTolerance = options.meanErrorTolerance ?? 1e-4 * rms;
    const varianceTolerance = options.varianceErrorTolerance ?? 1e-2;
    if (!(varianceTolerance > 0)) throw new ArgumentError(`varianceErrorTolerance must be positive (got ${varianceTolerance}); e.g. 1e-2 for 1% relative error`);
    if (!(meanTolerance >= 0)) throw new ArgumentError(`meanErrorTolerance must be non-negative (got ${meanTolerance})`);
    const started = performance.now();
    // Largest prior variance at the test points (the kernel's diagonal path: O(t)).
    const maxKss = this.forward(xt).lazyCovarianceMatrix.diagonalF64().reduce((a, v) => Math.max(a, v), 0);
    const residualNormP = (): number => {
      if (solve.residualNormP?.key === pivoted.key) return solve.residualNormP.value;
      const Aa = sys.covariance.matmulF64(mat(n, 1, solve.alpha)).data;
      const r = mat(n, 1, sys.residual.map((v, i) => v - Aa[i]));
      const Pr = pivotedPreconditionerSolve(pivoted.cache, r).data;
      const value = Math.max(r.data.reduce((a, v, i) => a + v * Pr[i], 0), 0);
      solve.residualNormP = { key: pivoted.key, value };
      return value;
    };
    let meanBound = Math.sqrt(maxKss * residualNormP());
    // Refine alpha (iterative refinement: solve A delta = r with the same preconditioner) while the bound is too wide.
    for (let round = 0; round < 3 && meanBound > meanTolerance; round++) {
      const Aa = sys.covariance.matmulF64(mat(n, 1, solve.alpha)).data;
      const r = sys.residual.map((v, i) => v - Aa[i]);
      const delta = pivotedSolve(pivoted.cache, sys.covariance, r, o.cgTolerance, o.maxCgIterations).solution;
      solve.alpha = solve.alpha.map((v, i) => v + delta[i]);
      solve.residualNormP = undefined;
      meanBound = Math.sqrt(maxKss * residualNormP());
    }
    addSeconds(this.lastPredictionReport!, "meanBound", started);
    return { varianceTolerance, meanTolerance, meanBound, maxRelative: 0, refined: 0, products: 0, converged: true };
  }

  /** "auto" for one batch: stage-1 bounds for all points, CG refinement for those above tolerance (certifiedVariance.ts). */
  private autoVariances(
    solve: SolveCache,
    auto: AutoState,
    Kxt: Mat,
    kSt: Mat,
    kss: Float64Array,
    o: ResolvedSolveOptions,
    variance: Float64Array,
    start: number,
  ): void {
    const c = solve.pivoted!.cache;
    const n = Kxt.rows, b = Kxt.cols;
    const floor = (j: number, k: Float64Array): number => VARIANCE_FLOOR * Math.abs(k[j]);
    const started = performance.now();
    const bracket = pivotedVarianceBracket(c, Kxt, kSt, kss);
    addSeconds(this.lastPredictionReport!, "bounds", started);
    const flagged: number[] = [];
    for (let j = 0; j < b; j++) {
      if (bracket.errorBound[j] > Math.max(auto.varianceTolerance * bracket.lower[j], floor(j, kss))) flagged.push(j);
    }
    if (flagged.length) {
      const f = flagged.length;
      const Kf = mat(n, f), X0 = mat(n, f);
      for (let i = 0; i < n; i++) {
        for (let q = 0; q < f; q++) {
          Kf.data[i * f + q] = Kxt.data[i * b + flagged[q]];
          X0.data[i * f + q] = bracket.start.data[i * b + flagged[q]];
        }
      }
      const refineStarted = performance.now();
      const kssF = Float64Array.from(flagged, (j) => kss[j]);
      const refined = refineVariances((v) => solve.covariance.matmulF64(v), (v) => pivotedPreconditionerSolve(c, v), Kf, X0, kssF, {
        relativeTolerance: auto.varianceTolerance,
        absoluteFloor: kssF.map((v) => VARIANCE_FLOOR * Math.abs(v)),
        maxIterations: o.maxCgIterations,
      });
      flagged.forEach((j, q) => {
        bracket.variance[j] = refined.variance[q];
        bracket.errorBound[j] = refined.errorBound[q];
        bracket.lower[j] = refined.lower[q];
      });
      addSeconds(this.lastPredictionReport!, "refine", refineStarted);
      auto.refined += f;
      auto.products += refined.products;
      auto.converged &&= refined.converged;
    }
    for (let j = 0; j < b; j++) {
      variance[start + j] = Math.max(bracket.variance[j], 0);
      auto.maxRelative = Math.max(auto.maxRelative, bracket.errorBound[j] / Math.max(bracket.lower[j], floor(j, kss)));
    }
  }

  private finishAutoReport(report: PredictionReport, auto: AutoState): void {
    const within = auto.maxRelative <= auto.varianceTolerance && auto.meanBound <= auto.meanTolerance;
    Object.assign(report, {
      refinedPoints: auto.refined,
      refineProducts: auto.products,
      varianceErrorBound: auto.maxRelative,
      varianceErrorTolerance: auto.varianceTolerance,
      meanErrorBound: auto.meanBound,
      meanErrorTolerance: auto.meanTolerance,
      withinTolerance: within,
    });
    const fmt = (v: number) => v.toExponential(1);
    report.summary =
      `pivoted Cholesky rank ${report.rank}${report.capped ? " (rank cap hit)" : ""} bounds for every point` +
      (auto.refined ? `, ${auto.refined} refined by preconditioned CG (${auto.products} kernel products)` : "") +
      `; variance relative error <= ${fmt(auto.maxRelative)} (tolerance ${fmt(auto.varianceTolerance)}), mean error <= ${fmt(auto.meanBound)} (tolerance ${fmt(auto.meanTolerance)})`;
    if (!within) {
      process.emitWarning(
        `predict: the certified error bounds exceed their tolerances (${report.summary}). ` +
          "Raise varianceMaxRank, lower varianceTolerance, or use varianceMethod \"cg\" with a smaller solve.cgTolerance.",
        "NumericalWarning",
      );
    }
  }

  /**
   * The training solve and the pivoted-Cholesky variance factor: the factor
   * is built first so that, when alpha is not cached yet, CG runs with it as
   * preconditioner (a few iterations instead of tens). Null for "auto" when
   * a training point has no noise.
   */
  private pivotedTrainingSolve(o: ResolvedSolveOptions, options: PredictOptions, method: "auto" | "pivotedCholesky"): SolveCache | null {
    const key = this.stateKey();
    const tolerance = options.varianceTolerance ?? (method === "auto" ? AUTO_PIVOT_TOLERANCE : 1e-3);
    // "auto" caps the rank at n / 4 as well: past that the factor (n r^2) costs more than refining points with CG.
    const n = this.numTrainingPoints;
    const maxRank = options.varianceMaxRank ?? (method === "auto" ? Math.min(1024, Math.max(64, Math.floor(n / 4))) : 1024);
    if (!(tolerance > 0)) throw new ArgumentError(`varianceTolerance must be positive (got ${tolerance}); e.g. 1e-4`);
    if (!(maxRank >= 1)) throw new ArgumentError(`varianceMaxRank must be at least 1 (got ${maxRank})`);
    const pivotKey = `${tolerance}|${maxRank}`;
    const cached = this.cache && this.cache.key === key ? this.cache : null;
    const report = this.lastPredictionReport!;
    if (cached?.pivoted?.key === pivotKey) {
      Object.assign(report, { rank: cached.pivoted.cache.rank, capped: cached.pivoted.cache.capped });
      return cached;
    }
    const sys = this.trainingSystem();
    if (!sys.noise.every((v) => v > 0)) {
      if (method === "auto") return null;
      throw new ArgumentError('varianceMethod "pivotedCholesky" needs positive noise on every training point (its preconditioner divides by it); use varianceMethod "cg"');
    }
    const started = performance.now();
    const c = buildPivotedVariance(sys.prior.lazyCovarianceMatrix, sys.noise, { tolerance, maxRank });
    addSeconds(report, "factor", started);
    if (c.capped && method === "pivotedCholesky") {
      process.emitWarning(
        `pivoted-Cholesky variances: rank cap ${c.rank} reached with residual prior variance ${c.maxTrainResidual.toExponential(2)} left ` +
          `(tolerance ${tolerance} x noise); variances may be off by about that much. Raise varianceMaxRank or varianceTolerance.`,
        "NumericalWarning",
      );
    }
    Object.assign(report, { rank: c.rank, capped: c.capped });
    let solve = cached;
    if (!solve) {
      const solveStarted = performance.now();
      const r = pivotedSolve(c, sys.covariance, sys.residual, o.cgTolerance, o.maxCgIterations);
      addSeconds(report, "trainingSolve", solveStarted);
      report.trainingSolveIterations = r.iterations;
      if (!r.converged) {
        process.emitWarning(`training solve: CG stopped at maxCgIterations (${o.maxCgIterations}) before tolerance ${o.cgTolerance}`, "NumericalWarning");
      }
      this.storeSolve(key, r.solution, null, sys.covariance);
      solve = this.cache!;
    }
    solve.pivoted = { key: pivotKey, cache: c };
    solve.residualNormP = undefined;
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

  /**
   * The record gp.display draws (hyperparameter table, structure).
   * @internal
   */
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

  /** The notebook display: hyperparameter table and module structure. */
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

