// The SVGP step's objective and gradient done the naive way, as the baseline
// of bench/svgp-step.ts: every kernel block (K_ZZ, K_Zx, their parameter and
// input derivatives) is materialised densely and every product is a plain
// triple loop, nothing from the library's algebra or reduction engine. It
// covers exactly the benchmarked model: whitened Cholesky variational
// distribution, ScaleKernel(RBFKernel) with one lengthscale, ConstantMean,
// GaussianLikelihood, VariationalELBO. The same formulas as
// lib/variational/VariationalStrategy.ts, so the gradients must agree (the
// benchmark checks it) and the two timings measure the same step.

import * as gp from "../../lib";

type Param = gp.models.Parameter;

/** The parameters the naive step reads and whose grads it fills. */
export interface NaiveSvgpParams {
  /** shape: [M, d] */
  inducingPoints: Param;
  /** shape: [M] */
  variationalMean: Param;
  /** shape: [M, M] (lower triangle used) */
  cholVariationalCovar: Param;
  constant: Param;
  outputscale: Param;
  lengthscale: Param;
  noise: Param;
}

const LOG_2PI = Math.log(2 * Math.PI);

/** Plain i-k-j triple loop. shapes: [n, k] @ [k, m] -> [n, m] */
function mm(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let p = 0; p < k; p++) for (let j = 0; j < m; j++) c[i * m + j] += a[i * k + p] * b[p * m + j];
  return c;
}

/** shape: [r, c] -> [c, r] */
function tr(a: Float64Array, r: number, c: number): Float64Array {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
  return t;
}

/** Textbook Cholesky. shape: [n, n] */
function chol(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = i === j ? Math.sqrt(s) : s / l[j * n + j];
    }
  }
  return l;
}

/** L X = B by forward substitution. shapes: [n, n], [n, t] */
function solveL(l: Float64Array, b: Float64Array, n: number, t: number): Float64Array {
  const x = b.slice();
  for (let i = 0; i < n; i++) for (let c = 0; c < t; c++) {
    let s = x[i * t + c];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * x[k * t + c];
    x[i * t + c] = s / l[i * n + i];
  }
  return x;
}

/** L^T X = B by back substitution. shapes: [n, n], [n, t] */
function solveLT(l: Float64Array, b: Float64Array, n: number, t: number): Float64Array {
  const x = b.slice();
  for (let i = n - 1; i >= 0; i--) for (let c = 0; c < t; c++) {
    let s = x[i * t + c];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k * t + c];
    x[i * t + c] = s / l[i * n + i];
  }
  return x;
}

/** Dense RBF block exp(-||a_i - b_j||^2 / (2 l^2)) and the squared distances. shapes: a [n, d], b [m, d] */
function rbf(a: Float64Array, b: Float64Array, n: number, m: number, d: number, ls: number) {
  const e = new Float64Array(n * m), r2 = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += (a[i * d + c] - b[j * d + c]) ** 2;
    r2[i * m + j] = s;
    e[i * m + j] = Math.exp(-s / (2 * ls * ls));
  }
  return { e, r2 };
}

/**
 * The ELBO on one batch, adding its gradient w.r.t. every raw parameter into
 * the params' grads (as ApproximateMarginalLogLikelihood.evaluateWithGradient
 * does). shapes: x [B, d], y [B]
 */
