// GPyTorch's whitened VariationalStrategy (SVGP) for a batch of Q
// independent latent functions f_q, each with inducing points Z_q [M, d]
// and q(u'_q) = N(m_q, L_q L_q^T) over u'_q = Lz_q^{-1} u_q:
//   Lz = chol(K_ZZ + jitter I),  A = Lz^{-1} K_Zx          [M, B]
//   mu(x_i)  = mean(x_i) + a_i^T m
//   var(x_i) = k(x_i, x_i) + jitter + a_i^T (L L^T - I) a_i
// k(x_i, x_i) comes from the lazy kernel operator's diagonal (O(B) pair
// evaluations), never from a B x B matrix. The jitter (1e-6, GPyTorch's
// float64 variational_cholesky_jitter) is added to K_ZZ before its Cholesky
// and to the data variances, as GPyTorch does.
//
// Gradients are analytic, in f64. With gMu, gVar the objective's gradients
// w.r.t. the marginals and c the weight of -KL:
//   dm   = A gMu - c m,       dL = 2 A diag(gVar) A^T L - c (L - diag(1/L_ii))
//   dA   = m gMu^T + 2 (L L^T - I) A diag(gVar)
//   dK_Zx = Lz^{-T} dA,      dLz = -tril(dK_Zx A^T),  dK_ZZ = cholesky backward
// (the dense algebra, its buffers reused step after step, is in
// whitenedAlgebra.ts), then kernel parameters through the bilinear-derivative
// reductions (K_Zx, K_ZZ, and the diagonal for k(x_i, x_i)), inducing points
// through backwardWithInputGradient (with the kernel parameters' gradient in
// one pass over each block where the executor fuses them).

import { choleskyWithJitter } from "../algorithms/cholesky";
import { type Mat, mat, triangularMatmul } from "../algorithms/matrix";
import { ArgumentError, ShapeError } from "../errors";
import { diagBackward } from "../kernels/diagBackward";
import { backwardWithInputGradient } from "../kernels/inputGradient";
import type { Kernel } from "../kernels/Kernel";
import { KernelOperator } from "../kernels/KernelOperator";
import type { Mean } from "../means/Mean";
import { defaultExecutor } from "../backend/backend";
import type { ReductionOptions } from "../reductions/engine";
import { Module } from "../module/Module";
import { Parameter } from "../module/Parameter";
import { ConstantDiagLinearOperator } from "../operators/ConstantDiagLinearOperator";
import { ConstantMulLinearOperator } from "../operators/ConstantMulLinearOperator";
import type { LinearOperator } from "../operators/LinearOperator";
import { LowRankRootLinearOperator } from "../operators/LowRankRootLinearOperator";
import { SumLinearOperator } from "../operators/SumLinearOperator";
import type { VariationalDistribution } from "./VariationalDistribution";
import { WhitenedState, whitenedBackward, whitenedForward } from "./whitenedAlgebra";

/** GPyTorch's settings.variational_cholesky_jitter for float64. */
export const VARIATIONAL_JITTER = 1e-6;

/** The prior of latent q: its kernel and mean (batch members of the model's modules). */
export type LatentPrior = (q: number) => { kernel: Kernel; mean: Mean };

/** Marginals of the Q latent functions at B inputs, and the way back to the parameters. */
export interface LatentMarginals {
  numLatents: number;
  size: number;
  /** shape: [Q, B] row-major */
  mean: Float64Array;
  /** shape: [Q, B] row-major */
  variance: Float64Array;
  /**
   * Adds the gradient of (sum gMean * mean + sum gVar * variance - klScale * KL)
   * into every parameter's grad. shapes: gMean, gVar [Q, B]
   */
  backward?(gMean: Float64Array, gVar: Float64Array, klScale: number): void;
}

