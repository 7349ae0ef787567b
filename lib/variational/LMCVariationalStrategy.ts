// GPyTorch's LMCVariationalStrategy: T correlated task outputs as learned
// linear mixtures of Q independent latent SVGPs (a batch of Q in the base
// VariationalStrategy): f_t(x) = sum_q lmcCoefficients[q, t] f_q(x).
// The mixed variances get GPyTorch's extra jitter (1e-6 in float64).
// State keys: lmcCoefficients [Q, T], baseVariationalStrategy.*

import { type Mat } from "../algorithms/matrix";
import { ArgumentError } from "../errors";
import { Module } from "../module/Module";
import { Parameter } from "../module/Parameter";
import type { LinearOperator } from "../operators/LinearOperator";
import { globalRandom } from "../random";
import { type TaskMarginals, mixCovariances, mixMarginals } from "./taskMixing";
import { type LatentPrior, VARIATIONAL_JITTER, type VariationalStrategy } from "./VariationalStrategy";

/** Options of LMCVariationalStrategy. */
export interface LMCOptions {
  /** Q, the latent GPs. */
  numLatents: number;
  /** T, the outputs. */
  numTasks: number;
  /** Added to the mixed task variances (default 1e-6 like GPyTorch). */
  jitter?: number;
}

export class LMCVariationalStrategy extends Module {
  /** Q, the latent GPs. */
  readonly numLatents: number;
  /** T, the outputs. */
  readonly numTasks: number;
  /** Jitter of the latent covariances. */
  readonly jitter: number;
  /** shape: [numLatents, numTasks], starts at seeded standard normals like GPyTorch's randn. */
  readonly lmcCoefficients: Parameter;

  constructor(
    /** The batched strategy of the Q latent GPs. */
    readonly baseVariationalStrategy: VariationalStrategy,
    options: LMCOptions,
  ) {
    super();
    const { numLatents, numTasks } = options;
    if (!Number.isInteger(numLatents) || numLatents < 1) throw new ArgumentError(`numLatents must be a positive integer, got ${numLatents}`);
    if (!Number.isInteger(numTasks) || numTasks < 1) throw new ArgumentError(`numTasks must be a positive integer, got ${numTasks}`);
    if (baseVariationalStrategy.numLatents !== numLatents) {
      throw new ArgumentError(`LMC with numLatents = ${numLatents} needs a batch of ${numLatents} latent GPs (batchShape [${numLatents}]), got ${baseVariationalStrategy.numLatents}`);
    }
    this.numLatents = numLatents;
    this.numTasks = numTasks;
    this.jitter = options.jitter ?? VARIATIONAL_JITTER;
    this.lmcCoefficients = this.registerParameter("lmcCoefficients", new Parameter([numLatents, numTasks]));
    this.lmcCoefficients.setRaw(globalRandom.normals(numLatents * numTasks));
    this.registerModule("baseVariationalStrategy", baseVariationalStrategy);
  }

  /** KL(q(u) ‖ p(u)) summed over the latent GPs. */
  klDivergence(): number {
    return this.baseVariationalStrategy.klDivergence();
  }

  /** @internal */
  marginals(x: Mat, prior: LatentPrior, options: { withGradient?: boolean } = {}): TaskMarginals {
    const latent = this.baseVariationalStrategy.latentMarginals(x, prior, options);
    return mixMarginals(latent, this.lmcCoefficients.raw, this.numTasks, this.jitter, options.withGradient ? this.lmcCoefficients.grad : undefined);
  }

  /**
   * Mean [n, T] and the lazy covariance over (point, task) pairs [n T, n T].
   * @internal
   */
  joint(x: Mat, prior: LatentPrior): { mean: Float64Array; covariance: LinearOperator } {
    const parts = Array.from({ length: this.numLatents }, (_, q) => this.baseVariationalStrategy.latentCovariance(q, x, prior));
    const latent = { numLatents: this.numLatents, size: x.rows, mean: new Float64Array(this.numLatents * x.rows), variance: new Float64Array(this.numLatents * x.rows) };
    parts.forEach((p, q) => latent.mean.set(p.mean, q * x.rows));
    const mean = mixMarginals(latent, this.lmcCoefficients.raw, this.numTasks, 0).mean;
    return { mean, covariance: mixCovariances(parts.map((p) => p.covariance), this.lmcCoefficients.raw, this.numTasks, this.jitter) };
  }
}
