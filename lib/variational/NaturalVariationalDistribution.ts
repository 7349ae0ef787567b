// GPyTorch's NaturalVariationalDistribution: q(u') = N(m, S) over the
// whitened inducing values, stored by its natural parameters
//   naturalVec = S^{-1} m            shape: [...batchShape, M]
//   naturalMat = -S^{-1} / 2         shape: [...batchShape, M, M] (lower triangle read)
// so S = (-2 naturalMat)^{-1}, m = S naturalVec. The marginals and the KL
// read m and L = chol(S) like every distribution.
//
// Gradients are GPyTorch's natural gradients, not d/dtheta: the grad of
// naturalVec and naturalMat holds the derivative with respect to the
// expectation parameters eta1 = m, eta2 = S + m m^T,
//   d/deta1 = dF/dm - 2 (dF/dS) m,   d/deta2 = dF/dS,
// which is the natural gradient in theta. `gp.train.fit(..., { optimizer:
// "ngd" })` steps theta <- theta + ngdLr * numData * grad; one step at
// ngdLr = 1 with a Gaussian likelihood lands on the optimal q(u).
// Initialised at the whitened prior like GPyTorch: m = meanInitStd * randn, S = I.

import { choleskyWithJitter, solveLower } from "../algorithms/cholesky";
import { choleskyBackward } from "../algorithms/choleskyBackward";
import { type Mat, identity, mat } from "../algorithms/matrix";
import { Parameter } from "../module/Parameter";
import { globalRandom } from "../random";
import { VariationalDistribution, type VariationalDistributionOptions } from "./VariationalDistribution";

interface MemberState {
  /** The raw values the state was computed from: [naturalVec | naturalMat]. */
  key: Float64Array;
  mean: Float64Array;
  root: Mat;
}

/** q(u') by its natural parameters; train it with natural gradients (optimizer: "ngd"). */
export class NaturalVariationalDistribution extends VariationalDistribution {
  /** S^{-1} m. shape: [...batchShape, M] */
  readonly naturalVec: Parameter;
  /** -S^{-1} / 2 (symmetric; its lower triangle is read). shape: [...batchShape, M, M] */
  readonly naturalMat: Parameter;
  private readonly states = new Map<number, MemberState>();

  constructor(options: VariationalDistributionOptions) {
    super(options);
    const M = this.numInducingPoints, b = this.distributionBatchShape;
    this.naturalVec = this.registerParameter("naturalVec", new Parameter([...b, M]));
    this.naturalMat = this.registerParameter("naturalMat", new Parameter([...b, M, M]));
    // S = I: theta1 = m, theta2 = -I / 2.
    this.naturalVec.setRaw(globalRandom.normals(this.naturalVec.size).map((v) => v * (options.meanInitStd ?? 1e-3)));
    for (let q = 0; q < this.numMembers; q++) for (let i = 0; i < M; i++) this.naturalMat.raw[q * M * M + i * M + i] = -0.5;
  }

  /** m and chol(S) of member q, recomputed only when its natural parameters moved. */
  private state(q: number): MemberState {
    this.checkMember(q);
    const M = this.numInducingPoints;
    const vec = this.naturalVec.raw.subarray(q * M, (q + 1) * M);
    const matRaw = this.naturalMat.raw.subarray(q * M * M, (q + 1) * M * M);
    const hit = this.states.get(q);
    if (hit && sameValues(hit.key, vec, 0) && sameValues(hit.key, matRaw, M)) return hit;
    // P = -2 theta2 = S^{-1} from the lower triangle; S = Lp^{-T} Lp^{-1}.
    const P = mat(M, M);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j <= i; j++) {
        const v = -2 * matRaw[i * M + j];
        P.data[i * M + j] = v;
        P.data[j * M + i] = v;
      }
    }
    const { L: Lp } = choleskyWithJitter(P, "-2 naturalMat (the precision of q(u)); lower the NGD learning rate ngdLr if this recurs");
    const Linv = solveLower(Lp, identity(M));
    const S = mat(M, M);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = i; k < M; k++) s += Linv.data[k * M + i] * Linv.data[k * M + j];
        S.data[i * M + j] = s;
        S.data[j * M + i] = s;
      }
    }
    const mean = new Float64Array(M);
    for (let i = 0; i < M; i++) {
      let s = 0;
      for (let j = 0; j < M; j++) s += S.data[i * M + j] * vec[j];
      mean[i] = s;
    }
    const { L: root } = choleskyWithJitter(S, "the covariance of q(u) from naturalMat");
    const key = new Float64Array(M + M * M);
    key.set(vec, 0);
    key.set(matRaw, M);
    const st = { key, mean, root };
    this.states.set(q, st);
    return st;
  }

  meanF64(q: number): Float64Array {
    return this.state(q).mean.slice();
  }

  rootF64(q: number): Mat {
    const r = this.state(q).root;
    return mat(r.rows, r.cols, r.data.slice());
  }

  /** Writes the expectation-parameter gradients (the natural gradient) into naturalVec.grad and naturalMat.grad. */
  backward(q: number, dMean: Float64Array, dRoot: Mat): void {
    const M = this.numInducingPoints;
    const { mean, root } = this.state(q);
    const dS = choleskyBackward(root, dRoot); // symmetric dF/dS
    for (let i = 0; i < M; i++) {
      let s = 0;
      for (let j = 0; j < M; j++) s += dS.data[i * M + j] * mean[j];
      this.naturalVec.grad[q * M + i] += dMean[i] - 2 * s;
    }
    const off = q * M * M;
    for (let k = 0; k < M * M; k++) this.naturalMat.grad[off + k] += dS.data[k];
  }
}

function sameValues(key: Float64Array, values: Float64Array, offset: number): boolean {
  for (let i = 0; i < values.length; i++) if (key[offset + i] !== values[i]) return false;
  return true;
}
