// SGPR: an ExactGP whose covarModule is an InducingPointKernel, in O(n M^2).
// With L L^T = K_ZZ, A = L^{-1} K_ZX [M, n] (so Q = A^T A), Lambda = diag(noise),
// B = I + A Lambda^{-1} A^T and r = y - m:
//   log N(y | m, Q + Lambda) = -1/2 (r^T Lambda^{-1} r - c^T B^{-1} c)
//                              -1/2 (sum log lambda + log det B) - n/2 log 2 pi,  c = A Lambda^{-1} r,
//   trace term (GPyTorch's added loss) = -1/2 sum_i (k_ii - Q_ii) / lambda_i,
// and the MLL is their sum (plus the priors) over n. Gradient: with
// alpha = (Q + Lambda)^{-1} r, W = K_XZ K_ZZ^{-1} and P = A Lambda^{-1},
// the trace term's d/dQ cancels the -1/2 Lambda^{-1} of d/d(Q + Lambda), leaving
//   H = 1/2 (alpha alpha^T + P^T B^{-1} P),  dF/dK_ZX = 2 W^T H,  dF/dK_ZZ = -W^T H W,
//   dF/dk_ii = -1/(2 lambda_i),  dF/dlambda_i = 1/2 (alpha_i^2 - [(Q + Lambda)^{-1}]_ii) + (k_ii - Q_ii) / (2 lambda_i^2).
// Prediction (GPyTorch's SGPRPredictionStrategy): the same algebra with
// Lambda' = Lambda + diag(max(k_ii - Q_ii, 0)) when the diagonal correction is
// on; with a* = L^{-1} K_Z* and beta = B^{-1} A Lambda'^{-1} r,
//   mean = m* + a*^T beta,  var f = k(x*, x*) - |a*|^2 + |L_B^{-1} a*|^2
// (the test prior is the base kernel's exact k(x*, x*) in both modes; off is DTC).

import { choleskyWithJitter, solveLower, solveLowerTransposed } from "../algorithms/cholesky";
import { type Mat, mat, matmulMat, matmulTransposedRight } from "../algorithms/matrix";
import { ArgumentError, ShapeError } from "../errors";
import { diagBackward } from "../kernels/diagBackward";
import { InducingPointKernel } from "../kernels/InducingPointKernel";
import { inputGradient } from "../kernels/inputGradient";
import { KernelOperator } from "../kernels/KernelOperator";
import type { GaussianLikelihoodBase } from "../likelihoods/Likelihood";
import type { Mean } from "../means/Mean";
import { Prediction } from "./Prediction";

/** The parts of an ExactGP the SGPR computations read. */
export interface SgprModel {
  readonly covarModule: unknown;
  readonly meanModule: Mean | undefined;
  readonly likelihood: GaussianLikelihoodBase;
  readonly trainInputs: Mat;
  readonly trainTargets: Float64Array;
}

/** The covarModule as an InducingPointKernel, or null for any other kernel. */
export function inducingPointKernelOf(model: { covarModule: unknown }): InducingPointKernel | null {
  return model.covarModule instanceof InducingPointKernel ? model.covarModule : null;
}

/** The Titsias bound's parts (totals, not divided by n). */
export interface SgprBound {
  /** log N(y | m, Q + noise) */
  logProbTerm: number;
  /** -tr(K - Q) / (2 noise): GPyTorch's InducingPointKernelAddedLossTerm */
  addedLossTerm: number;
}

/** Factors shared by the bound and the predictions. */
interface Factors {
  kernel: InducingPointKernel;
  z: Mat;
  L: Mat;
  /** L^{-1} K(Z, X). shape: [M, n] */
  A: Mat;
  /** k(x_i, x_i). shape: [n] */
  kdiag: Float64Array;
  /** Q_ii. shape: [n] */
  qdiag: Float64Array;
  /** y - m(X). shape: [n] */
  r: Float64Array;
}

