// Approximate (variational) GPs: SVGP with a whitened VariationalStrategy,
// and multitask outputs through the LMC or independent multitask
// strategies over a batch of latent GPs. The model holds the prior (mean and
// kernel modules, batched per latent when batchShape is given) and the
// variational strategy; objectives (VariationalELBO, PredictiveLogLikelihood)
// and predictions read per-(point, task) marginals from it, minibatch by
// minibatch, so nothing grows with N beyond the data itself.
//
// Module tree and state keys follow GPyTorch: variationalStrategy
// (.inducingPoints, .variationalDistribution.*, or for LMC .lmcCoefficients
// and .baseVariationalStrategy.*), meanModule, covarModule. The likelihood
// is not part of the model (as in GPyTorch); objectives carry it.

import * as tf from "@tensorflow/tfjs-core";
import { type Mat, mat } from "../algorithms/matrix";
import type { ModelDisplayData } from "../displayData";
import { JUPYTER_DISPLAY, type MimeBundle, renderBundle } from "../displayHooks";
import { MultitaskMultivariateNormal } from "../distributions/MultitaskMultivariateNormal";
import { MultivariateNormal } from "../distributions/MultivariateNormal";
import { ArgumentError, ShapeError } from "../errors";
import type { Kernel } from "../kernels/Kernel";
import { RBFKernel } from "../kernels/RBFKernel";
import { ScaleKernel } from "../kernels/ScaleKernel";
import { taskNoise } from "../likelihoods/taskNoise";
import { ConstantMean } from "../means/ConstantMean";
import type { Mean } from "../means/Mean";
import { Module } from "../module/Module";
import type { ReductionOptions } from "../reductions/engine";
import { type TensorLike, toMat } from "../tensorLike";
import { CholeskyVariationalDistribution } from "../variational/CholeskyVariationalDistribution";
import { IndependentMultitaskVariationalStrategy } from "../variational/IndependentMultitaskVariationalStrategy";
import { LMCVariationalStrategy } from "../variational/LMCVariationalStrategy";
import { MeanFieldVariationalDistribution } from "../variational/MeanFieldVariationalDistribution";
import { NaturalVariationalDistribution } from "../variational/NaturalVariationalDistribution";
import type { TaskMarginals } from "../variational/taskMixing";
import type { VariationalDistribution } from "../variational/VariationalDistribution";
import { type LatentPrior, VariationalStrategy } from "../variational/VariationalStrategy";
import { MultitaskPrediction } from "./MultitaskPrediction";
import { Prediction } from "./Prediction";

/** Which variational strategy an ApproximateGP uses (GPyTorch's VariationalStrategy, LMCVariationalStrategy, IndependentMultitaskVariationalStrategy). */
export type VariationalStrategyChoice =
  | {
      /** One output, one latent GP. */
      kind: "standard";
    }
  | {
      /** Linear model of coregionalization: tasks mix Q latent GPs. */
      kind: "lmc";
      /** Q, the latent GPs. */
      numLatents: number;
      /** T, the outputs. */
      numTasks: number;
      /** Jitter of the latent covariances (default 1e-6). */
      jitter?: number;
    }
  | {
      /** One independent latent GP per task. */
      kind: "independent";
      /** T, the outputs (and latent GPs). */
      numTasks: number;
    };

/** Options of ApproximateGP (SVGP): inducing points, variational distribution and strategy, modules. */
export interface ApproximateGPOptions {
  /** [M, d] (number[] is [M, 1]), or [Q, M, d] for Q latent GPs (nested arrays or a rank-3 tensor). */
  inducingPoints: TensorLike | Mat | number[][][];
  /**
   * "cholesky" (default), "meanfield", "natural" (natural parameters, trained
   * with gp.train.fit's optimizer: "ngd"), or a distribution instance.
   */
  variationalDistribution?: "cholesky" | "meanfield" | "natural" | VariationalDistribution;
  /** Train the inducing locations (default true). */
  learnInducingLocations?: boolean;
  /** Default ConstantMean (batched like the model). */
  meanModule?: Mean;
  /** Default ScaleKernel(RBFKernel) (batched like the model). */
  covarModule?: Kernel;
  /** `[Q]`: Q independent latent GPs (multitask strategies); default from the strategy. */
  batchShape?: number[];
  /** Default { kind: "standard" } (single output). */
  variationalStrategy?: VariationalStrategyChoice;
  /** Jitter on K_ZZ and the data variances (default 1e-6). */
  jitter?: number;
  /** Executor for the K_Zx and diagonal reductions (default fused f64). */
  reduction?: ReductionOptions;
}

