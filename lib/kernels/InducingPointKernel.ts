// GPyTorch's InducingPointKernel (SGPR, Titsias 2009): the covariance of an
// exact GP replaced by the Nystrom approximation through M inducing points Z,
//   Q(x1, x2) = K(x1, Z) K(Z, Z)^{-1} K(Z, x2),
// a rank-M operator. An ExactGP whose covarModule is one trains on the
// Titsias bound and predicts with GPyTorch's diagonal correction (both in
// models/sgpr.ts); the state keys are baseKernel.* and inducingPoints.

import { choleskyWithJitter, solveLower } from "../algorithms/cholesky";
import { type Mat, mat, matmulTransposedLeft } from "../algorithms/matrix";
import { ArgumentError, ShapeError } from "../errors";
import type { GaussianLikelihoodBase } from "../likelihoods/Likelihood";
import { Parameter } from "../module/Parameter";
import { DenseLinearOperator } from "../operators/DenseLinearOperator";
import type { LinearOperator } from "../operators/LinearOperator";
import { LowRankRootLinearOperator } from "../operators/LowRankRootLinearOperator";
import { type TensorLike, toMat } from "../tensorLike";
import { type CallOptions, Kernel } from "./Kernel";
import type { KernelFormula } from "./KernelFormula";

/** Options of an InducingPointKernel (GPyTorch's arguments, camelCased). */
export interface InducingPointKernelOptions {
  /** Initial inducing locations Z. shape: [M, d] (number[] is [M, 1]) */
  inducingPoints: TensorLike | Mat;
  /** The GP's Gaussian likelihood: its noise divides the Titsias trace term. */
  likelihood: GaussianLikelihoodBase;
  /**
   * GPyTorch's settings.sgpr_diagonal_correction (default on): predictions use
   * the training covariance Q + diag(K - Q) + noise and the exact k(x*, x*);
   * off, they are the plain DTC (Q + noise, Q(x*, x*)).
   */
  diagonalCorrection?: boolean;
}

/**
 * Sparse GP regression kernel: K(x1, Z) K(Z, Z)^{-1} K(Z, x2) for a base
 * kernel and learned inducing points Z [M, d]. Use it as an ExactGP's
 * covarModule; the exact MLL then adds the Titsias trace term
 * -tr(K - Q) / (2 noise) as GPyTorch's added loss.
 */
export class InducingPointKernel<K extends Kernel = Kernel> extends Kernel {
  /** shape: [M, d] */
  readonly inducingPoints: Parameter;
  /** Whether predictions use GPyTorch's diagonal correction (default true). */
  diagonalCorrection: boolean;
  // Held outside the module tree: the likelihood's parameters belong to the model, not this kernel's state.
  private readonly likelihoodRef: { likelihood: GaussianLikelihoodBase };

  constructor(
    /** The kernel the inducing points approximate (state keys baseKernel.*). */ readonly baseKernel: K,
    options: InducingPointKernelOptions,
  ) {
    super();
    if (!(baseKernel instanceof Kernel)) throw new ArgumentError("InducingPointKernel needs a base kernel, e.g. new InducingPointKernel(new ScaleKernel(new RBFKernel()), { inducingPoints, likelihood })");
    if (!options || options.inducingPoints === undefined || options.inducingPoints === null) {
      throw new ArgumentError("InducingPointKernel needs { inducingPoints } [M, d] (e.g. a subset of the training inputs) and { likelihood }");
    }
    const z = toMat(options.inducingPoints, "inducingPoints");
    if (z.rows === 0) throw new ArgumentError("InducingPointKernel: inducingPoints is empty; pass at least one inducing point [M, d]");
    if (!z.data.every(Number.isFinite)) throw new ArgumentError("InducingPointKernel: inducingPoints contains NaN or Infinity");
    if (!options.likelihood || typeof options.likelihood.noiseF64 !== "function") {
      throw new ArgumentError("InducingPointKernel needs { likelihood }: the model's GaussianLikelihood (its noise enters the Titsias trace term)");
    }
    this.registerModule("baseKernel", baseKernel);
    this.inducingPoints = this.registerParameter("inducingPoints", new Parameter([z.rows, z.cols], null, z.data));
    this.likelihoodRef = { likelihood: options.likelihood };
    this.diagonalCorrection = options.diagonalCorrection ?? true;
  }

  /** The likelihood given at construction. */
  get likelihood(): GaussianLikelihoodBase {
    return this.likelihoodRef.likelihood;
  }

  override get name(): string {
    return `InducingPointKernel(${this.baseKernel.name})`;
  }

  override inputDims(): number | null {
    return this.inducingPoints.shape[1];
  }

  /** Current inducing locations. shape: [M, d] */
  inducingMat(): Mat {
    return mat(this.inducingPoints.shape[0], this.inducingPoints.shape[1], this.inducingPoints.raw.slice());
  }

  /** Cholesky factor of K(Z, Z) (jitter only when it fails, as GPyTorch's psd_safe_cholesky). shape: [M, M] */
  inducingCholesky(): Mat {
    const z = this.inducingMat();
    return choleskyWithJitter(this.baseKernel.operatorF64(z, z).toDenseF64(), "K(Z, Z) of the InducingPointKernel").L;
  }

  /** L^{-1} K(Z, x) with L the Cholesky factor of K(Z, Z). shape: [M, n] */
  projection(x: Mat, L: Mat = this.inducingCholesky()): Mat {
    this.checkInput(x);
    return solveLower(L, this.baseKernel.operatorF64(this.inducingMat(), x).toDenseF64());
  }

  /** Q(x1, x2): a rank-M root operator when x2 is x1, else the dense n x m product. */
  override operatorF64(x1: Mat, x2: Mat, _options: CallOptions = {}): LinearOperator {
    this.checkPair(x1, x2);
    const L = this.inducingCholesky();
    const a1 = this.projection(x1, L);
    if (x1 === x2) return new LowRankRootLinearOperator(transposed(a1));
    return new DenseLinearOperator(matmulTransposedLeft(a1, this.projection(x2, L)));
  }

  /** diag Q(x1, x2) (GPyTorch's training-mode diagonal). shape: [n] */
  override diagF64(x1: Mat, x2: Mat, _options: CallOptions = {}): Float64Array {
    this.checkPair(x1, x2);
    if (x1.rows !== x2.rows) throw new ShapeError(`diag needs x1 and x2 with the same number of rows, got ${x1.rows} and ${x2.rows}`);
    const L = this.inducingCholesky();
    const a1 = this.projection(x1, L);
    const a2 = x1 === x2 ? a1 : this.projection(x2, L);
    const n = x1.rows, M = a1.rows;
    const out = new Float64Array(n);
    for (let k = 0; k < M; k++) for (let i = 0; i < n; i++) out[i] += a1.data[k * n + i] * a2.data[k * n + i];
    return out;
  }

  override buildFormula(): KernelFormula {
    throw new ArgumentError(
      "InducingPointKernel is a low-rank approximation, not a pairwise formula: use it alone as an ExactGP's covarModule (put sums, products and ScaleKernel inside its base kernel)",
    );
  }

  protected formulaFor(): KernelFormula {
    return this.buildFormula();
  }

  private checkInput(x: Mat): void {
    const d = this.inducingPoints.shape[1];
    if (x.cols !== d) throw new ShapeError(`InducingPointKernel: the inputs have ${x.cols} columns but the inducing points have ${d}`);
  }
}

function transposed(a: Mat): Mat {
  const out = mat(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[j * a.rows + i] = a.data[i * a.cols + j];
  return out;
}