function factors(model: SgprModel, kernel: InducingPointKernel): Factors {
  const x = model.trainInputs;
  if (!model.meanModule) throw new ArgumentError("an SGPR model (InducingPointKernel covarModule) needs a meanModule, e.g. new gp.means.ConstantMean()");
  if (kernel.likelihood !== model.likelihood) {
    throw new ArgumentError("the InducingPointKernel was given a different likelihood than the model's; pass the model's likelihood to both");
  }
  const z = kernel.inducingMat();
  const L = kernel.inducingCholesky();
  const A = kernel.projection(x, L);
  const n = x.rows, M = A.rows;
  const qdiag = new Float64Array(n);
  for (let k = 0; k < M; k++) for (let i = 0; i < n; i++) qdiag[i] += A.data[k * n + i] ** 2;
  const kdiag = kernel.baseKernel.diagF64(x, x);
  const m = model.meanModule.forwardF64(x);
  const r = model.trainTargets.map((v, i) => v - m[i]);
  return { kernel, z, L, A, kdiag, qdiag, r };
}

/** B = I + A diag(1/lambda) A^T, its Cholesky factor, and P = A diag(1/lambda). */
function woodbury(A: Mat, lambda: Float64Array): { LB: Mat; P: Mat } {
  const M = A.rows, n = A.cols;
  const P = mat(M, n);
  for (let k = 0; k < M; k++) for (let i = 0; i < n; i++) P.data[k * n + i] = A.data[k * n + i] / lambda[i];
  const B = matmulTransposedRight(P, A);
  for (let k = 0; k < M; k++) B.data[k * M + k] += 1;
  return { LB: choleskyWithJitter(B, "I + A noise^{-1} A^T (SGPR)").L, P };
}

/**
 * The Titsias bound (totals), and with `gradScale` its gradient times
 * gradScale ADDED to the base kernel's parameters, the inducing points, the
 * noise and the mean.
 */
export function sgprBound(model: SgprModel, kernel: InducingPointKernel, gradScale: number | null): SgprBound {
  const f = factors(model, kernel);
  const { A, kdiag, qdiag, r, L, z } = f;
  const x = model.trainInputs;
  const n = x.rows, M = A.rows;
  const lambda = model.likelihood.noiseF64(n, x);
  if (!lambda.every((v) => v > 0)) throw new ArgumentError("SGPR needs positive noise on every training point");
  const { LB, P } = woodbury(A, lambda);
  const c = mat(M, 1);
  for (let k = 0; k < M; k++) for (let i = 0; i < n; i++) c.data[k] += P.data[k * n + i] * r[i];
  const v = solveLower(LB, c);
  let quad = 0, logdet = 0, trace = 0;
  for (let i = 0; i < n; i++) {
    quad += (r[i] * r[i]) / lambda[i];
    logdet += Math.log(lambda[i]);
    trace += (kdiag[i] - qdiag[i]) / lambda[i];
  }
  for (let k = 0; k < M; k++) {
    quad -= v.data[k] ** 2;
    logdet += 2 * Math.log(LB.data[k * M + k]);
  }
  const bound = { logProbTerm: -0.5 * (quad + logdet + n * Math.log(2 * Math.PI)), addedLossTerm: -0.5 * trace };
  if (gradScale === null) return bound;

  // alpha = (Q + Lambda)^{-1} r = (r - A^T B^{-1} c) / lambda
  const beta = solveLowerTransposed(LB, v).data;
  const alpha = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = r[i];
    for (let k = 0; k < M; k++) s -= A.data[k * n + i] * beta[k];
    alpha[i] = s / lambda[i];
  }
  // W^T = K_ZZ^{-1} K_ZX = L^{-T} A [M, n]; S = L_B^{-1} P [M, n] so that P^T B^{-1} P = S^T S.
  const Wt = solveLowerTransposed(L, A);
  const S = solveLower(LB, P);
  // E = W^T H = 1/2 (W^T alpha alpha^T + (W^T S^T) S) [M, n]
  const wa = new Float64Array(M);
  for (let k = 0; k < M; k++) for (let i = 0; i < n; i++) wa[k] += Wt.data[k * n + i] * alpha[i];
  const E = matmulMat(matmulTransposedRight(Wt, S), S); // (W^T S^T) S [M, n], then the rank-one part
  for (let k = 0; k < M; k++) for (let i = 0; i < n; i++) E.data[k * n + i] = 0.5 * (E.data[k * n + i] + wa[k] * alpha[i]);
  const dKzx = E.data.map((e) => 2 * e * gradScale);
  const EW = matmulTransposedRight(E, Wt); // W^T H W [M, M]
  const dKzz = EW.data.map((e) => -e * gradScale);
  const base = kernel.baseKernel;
  asKernelOperator(base.operatorF64(z, x), base.name).backward({ kind: "dense", M: dKzx });
  asKernelOperator(base.operatorF64(z, z), base.name).backward({ kind: "dense", M: dKzz });
  diagBackward(base, x, Float64Array.from(lambda, (l) => (-0.5 * gradScale) / l));
  // Both arguments of K_ZZ move: with dK_ZZ symmetric the row gradient takes weights 2 dK_ZZ.
  const gz = inputGradient(base, z, x, dKzx);
  const gzz = inputGradient(base, z, z, dKzz.map((g) => 2 * g));
  for (let i = 0; i < gz.data.length; i++) kernel.inducingPoints.grad[i] += gz.data[i] + gzz.data[i];
  const dNoise = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s2 = 0;
    for (let k = 0; k < M; k++) s2 += S.data[k * n + i] ** 2;
    const sigmaInvII = 1 / lambda[i] - s2;
    dNoise[i] = gradScale * (0.5 * (alpha[i] * alpha[i] - sigmaInvII) + (kdiag[i] - qdiag[i]) / (2 * lambda[i] * lambda[i]));
  }
  model.likelihood.backwardNoise(dNoise);
  (model.meanModule as Mean).backward(x, alpha.map((a) => a * gradScale));
  return bound;
}