/** Options of `ApproximateGP.predict`. */
export interface ApproximatePredictOptions {
  /** Add the likelihood's observation noise: the predictive distribution of y. */
  noise?: boolean;
  /** The likelihood for { noise: true } (default: the one an objective attached). */
  likelihood?: Module;
}

/** Test points per prediction chunk: bounds the [M, chunk] blocks. */
const PREDICT_CHUNK = 4096;

/** The strategy an ApproximateGP holds: the whitened base strategy, or a multitask wrapper around it. */
export type ApproximateGPStrategy = VariationalStrategy | LMCVariationalStrategy | IndependentMultitaskVariationalStrategy;

export class ApproximateGP extends Module {
  /** The whitened variational strategy (LMC / independent multitask when asked). */
  readonly variationalStrategy: ApproximateGPStrategy;
  /** The prior mean of the latent GP(s). */
  readonly meanModule: Mean;
  /** The prior covariance of the latent GP(s). */
  readonly covarModule: Kernel;
  /** Output columns: 1 for a single-output SVGP. */
  readonly numTasks: number;
  /** Latent GPs (Q of an LMC strategy; numTasks for independent; 1 otherwise). */
  readonly numLatents: number;
  /** Whether predictions are MultitaskPrediction. */
  readonly isMultitask: boolean;
  /** Training-set size, from the objective built on this model (display only). */
  numData: number | null = null;
  // A private field, so Module's property scan does not adopt it as a child.
  #likelihood: Module | null = null;

  /** The likelihood an objective was built with (not a child module: GPyTorch keeps it apart). */
  get likelihood(): Module | null {
    return this.#likelihood;
  }
  /** Attaches a likelihood (VariationalELBO does this). */
  set likelihood(l: Module | null) {
    this.#likelihood = l;
  }

