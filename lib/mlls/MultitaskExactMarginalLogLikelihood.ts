// log p(Y | X) / (n T) for a MultitaskExactGP (GPyTorch divides by the
// number of (point, task) values), with Cov = K_x (x) B + I (x) Sigma solved
// through its Kronecker structure, and the gradient w.r.t. the data kernel,
// the task covariance B = W W^T + diag(v), the task noise and the means.
// With alpha = Cov^{-1} vec(R), M_a = (lambda_a K_x + I)^{-1} and
// p_a = column a of P^{-T} (see MultitaskSystem):
//   dL/dK_x   = 1/2 (alpha B alpha^T - sum_a lambda_a M_a)
//   dL/dB     = 1/2 (alpha^T K_x alpha - sum_a tr(K_x M_a) p_a p_a^T)
//   dL/dSigma = 1/2 (alpha^T alpha - sum_a tr(M_a) p_a p_a^T)
//   dL/dm_t   = alpha[:, t]
// (all divided by n T). Attached priors add (sum log p) / (n T). Gradients need n <= maxCholeskySize (dense M_a).

import { type SolveOptions } from "../algorithms/settings";
import { ArgumentError } from "../errors";
import { KernelOperator } from "../kernels/KernelOperator";
import type { MultitaskGaussianLikelihood } from "../likelihoods/MultitaskGaussianLikelihood";
import type { MultitaskExactGP } from "../models/MultitaskExactGP";
import { priorLogProb } from "../priors/priorTerms";

/** The exact MLL of a MultitaskExactGP (Kronecker-structured solves), divided by n · T as in GPyTorch. */
export class MultitaskExactMarginalLogLikelihood {
  constructor(
    /** The multitask likelihood. */
    readonly likelihood: MultitaskGaussianLikelihood,
    /** The multitask exact GP. */
    readonly model: MultitaskExactGP,
    /** Default numerical settings. */
    readonly options: {
      /** Numerical settings of the solves. */
      solve?: SolveOptions;
    } = {},
  ) {
    if (model.likelihood !== likelihood) throw new ArgumentError("MultitaskExactMarginalLogLikelihood: the likelihood must be the model's own likelihood");
  }

  /** The value, without gradients. */
  async evaluate(options: { solve?: SolveOptions } = {}): Promise<number> {
    return this.compute(false, options).value;
  }

  /** The value, and its gradient ADDED to every parameter's grad. */
  async evaluateWithGradient(options: { solve?: SolveOptions } = {}): Promise<{
    /** The MLL / (n T). */
    value: number;
  }> {
    return this.compute(true, options);
  }

  /**
   * Synchronous core.
   * @internal
   */
  compute(withGradient: boolean, options: { solve?: SolveOptions } = {}): { value: number } {
    const model = this.model;
    const { Kx, B, system, residual } = model.trainingSystem({ ...this.options.solve, ...options.solve });
    const n = residual.rows, T = residual.cols, N = n * T;
    const alpha = system.solve(residual);
    let quad = 0;
    for (let i = 0; i < N; i++) quad += residual.data[i] * alpha.data[i];
    // GPyTorch adds the priors' log densities before dividing by the number of values.
    const value = (-0.5 * (quad + system.logdet() + N * Math.log(2 * Math.PI)) + priorLogProb([model, this.likelihood], withGradient ? 1 / N : null)) / N;
    if (!withGradient) return { value };
    if (!system.Kdense) throw new ArgumentError(`multitask MLL gradients need n <= maxCholeskySize (n = ${n}); raise solve.maxCholeskySize`);
    if (!(Kx instanceof KernelOperator)) throw new ArgumentError("the data kernel must be a formula kernel for gradients");
    const s = 0.5 / N;
    const K = system.Kdense.data;
    // alpha B [n, T]
    const aB = new Float64Array(n * T);
    for (let i = 0; i < n; i++) for (let t = 0; t < T; t++) for (let u = 0; u < T; u++) aB[i * T + t] += alpha.data[i * T + u] * B[u * T + t];
    const dK = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let v = 0;
        for (let t = 0; t < T; t++) v += aB[i * T + t] * alpha.data[j * T + t];
        dK[i * n + j] = v;
      }
    }
    const dB = new Float64Array(T * T);
    const dS = new Float64Array(T * T);
    // alpha^T K alpha and alpha^T alpha
    const Ka = Kx.matmulF64(alpha);
    for (let t = 0; t < T; t++) {
      for (let u = 0; u < T; u++) {
        let kb = 0, ab = 0;
        for (let i = 0; i < n; i++) {
          kb += alpha.data[i * T + t] * Ka.data[i * T + u];
          ab += alpha.data[i * T + t] * alpha.data[i * T + u];
        }
        dB[t * T + u] = kb;
        dS[t * T + u] = ab;
      }
    }
    for (let a = 0; a < T; a++) {
      const Minv = system.inverse(a).data;
      const lam = system.lambdas[a];
      let trM = 0, trKM = 0;
      for (let i = 0; i < n; i++) {
        trM += Minv[i * n + i];
        for (let j = 0; j < n; j++) {
          trKM += K[i * n + j] * Minv[i * n + j];
          dK[i * n + j] -= lam * Minv[i * n + j];
        }
      }
      // p_a = column a of P^{-T} = row a of P^{-1}
      for (let t = 0; t < T; t++) {
        for (let u = 0; u < T; u++) {
          const pp = system.Pinv.data[a * T + t] * system.Pinv.data[a * T + u];
          dB[t * T + u] -= trKM * pp;
          dS[t * T + u] -= trM * pp;
        }
      }
    }
    Kx.backward({ kind: "dense", M: dK.map((v) => v * s) });
    // B = W W^T + diag(v): dW = (dB + dB^T) W, dv = diag(dB).
    const task = model.covarModule.taskCovarModule;
    const r = task.rank, W = task.covarFactor.raw;
    for (let a = 0; a < T; a++) {
      task.rawVar.addValueGrad(a, s * dB[a * T + a]);
      for (let k = 0; k < r; k++) {
        let g = 0;
        for (let b = 0; b < T; b++) g += (dB[a * T + b] + dB[b * T + a]) * W[b * r + k];
        task.covarFactor.addValueGrad(a * r + k, s * g);
      }
    }
    this.likelihood.backwardTaskNoiseCovar(dS.map((v) => v * s));
    for (let t = 0; t < T; t++) {
      const da = Float64Array.from({ length: n }, (_, i) => alpha.data[i * T + t] / N);
      model.meanModule.batchMember(t).backward(model.trainInputs, da);
    }
    return { value };
  }
}