/** GPyTorch's SGPR predictive mean and variance of f (of y with `noise`) at xt [t, d]. */
export function sgprPredict(model: SgprModel, kernel: InducingPointKernel, xt: Mat, options: { noise?: boolean; observationNoise?: ArrayLike<number> } = {}): Prediction {
  const x = model.trainInputs;
  if (xt.cols !== x.cols) throw new ShapeError(`test inputs have ${xt.cols} columns but the model was trained on ${x.cols}-column inputs`);
  const f = factors(model, kernel);
  const { A, kdiag, qdiag, r, L } = f;
  const n = x.rows, M = A.rows, t = xt.rows;
  const lambda = model.likelihood.noiseF64(n, x);
  if (kernel.diagonalCorrection) for (let i = 0; i < n; i++) lambda[i] += Math.max(kdiag[i] - qdiag[i], 0);
  const { LB, P } = woodbury(A, lambda);
  const c = mat(M, 1);
  for (let k = 0; k < M; k++) for (let i = 0; i < n; i++) c.data[k] += P.data[k * n + i] * r[i];
  const beta = solveLowerTransposed(LB, solveLower(LB, c)).data;
  const at = kernel.projection(xt, L); // [M, t]
  const V = solveLower(LB, at);
  const mt = (model.meanModule as Mean).forwardF64(xt);
  const kss = kernel.baseKernel.diagF64(xt, xt);
  const mean = new Float64Array(t);
  const variance = new Float64Array(t);
  for (let j = 0; j < t; j++) {
    let m = mt[j], qss = 0, back = 0;
    for (let k = 0; k < M; k++) {
      m += at.data[k * t + j] * beta[k];
      qss += at.data[k * t + j] ** 2;
      back += V.data[k * t + j] ** 2;
    }
    mean[j] = m;
    variance[j] = Math.max(kss[j] - qss + back, 0);
  }
  if (options.noise) {
    const noise = model.likelihood.noiseF64(t, xt, { test: true, noise: options.observationNoise });
    for (let j = 0; j < t; j++) variance[j] += noise[j];
  }
  return new Prediction(xt, mean, variance, !!options.noise, { x, y: model.trainTargets });
}

function asKernelOperator(op: unknown, name: string): KernelOperator {
  if (!(op instanceof KernelOperator)) throw new ArgumentError(`SGPR gradients need a base kernel defined by a formula; ${name} is not`);
  return op;
}