  constructor(options: ApproximateGPOptions) {
    super();
    if (!options || options.inducingPoints === undefined) throw new ArgumentError("ApproximateGP needs { inducingPoints }: [M, d] or [Q, M, d]");
    const choice: VariationalStrategyChoice = options.variationalStrategy ?? { kind: "standard" };
    const zs = parseInducingPoints(options.inducingPoints);
    let Q: number;
    if (choice.kind === "lmc") Q = choice.numLatents;
    else if (choice.kind === "independent") Q = choice.numTasks;
    else if (choice.kind === "standard") Q = 1;
    else throw new ArgumentError(`variationalStrategy.kind must be "standard", "lmc" or "independent", got ${(choice as { kind: string }).kind}`);
    if (!Number.isInteger(Q) || Q < 1) throw new ArgumentError(`the number of latent GPs must be a positive integer, got ${Q}`);
    const batchShape = options.batchShape ?? (Q > 1 ? [Q] : []);
    if (choice.kind === "standard" && batchShape.length) {
      throw new ArgumentError("batchShape needs a multitask variationalStrategy ({ kind: \"lmc\", numLatents, numTasks } or { kind: \"independent\", numTasks }) to combine the latent GPs");
    }
    if (batchShape.length && (batchShape.length !== 1 || batchShape[0] !== Q)) {
      throw new ArgumentError(`batchShape [${batchShape}] does not match the ${Q} latent GPs of the ${choice.kind} strategy`);
    }
    if (zs.length !== 1 && zs.length !== Q) throw new ShapeError(`inducing points come in ${zs.length} sets but the model has ${Q} latent GPs`);
    const M = zs[0].rows, d = zs[0].cols;

    this.meanModule = options.meanModule ?? new ConstantMean({ batchShape: batchShape.length ? [...batchShape] : undefined });
    this.covarModule = options.covarModule ?? new ScaleKernel(new RBFKernel({ batchShape: batchShape.length ? [...batchShape] : undefined }), { batchShape: batchShape.length ? [...batchShape] : undefined });
    for (const [what, m] of [["meanModule", this.meanModule], ["covarModule", this.covarModule]] as const) {
      if (m.batchShape.length && m.batchShape[0] !== Q) throw new ArgumentError(`${what} has batchShape [${m.batchShape}] but the model has ${Q} latent GPs`);
    }
    const kd = this.covarModule.inputDims();
    if (kd !== null && kd > d) throw new ShapeError(`the inducing points have ${d} columns but covarModule expects ${kd} input dimensions`);

    const vd = options.variationalDistribution ?? "cholesky";
    const distOptions = { numInducingPoints: M, batchShape: batchShape.length ? [...batchShape] : undefined };
    let dist: VariationalDistribution;
    if (vd === "cholesky") dist = new CholeskyVariationalDistribution(distOptions);
    else if (vd === "meanfield") dist = new MeanFieldVariationalDistribution(distOptions);
    else if (vd === "natural") dist = new NaturalVariationalDistribution(distOptions);
    else if (typeof vd === "object" && "numInducingPoints" in vd) dist = vd;
    else throw new ArgumentError(`variationalDistribution must be "cholesky", "meanfield", "natural" or a distribution, got ${String(vd)}`);
    if (dist.numMembers !== Q) throw new ArgumentError(`the variational distribution holds ${dist.numMembers} latent GPs, the model ${Q}`);

    const base = new VariationalStrategy({ inducingPoints: zs, variationalDistribution: dist, learnInducingLocations: options.learnInducingLocations, jitter: options.jitter, reduction: options.reduction });
    if (choice.kind === "lmc") this.variationalStrategy = new LMCVariationalStrategy(base, choice);
    else if (choice.kind === "independent") this.variationalStrategy = new IndependentMultitaskVariationalStrategy(base, choice);
    else this.variationalStrategy = base;
    this.registerModule("variationalStrategy", this.variationalStrategy);
    this.registerModule("meanModule", this.meanModule);
    this.registerModule("covarModule", this.covarModule);
    this.numLatents = Q;
    this.numTasks = choice.kind === "standard" ? 1 : choice.numTasks;
    this.isMultitask = choice.kind !== "standard";
  }

  /** The whitened strategy that holds the inducing points and q(u). */
  get baseVariationalStrategy(): VariationalStrategy {
    const s = this.variationalStrategy;
    return s instanceof VariationalStrategy ? s : s.baseVariationalStrategy;
  }

  /**
   * Latent q's kernel and mean (batch members when batched).
   * @internal
   */
  readonly prior: LatentPrior = (q) => ({ kernel: this.covarModule.batchMember(q), mean: this.meanModule.batchMember(q) });

  /** sum over latent GPs of KL(q(u') || p(u')). */
  klDivergence(): number {
    return this.variationalStrategy.klDivergence();
  }

  /**
   * Marginal mean and variance of f at x [B, d] for each task. shapes: [B, T]
   * @internal
   */
  marginalsF64(x: Mat, options: { withGradient?: boolean } = {}): TaskMarginals {
    const s = this.variationalStrategy;
    if (s instanceof VariationalStrategy) {
      const latent = s.latentMarginals(x, this.prior, options);
      return { numTasks: 1, size: latent.size, mean: latent.mean, variance: latent.variance, backward: latent.backward };
    }
    return s.marginals(x, this.prior, options);
  }

  /**
   * q(f) at x [n, d] with a lazy covariance (GPyTorch's model(x)):
   * MultivariateNormal, or MultitaskMultivariateNormal over [n, T].
   */
  call(x: TensorLike | Mat): MultivariateNormal | MultitaskMultivariateNormal {
    const xm = toMat(x, "inputs");
    const s = this.variationalStrategy;
    if (s instanceof VariationalStrategy) {
      const { mean, covariance } = s.latentCovariance(0, xm, this.prior);
      return new MultivariateNormal(mean, covariance);
    }
    const { mean, covariance } = s.joint(xm, this.prior);
    return new MultitaskMultivariateNormal(mean, this.numTasks, covariance);
  }

