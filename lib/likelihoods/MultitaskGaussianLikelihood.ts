// y_i = f_i + eps_i for T tasks at once, eps_i ~ N(0, Sigma) with
//   rank 0:  Sigma = diag(taskNoises) + noise I      (GPyTorch's default)
//   rank r:  Sigma = W W^T + noise I,  W [T, r]       (correlated task noise)
// (the global `noise` only with hasGlobalNoise, default true). State keys as
// GPyTorch: rawTaskNoises [T] or taskNoiseCovarFactor [T, r], rawNoise [1].
// Exact multitask GPs use the whole Sigma; the variational objectives use its
// diagonal per task, as GPyTorch's expected_log_prob does.

import { type Constraint, GreaterThan } from "../constraints/Interval";
import { ArgumentError } from "../errors";
import { Module } from "../module/Module";
import { Parameter } from "../module/Parameter";
import { globalRandom } from "../random";

/** Options of MultitaskGaussianLikelihood. */
export interface MultitaskGaussianLikelihoodOptions {
  /** T, the number of tasks. */
  numTasks: number;
  /** 0 (default): independent per-task noises; r > 0: Sigma = W W^T (+ noise I) with W [T, r]. */
  rank?: number;
  /** A global noise added to every task (default true). */
  hasGlobalNoise?: boolean;
  /** Per-task noise (default true). */
  hasTaskNoise?: boolean;
  /** Default GreaterThan(1e-4), like GPyTorch. */
  noiseConstraint?: Constraint;
}

export class MultitaskGaussianLikelihood extends Module {
  /** T, the number of tasks. */
  readonly numTasks: number;
  /** Rank of the task noise covariance (0: diagonal, per-task noises). */
  readonly rank: number;
  /** shape: [T] (rank 0 with task noise) */
  readonly rawTaskNoises: Parameter | null = null;
  /** shape: [T, rank] (rank > 0) */
  readonly taskNoiseCovarFactor: Parameter | null = null;
  /** shape: [1] (with global noise) */
  readonly rawNoise: Parameter | null = null;

  constructor(options: MultitaskGaussianLikelihoodOptions) {
    super();
    const T = options?.numTasks;
    if (!Number.isInteger(T) || T < 1) throw new ArgumentError(`MultitaskGaussianLikelihood needs { numTasks } a positive integer, got ${T}`);
    const rank = options.rank ?? 0;
    if (!Number.isInteger(rank) || rank < 0) throw new ArgumentError(`rank must be a non-negative integer, got ${rank}`);
    this.numTasks = T;
    this.rank = rank;
    const constraint = options.noiseConstraint ?? new GreaterThan(1e-4);
    if (options.hasTaskNoise ?? true) {
      if (rank === 0) this.rawTaskNoises = this.registerParameter("rawTaskNoises", new Parameter([T], constraint));
      else {
        this.taskNoiseCovarFactor = this.registerParameter("taskNoiseCovarFactor", new Parameter([T, rank]));
        this.taskNoiseCovarFactor.setRaw(globalRandom.normals(T * rank));
      }
    }
    if (options.hasGlobalNoise ?? true) this.rawNoise = this.registerParameter("rawNoise", new Parameter([1], constraint));
    if (!this.rawTaskNoises && !this.taskNoiseCovarFactor && !this.rawNoise) throw new ArgumentError("MultitaskGaussianLikelihood needs task noise, global noise or both");
  }

  /** Constrained per-task noises (rank 0). shape: [T] */
  get taskNoises(): number[] {
    return this.rawTaskNoises ? Array.from(this.rawTaskNoises.value()) : [];
  }
  /** Sets the per-task noise variances. */
  set taskNoises(v: number[]) {
    if (!this.rawTaskNoises) throw new ArgumentError("this likelihood has no per-task noises (rank > 0 or hasTaskNoise false)");
    this.rawTaskNoises.setValue(v);
  }
  /** The shared noise variance added to every task (constrained). */
  get noise(): number {
    return this.rawNoise ? this.rawNoise.valueAt(0) : 0;
  }
  /** Sets the shared noise variance. */
  set noise(v: number) {
    if (!this.rawNoise) throw new ArgumentError("this likelihood has no global noise (hasGlobalNoise false)");
    this.rawNoise.setValue(v);
  }

  /** Sigma, the noise covariance between tasks. shape: [T, T] row-major */
  taskNoiseCovarF64(): Float64Array {
    const T = this.numTasks, r = this.rank;
    const S = new Float64Array(T * T);
    if (this.rawTaskNoises) for (let t = 0; t < T; t++) S[t * T + t] = this.rawTaskNoises.valueAt(t);
    if (this.taskNoiseCovarFactor) {
      const W = this.taskNoiseCovarFactor.raw;
      for (let a = 0; a < T; a++) for (let b = 0; b < T; b++) for (let k = 0; k < r; k++) S[a * T + b] += W[a * r + k] * W[b * r + k];
    }
    const g = this.noise;
    for (let t = 0; t < T; t++) S[t * T + t] += g;
    return S;
  }

  /** diag(Sigma): each task's noise variance. shape: [T] */
  taskNoiseDiagonalF64(): Float64Array {
    const S = this.taskNoiseCovarF64();
    return Float64Array.from({ length: this.numTasks }, (_, t) => S[t * this.numTasks + t]);
  }

  /** Adds sum_ab dSigma[a, b] dSigma_ab / draw into the grads. shape: dSigma [T, T] */
  backwardTaskNoiseCovar(dSigma: Float64Array): void {
    const T = this.numTasks, r = this.rank;
    if (this.rawTaskNoises) for (let t = 0; t < T; t++) this.rawTaskNoises.addValueGrad(t, dSigma[t * T + t]);
    if (this.taskNoiseCovarFactor) {
      const W = this.taskNoiseCovarFactor.raw;
      for (let a = 0; a < T; a++) {
        for (let k = 0; k < r; k++) {
          let s = 0;
          for (let b = 0; b < T; b++) s += (dSigma[a * T + b] + dSigma[b * T + a]) * W[b * r + k];
          this.taskNoiseCovarFactor.addValueGrad(a * r + k, s);
        }
      }
    }
    if (this.rawNoise) {
      let s = 0;
      for (let t = 0; t < T; t++) s += dSigma[t * T + t];
      this.rawNoise.addValueGrad(0, s);
    }
  }

  /** Adds the gradient w.r.t. diag(Sigma) (what the variational objectives use). shape: [T] */
  backwardTaskNoiseDiagonal(dNoise: Float64Array): void {
    const T = this.numTasks;
    const dSigma = new Float64Array(T * T);
    for (let t = 0; t < T; t++) dSigma[t * T + t] = dNoise[t];
    this.backwardTaskNoiseCovar(dSigma);
  }
}
