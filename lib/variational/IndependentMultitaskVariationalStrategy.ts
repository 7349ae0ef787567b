// GPyTorch's IndependentMultitaskVariationalStrategy: task t is latent GP t
// of a batch of T independent SVGPs (no mixing, no extra jitter).
// State keys: baseVariationalStrategy.*

import type { Mat } from "../algorithms/matrix";
import { ArgumentError } from "../errors";
import { Module } from "../module/Module";
import type { LinearOperator } from "../operators/LinearOperator";
import { type TaskMarginals, mixCovariances, mixMarginals } from "./taskMixing";
import type { LatentPrior, VariationalStrategy } from "./VariationalStrategy";

export class IndependentMultitaskVariationalStrategy extends Module {
  /** T, the outputs (one latent GP each). */
  readonly numTasks: number;
  private readonly identity: Float64Array;

  constructor(
    /** The batched strategy of the T latent GPs. */
    readonly baseVariationalStrategy: VariationalStrategy,
    options: { numTasks: number },
  ) {
    super();
    const T = options?.numTasks;
    if (!Number.isInteger(T) || T < 1) throw new ArgumentError(`numTasks must be a positive integer, got ${T}`);
    if (baseVariationalStrategy.numLatents !== T) {
      throw new ArgumentError(`the independent multitask strategy needs one latent GP per task: batchShape [${T}], got ${baseVariationalStrategy.numLatents} latent GPs`);
    }
    this.numTasks = T;
    this.identity = new Float64Array(T * T);
    for (let t = 0; t < T; t++) this.identity[t * T + t] = 1;
    this.registerModule("baseVariationalStrategy", baseVariationalStrategy);
  }

  /** The latent GPs: one per task. */
  get numLatents(): number {
    return this.numTasks;
  }

  /** KL(q(u) ‖ p(u)) summed over the tasks' latent GPs. */
  klDivergence(): number {
    return this.baseVariationalStrategy.klDivergence();
  }

  /** @internal */
  marginals(x: Mat, prior: LatentPrior, options: { withGradient?: boolean } = {}): TaskMarginals {
    return mixMarginals(this.baseVariationalStrategy.latentMarginals(x, prior, options), this.identity, this.numTasks, 0);
  }

  /** @internal */
  joint(x: Mat, prior: LatentPrior): { mean: Float64Array; covariance: LinearOperator } {
    const T = this.numTasks, n = x.rows;
    const parts = Array.from({ length: T }, (_, q) => this.baseVariationalStrategy.latentCovariance(q, x, prior));
    const mean = new Float64Array(n * T);
    parts.forEach((p, t) => p.mean.forEach((v, i) => (mean[i * T + t] = v)));
    return { mean, covariance: mixCovariances(parts.map((p) => p.covariance), this.identity, T, 0) };
  }
}