  /**
   * Predictive mean and variance at x [n, d], in chunks of test points:
   * Prediction for one output, MultitaskPrediction ([n, T]) for several.
   */
  async predict(x: TensorLike | Mat, options: ApproximatePredictOptions = {}): Promise<Prediction | MultitaskPrediction> {
    return this.predictF64(toMat(x, "test inputs"), options);
  }

  /** `predict` on f64 inputs, synchronously. xt shape: [t, d] */
  predictF64(xt: Mat, options: ApproximatePredictOptions = {}): Prediction | MultitaskPrediction {
    const T = this.numTasks, n = xt.rows, d = xt.cols;
    const mean = new Float64Array(n * T);
    const variance = new Float64Array(n * T);
    for (let s = 0; s < n; s += PREDICT_CHUNK) {
      const b = Math.min(PREDICT_CHUNK, n - s);
      const chunk = mat(b, d, xt.data.subarray(s * d, (s + b) * d));
      const m = this.marginalsF64(chunk);
      mean.set(m.mean, s * T);
      variance.set(m.variance, s * T);
    }
    if (options.noise) {
      const lik = options.likelihood ?? this.likelihood;
      if (!lik) throw new ArgumentError("predict with { noise: true } needs the likelihood: pass { likelihood } (or build an objective with it first)");
      const noise = taskNoise(lik, T).values;
      for (let i = 0; i < n * T; i++) variance[i] += noise[i % T];
    }
    if (!this.isMultitask) return new Prediction(xt, mean, variance, !!options.noise);
    return new MultitaskPrediction(xt, mean, variance, T, !!options.noise);
  }

  /** Variational parameters are not hyperparameters: leave them out of rows and progress events. */
  override hyperparameterRows(prefix = "") {
    return super.hyperparameterRows(prefix).filter((r) => !/inducingPoints|variationalDistribution/.test(r.name));
  }

  /**
   * The record gp.display draws.
   * @internal
   */
  displayData(): ModelDisplayData {
    return {
      kind: "model",
      name: this.constructor.name,
      structure: `${this.variationalStrategy.constructor.name}(${this.covarModule.name}), ${this.baseVariationalStrategy.numInducingPoints} inducing points${this.isMultitask ? `, ${this.numLatents} latents, ${this.numTasks} tasks` : ""}`,
      numTrainingPoints: this.numData ?? 0,
      inputDims: this.baseVariationalStrategy.inputDims,
      hyperparameters: this.hyperparameterRows(),
    };
  }

  override toString(): string {
    const rows = this.hyperparameterRows().map((r) => `  ${r.name}: ${r.value.map((v) => +v.toPrecision(6)).join(", ")}`);
    return [`ApproximateGP (${this.displayData().structure})`, ...rows].join("\n");
  }

  /** The notebook display: hyperparameter table and module structure. */
  [JUPYTER_DISPLAY](): MimeBundle | Promise<MimeBundle> {
    return renderBundle("model", this.displayData(), () => this.toString());
  }
}

/** [M, d] -> one Mat; [Q, M, d] (nested arrays or a rank-3 tensor) -> Q Mats. */
function parseInducingPoints(z: TensorLike | Mat | number[][][]): Mat[] {
  if (z instanceof tf.Tensor && z.rank === 3) {
    const [Q, M, d] = z.shape as [number, number, number];
    const data = Float64Array.from(z.dataSync());
    return Array.from({ length: Q }, (_, q) => mat(M, d, data.slice(q * M * d, (q + 1) * M * d)));
  }
  if (Array.isArray(z) && Array.isArray(z[0]) && Array.isArray((z as unknown[][])[0][0])) {
    return (z as number[][][]).map((zq, q) => toMat(zq, `inducingPoints[${q}]`));
  }
  return [toMat(z as TensorLike | Mat, "inducingPoints")];
}