/** Options of VariationalStrategy. */
export interface VariationalStrategyOptions {
  /** [M, d], or [Q, M, d] for a batch of Q latent functions (a [M, d] start is copied to each). */
  inducingPoints: Mat[] | Mat;
  /** q(u), GPyTorch's variational_distribution. */
  variationalDistribution: VariationalDistribution;
  /** Train the inducing locations (default true). */
  learnInducingLocations?: boolean;
  /** Added to K_ZZ and to the data variances (default 1e-6, GPyTorch's float64 value). */
  jitter?: number;
  /**
   * Executor for the K_Zx / diagonal reductions and the derivatives (default:
   * the fused f64 one, or WGSL on the webgpu backend; K_ZZ itself always runs
   * fused: float32 would spoil its Cholesky).
   */
  reduction?: ReductionOptions;
}

export class VariationalStrategy extends Module {
  /** shape: [M, d] or [Q, M, d] (GPyTorch's inducing_points) */
  readonly inducingPoints: Parameter;
  /** q(u) over the whitened inducing values. */
  readonly variationalDistribution: VariationalDistribution;
  /** Whether the inducing locations Z are trained. */
  readonly learnInducingLocations: boolean;
  /** Jitter added to K_ZZ (default 1e-6). */
  readonly jitter: number;
  /** Latent GPs sharing this strategy (the batch size; 1 unbatched). */
  readonly numLatents: number;
  /** M, the inducing points per latent GP. */
  readonly numInducingPoints: number;
  /** d, the input dimension. */
  readonly inputDims: number;
  private readonly reductionOption: ReductionOptions | undefined;
  private choleskyCache = new Map<number, { z: Float64Array; params: Float64Array[]; L: Mat }>();
  private whitenedStates = new Map<number, WhitenedState>();

  constructor(options: VariationalStrategyOptions) {
    super();
    const dist = options.variationalDistribution;
    const Q = dist.numMembers;
    const zs = Array.isArray(options.inducingPoints) ? options.inducingPoints : [options.inducingPoints];
    if (zs.length !== 1 && zs.length !== Q) {
      throw new ShapeError(`inducing points come in ${zs.length} sets but there are ${Q} latent functions; pass [M, d] or [${Q}, M, d]`);
    }
    const M = zs[0].rows, d = zs[0].cols;
    for (const z of zs) {
      if (z.rows !== M || z.cols !== d) throw new ShapeError(`every latent needs inducing points of the same shape [${M}, ${d}], got [${z.rows}, ${z.cols}]`);
    }
    if (M !== dist.numInducingPoints) {
      throw new ShapeError(`${M} inducing points but the variational distribution was built for ${dist.numInducingPoints}`);
    }
    this.numLatents = Q;
    this.numInducingPoints = M;
    this.inputDims = d;
    this.learnInducingLocations = options.learnInducingLocations ?? true;
    this.jitter = options.jitter ?? VARIATIONAL_JITTER;
    this.reductionOption = options.reduction;
    const shape = dist.distributionBatchShape.length ? [Q, M, d] : [M, d];
    this.inducingPoints = this.registerParameter("inducingPoints", new Parameter(shape));
    for (let q = 0; q < Q; q++) this.inducingPoints.raw.set((zs.length === 1 ? zs[0] : zs[q]).data, q * M * d);
    this.variationalDistribution = this.registerModule("variationalDistribution", dist);
  }

  /** The reductions' executor: the one asked for, else WGSL on the webgpu backend, else the fused f64 loops. */
  get reduction(): ReductionOptions {
    return this.reductionOption ?? { executor: defaultExecutor() === "webgpu" ? "webgpu" : "fused" };
  }

  /** Inducing points of latent q. shape: [M, d] */
  inducingF64(q: number): Mat {
    const M = this.numInducingPoints, d = this.inputDims;
    return mat(M, d, this.inducingPoints.raw.slice(q * M * d, (q + 1) * M * d));
  }

  /** sum_q KL(q(u'_q) || N(0, I)) */
  klDivergence(): number {
    let s = 0;
    for (let q = 0; q < this.numLatents; q++) s += this.variationalDistribution.klDivergence(q);
    return s;
  }

