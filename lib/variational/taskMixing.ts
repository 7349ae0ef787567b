// Task outputs as linear mixtures of independent latent functions:
// f_t(x) = sum_q a_qt f_q(x) (LMC; the independent multitask strategy is the
// special case a = I). Marginals per (point, task):
//   mean_it = sum_q a_qt mu_q(x_i),  var_it = sum_q a_qt^2 var_q(x_i) + jitter
// and the lazy joint covariance over (point, task) pairs, point-major like
// GPyTorch: sum_q K_q (x) a_q a_q^T + jitter I, never (nT) x (nT) in memory.

import { mat } from "../algorithms/matrix";
import { ConstantDiagLinearOperator } from "../operators/ConstantDiagLinearOperator";
import { DenseLinearOperator } from "../operators/DenseLinearOperator";
import { KroneckerProductLinearOperator } from "../operators/KroneckerProductLinearOperator";
import type { LinearOperator } from "../operators/LinearOperator";
import { SumLinearOperator } from "../operators/SumLinearOperator";
import type { LatentMarginals } from "./VariationalStrategy";

/** Marginals of T task outputs at B inputs, and the way back to the parameters. */
export interface TaskMarginals {
  numTasks: number;
  size: number;
  /** shape: [B, T] row-major */
  mean: Float64Array;
  /** shape: [B, T] row-major */
  variance: Float64Array;
  /** Adds the gradient of (sum gMean * mean + sum gVar * variance - klScale * KL). shapes: [B, T] */
  backward?(gMean: Float64Array, gVar: Float64Array, klScale: number): void;
}

/**
 * Mixes latent marginals [Q, B] with coefficients a [Q, T].
 * `coefficientGrad`, when given, receives d/da [Q, T] on backward.
 */
export function mixMarginals(latent: LatentMarginals, a: Float64Array, T: number, jitter: number, coefficientGrad?: Float64Array): TaskMarginals {
  const Q = latent.numLatents, B = latent.size;
  const mean = new Float64Array(B * T);
  const variance = new Float64Array(B * T).fill(jitter);
  for (let q = 0; q < Q; q++) {
    for (let t = 0; t < T; t++) {
      const c = a[q * T + t];
      if (c === 0) continue;
      for (let i = 0; i < B; i++) {
        mean[i * T + t] += c * latent.mean[q * B + i];
        variance[i * T + t] += c * c * latent.variance[q * B + i];
      }
    }
  }
  const out: TaskMarginals = { numTasks: T, size: B, mean, variance };
  const latentBackward = latent.backward;
  if (latentBackward) {
    out.backward = (gMean, gVar, klScale) => {
      const gMu = new Float64Array(Q * B);
      const gV = new Float64Array(Q * B);
      for (let q = 0; q < Q; q++) {
        for (let t = 0; t < T; t++) {
          const c = a[q * T + t];
          let da = 0;
          for (let i = 0; i < B; i++) {
            const gm = gMean[i * T + t], gv = gVar[i * T + t];
            gMu[q * B + i] += c * gm;
            gV[q * B + i] += c * c * gv;
            da += gm * latent.mean[q * B + i] + 2 * c * gv * latent.variance[q * B + i];
          }
          if (coefficientGrad) coefficientGrad[q * T + t] += da;
        }
      }
      latentBackward(gMu, gV, klScale);
    };
  }
  return out;
}

/** sum_q K_q (x) a_q a_q^T + jitter I. shapes: K_q [n, n] -> [n T, n T] */
export function mixCovariances(latentCovariances: LinearOperator[], a: Float64Array, T: number, jitter: number): LinearOperator {
  const n = latentCovariances[0].shape[0];
  const parts: LinearOperator[] = latentCovariances.map((K, q) => {
    const outer = mat(T, T);
    for (let t = 0; t < T; t++) for (let u = 0; u < T; u++) outer.data[t * T + u] = a[q * T + t] * a[q * T + u];
    return new KroneckerProductLinearOperator(K, new DenseLinearOperator(outer));
  });
  if (jitter > 0) parts.push(new ConstantDiagLinearOperator(jitter, n * T));
  return parts.length === 1 ? parts[0] : new SumLinearOperator(...parts);
}