export function naiveElboWithGradient(p: NaiveSvgpParams, x: Float64Array, y: Float64Array, d: number, numData: number, jitter = 1e-6): number {
  const B = y.length, M = p.variationalMean.size;
  const z = p.inducingPoints.raw, m = p.variationalMean.raw;
  const L = new Float64Array(M * M);
  for (let i = 0; i < M; i++) for (let j = 0; j <= i; j++) L[i * M + j] = p.cholVariationalCovar.raw[i * M + j];
  const c = p.constant.value()[0], s = p.outputscale.value()[0], ls = p.lengthscale.value()[0], noise = p.noise.value()[0];

  // Forward: K_ZZ + jitter I, K_Zx, Lz, A = Lz^{-1} K_Zx, W = L^T A, marginals.
  const zz = rbf(z, z, M, M, d, ls), zx = rbf(z, x, M, B, d, ls);
  const Kzz = zz.e.map((v, i) => s * v + (i % (M + 1) === 0 ? jitter : 0));
  const Kzx = zx.e.map((v) => s * v);
  const Lz = chol(Kzz, M);
  const A = solveL(Lz, Kzx, M, B);
  const W = mm(tr(L, M, M), A, M, M, B);
  const gMu = new Float64Array(B), gVar = new Float64Array(B);
  let sum = 0, dNoise = 0;
  for (let i = 0; i < B; i++) {
    let mu = c, v = s + jitter;
    for (let k = 0; k < M; k++) {
      mu += A[k * B + i] * m[k];
      v += W[k * B + i] ** 2 - A[k * B + i] ** 2;
    }
    const r = y[i] - mu, q = (r * r + v) / noise;
    sum += -0.5 * (q + Math.log(noise) + LOG_2PI);
    gMu[i] = r / noise / B;
    gVar[i] = -0.5 / noise / B;
    dNoise += (0.5 * (q / noise - 1 / noise)) / B;
  }
  let kl = -M;
  for (let i = 0; i < M; i++) {
    kl += m[i] * m[i] - 2 * Math.log(Math.abs(L[i * M + i]));
    for (let j = 0; j <= i; j++) kl += L[i * M + j] ** 2;
  }
  kl *= 0.5;
  const klScale = 1 / numData;

  // Backward through the marginals and the KL.
  const G = new Float64Array(M * B);
  for (let k = 0; k < M; k++) for (let i = 0; i < B; i++) G[k * B + i] = A[k * B + i] * gVar[i];
  const C = mm(G, tr(A, M, B), M, B, M);
  const CL = mm(C, L, M, M, M);
  const gradL = p.cholVariationalCovar.grad, gradM = p.variationalMean.grad;
  for (let i = 0; i < M; i++) {
    let dm = -klScale * m[i];
    for (let b = 0; b < B; b++) dm += A[i * B + b] * gMu[b];
    gradM[i] += dm;
    for (let j = 0; j <= i; j++) gradL[i * M + j] += 2 * CL[i * M + j] - klScale * L[i * M + j] + (i === j ? klScale / L[i * M + i] : 0);
  }
  const LW = mm(L, W, M, M, B);
  const dA = new Float64Array(M * B);
  for (let k = 0; k < M; k++) for (let i = 0; i < B; i++) dA[k * B + i] = m[k] * gMu[i] + 2 * (LW[k * B + i] - A[k * B + i]) * gVar[i];
  const dKzx = solveLT(Lz, dA, M, B);
  const dKzxAt = mm(dKzx, tr(A, M, B), M, B, M);
  const dLz = new Float64Array(M * M);
  for (let i = 0; i < M; i++) for (let j = 0; j <= i; j++) dLz[i * M + j] = -dKzxAt[i * M + j];
  // Cholesky backward: L^{-T} Phi(L^T dLz) L^{-1}, symmetrised.
  const P = mm(tr(Lz, M, M), dLz, M, M, M);
  for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) P[i * M + j] = j > i ? 0 : i === j ? P[i * M + j] / 2 : P[i * M + j];
  const X = solveLT(Lz, P, M, M);
  const Ab = tr(solveLT(Lz, tr(X, M, M), M, M), M, M);
  const dKzz = new Float64Array(M * M);
  for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) dKzz[i * M + j] = 0.5 * (Ab[i * M + j] + Ab[j * M + i]);

  // Kernel, mean, inducing-point and noise gradients from the dense blocks.
  let gs = 0, gl = 0, gc = 0;
  for (let i = 0; i < B; i++) {
    gs += gVar[i];
    gc += gMu[i];
  }
  const gz = new Float64Array(M * d);
  const block = (dK: Float64Array, e: Float64Array, r2: Float64Array, other: Float64Array, n: number, weight: number) => {
    for (let j = 0; j < M; j++) for (let i = 0; i < n; i++) {
      const w = dK[j * n + i] * e[j * n + i];
      gs += w;
      gl += (w * s * r2[j * n + i]) / ls ** 3;
      for (let a = 0; a < d; a++) gz[j * d + a] += (weight * w * s * (other[i * d + a] - z[j * d + a])) / (ls * ls);
    }
  };
  block(dKzx, zx.e, zx.r2, x, B, 1);
  block(dKzz, zz.e, zz.r2, z, M, 2); // both arguments of K_ZZ are z
  for (let i = 0; i < M * d; i++) p.inducingPoints.grad[i] += gz[i];
  const chain = (q: Param, g: number) => (q.grad[0] += g * (q.constraint ? q.constraint.derivative(q.raw[0]) : 1));
  chain(p.outputscale, gs);
  chain(p.lengthscale, gl);
  chain(p.constant, gc);
  chain(p.noise, dNoise);
  return sum / B - klScale * kl;
}