  /**
   * Marginal means and variances of every latent at x [B, d].
   * @internal
   */
  latentMarginals(x: Mat, prior: LatentPrior, options: { withGradient?: boolean } = {}): LatentMarginals {
    this.checkInputs(x);
    const Q = this.numLatents, B = x.rows;
    const mean = new Float64Array(Q * B);
    const variance = new Float64Array(Q * B);
    const states: ReturnType<VariationalStrategy["forwardLatent"]>[] = [];
    for (let q = 0; q < Q; q++) {
      const s = this.forwardLatent(q, x, prior(q));
      mean.set(s.mu, q * B);
      variance.set(s.variance, q * B);
      states.push(s);
    }
    const out: LatentMarginals = { numLatents: Q, size: B, mean, variance };
    if (options.withGradient) {
      out.backward = (gMean, gVar, klScale) => {
        for (let q = 0; q < Q; q++) this.backwardLatent(states[q], gMean.subarray(q * B, (q + 1) * B), gVar.subarray(q * B, (q + 1) * B), klScale);
      };
    }
    return out;
  }

  /**
   * The lazy predictive covariance of latent q at x [n, d]:
   * K_xx + jitter I + (L^T A)^T (L^T A) - A^T A, its diagonal the kernel's diag path.
   * @internal
   */
  latentCovariance(q: number, x: Mat, prior: LatentPrior): { mean: Float64Array; covariance: LinearOperator } {
    this.checkInputs(x);
    const s = this.forwardLatent(q, x, prior(q), new WhitenedState(this.numInducingPoints));
    const n = x.rows, M = this.numInducingPoints, A = s.state.unpaddedA();
    const rootOf = (P: Mat) => {
      const r = mat(n, M);
      for (let k = 0; k < M; k++) for (let i = 0; i < n; i++) r.data[i * M + k] = P.data[k * n + i];
      return r;
    };
    const covariance = new SumLinearOperator(
      s.Kxx,
      new ConstantDiagLinearOperator(this.jitter, n),
      new LowRankRootLinearOperator(rootOf(triangularMatmul(s.L, A, { transpose: true }))),
      new ConstantMulLinearOperator(new LowRankRootLinearOperator(rootOf(A)), -1),
    );
    return { mean: s.mu, covariance };
  }

  private checkInputs(x: Mat): void {
    if (x.cols !== this.inputDims) {
      throw new ShapeError(`the inputs have ${x.cols} columns but the inducing points have ${this.inputDims}; inducing points must be [M, d] with the data's d`);
    }
  }

  /** Lz = chol(K_ZZ + jitter I), cached while Z and the kernel's parameters are unchanged. */
  private choleskyFactor(q: number, z: Mat, kernel: Kernel, Kzz: LinearOperator): Mat {
    const params = kernel.parameters();
    const hit = this.choleskyCache.get(q);
    if (hit && sameValues(hit.z, z.data) && hit.params.length === params.length && params.every((p, i) => sameValues(hit.params[i], p.raw))) return hit.L;
    const K = Kzz.toDenseF64();
    for (let i = 0; i < K.rows; i++) K.data[i * K.cols + i] += this.jitter;
    const { L } = choleskyWithJitter(K, "K_ZZ + jitter (inducing-point covariance)");
    this.choleskyCache.set(q, { z: z.data.slice(), params: params.map((p) => p.raw.slice()), L });
    return L;
  }

  /** The reusable buffers of latent q's dense algebra. */
  private stateFor(q: number): WhitenedState {
    let s = this.whitenedStates.get(q);
    if (!s) {
      s = new WhitenedState(this.numInducingPoints);
      this.whitenedStates.set(q, s);
    }
    return s;
  }

  /**
   * Latent q's marginals at x [B, d] and what the backward pass needs; the
   * dense algebra's results live in `state` (latent q's reused buffers unless given).
   */
  private forwardLatent(q: number, x: Mat, prior: { kernel: Kernel; mean: Mean }, state: WhitenedState = this.stateFor(q)) {
    const { kernel, mean } = prior;
    // The last pass's A and Y, left in the arena, are about to be rewritten: K_ZZ's Cholesky need not save them out.
    state.discard();
    const z = this.inducingF64(q);
    const M = this.numInducingPoints, B = x.rows;
    const Kzz = asKernelOperator(kernel.operatorF64(z, z, { reduction: { ...this.reduction, executor: "fused" } }), kernel);
    const Kzx = asKernelOperator(kernel.operatorF64(z, x, { reduction: this.reduction }), kernel);
    const Lz = this.choleskyFactor(q, z, kernel, Kzz);
    const Kxx = asKernelOperator(kernel.operatorF64(x, x, { reduction: this.reduction }), kernel);
    const kxx = Kxx.diagonalF64(); // the lazy operator's diagonal: O(B) pair evaluations (one if stationary)
    const mx = mean.forwardF64(x);
    if (mx.length !== B) throw new ShapeError(`the mean module returned ${mx.length} values for ${B} inputs`);
    const m = this.variationalDistribution.meanF64(q);
    const L = this.variationalDistribution.rootF64(q);
    whitenedForward(state, Lz, L, m, (out) => Kzx.denseF64Into(out), B);
    const mu = new Float64Array(B);
    const variance = new Float64Array(B);
    for (let i = 0; i < B; i++) {
      mu[i] = mx[i] + state.meanTerm[i];
      variance[i] = kxx[i] + this.jitter + state.varTerm[i];
    }
    return { q, x, z, kernel, mean, Kzz, Kzx, Kxx, Lz, m, L, mu, variance, state, generation: state.generation };
  }

  private backwardLatent(s: ReturnType<VariationalStrategy["forwardLatent"]>, gMu: Float64Array, gVar: Float64Array, klScale: number): void {
    // Another forward pass of this latent since (a second objective, a prediction) reused
    // the buffers: recompute this one's into fresh ones.
    if (s.state.generation !== s.generation) s = this.forwardLatent(s.q, s.x, { kernel: s.kernel, mean: s.mean }, new WhitenedState(this.numInducingPoints));
    const M = this.numInducingPoints;
    const { dm, dL, dKzx, dKzz } = whitenedBackward(s.state, s.Lz, s.L, s.m, gMu, gVar);
    const dist = this.variationalDistribution;
    dist.addKLGradient(s.q, klScale, dm, dL, { mean: s.m, root: s.L });
    dist.backward(s.q, dm, dL);
    // The derivative tolerates f32: on the webgpu backend it runs in WGSL, unlike K_ZZ's values.
    const KzzGrad = this.reduction.executor === "fused" ? s.Kzz : asKernelOperator(s.kernel.operatorF64(s.z, s.z, { reduction: this.reduction }), s.kernel);
    if (this.learnInducingLocations) {
      // Kernel parameters and inducing points from one pass per block (where the executor fuses them).
      const gz = backwardWithInputGradient(s.Kzx, s.kernel, s.z, s.x, dKzx);
      // Both arguments of K_ZZ move: with dK_ZZ symmetric the row gradient takes weights 2 dK_ZZ.
      const gzz = backwardWithInputGradient(KzzGrad, s.kernel, s.z, s.z, dKzz.data, 2);
      const d = this.inputDims, off = s.q * M * d;
      for (let i = 0; i < M * d; i++) this.inducingPoints.grad[off + i] += gz.data[i] + gzz.data[i];
    } else {
      s.Kzx.backward({ kind: "dense", M: dKzx });
      KzzGrad.backward({ kind: "dense", M: dKzz.data });
    }
    diagBackward(s.kernel, s.x, gVar, this.reduction);
    s.mean.backward(s.x, gMu);
  }
}

/** Whether two arrays hold the same values (bitwise equal numbers). */
function sameValues(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

function asKernelOperator(op: LinearOperator, kernel: Kernel): KernelOperator {
  if (!(op instanceof KernelOperator)) {
    throw new ArgumentError(`variational GPs need a kernel defined by a formula (RBF, Matern, Scale, sums, products, ...); ${kernel.name} returned ${op.describe()}`);
  }
  return op;
}
