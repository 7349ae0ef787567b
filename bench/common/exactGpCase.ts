// The exact-GP training case shared by `exact-gp` and `exact-gp-phases`: the
// data set (N points in [0, 4]^3, a smooth function plus noise) and the two
// covariance modules whose iterations issue 13 compares.

import * as gp from "../../lib";
import { sharedF64 } from "../../lib/reductions/fusedExecutor";

/** Input dimension of the case. */
export const D = 3;

/** N points (shared memory, so the kernel threads read them in place) and their targets. shapes: x [n * D], y [n] */
export function dataset(n: number): { x: Float64Array; y: Float64Array } {
  const r = new gp.RandomSource(7);
  const x = sharedF64(n * D);
  for (let i = 0; i < n * D; i++) x[i] = 4 * r.uniform();
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.sin(x[i * D]) + 0.5 * Math.cos(2 * x[i * D + 1]) + 0.1 * r.normal();
  return { x, y };
}

/** ScaleKernel(RBF), or with `sum` ScaleKernel(RBF) + ScaleKernel(Matern 5/2), both ARD. */
export function covarModule(sum: boolean): gp.kernels.Kernel {
  const rbf = new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ ardNumDims: D }));
  return sum ? rbf.add(new gp.kernels.ScaleKernel(new gp.kernels.MaternKernel({ nu: 2.5, ardNumDims: D }))) : rbf;
}

/** The kernel's name in result lines. */
export function kernelName(sum: boolean): string {
  return sum ? "ScaleKernel(RBF) + ScaleKernel(Matern 5/2), ARD" : "ScaleKernel(RBF), ARD";
}

/** An exact GP on the case's data with its MLL and one Adam training step. */
export interface ExactGpTrainer {
  mll: gp.mlls.ExactMarginalLogLikelihood;
  /** One training iteration: forward + MLL + gradient, then the Adam update of the raw parameters; returns MLL / n. */
  step(): Promise<number>;
}

/** The case's model at n points (constant mean, Gaussian likelihood) with `solve` settings, trained by Adam at rate lr. */
export async function exactGpTrainer(n: number, sum: boolean, solve: gp.algorithms.SolveOptions, lr: number): Promise<ExactGpTrainer> {
  // Honours GPLAB_BACKEND (e.g. webgpu on a GPU host); on CPUs the executor stays "fused".
  await gp.backend.ready();
  const { x, y } = dataset(n);
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP({ rows: n, cols: D, data: x }, y, likelihood, {
    meanModule: new gp.means.ConstantMean(),
    covarModule: covarModule(sum),
    solve,
  });
  const mll = new gp.mlls.ExactMarginalLogLikelihood(likelihood, model);
  const params = model.parameters();
  const size = params.reduce((s, p) => s + p.size, 0);
  const raw = new Float64Array(size);
  const adam = new gp.train.Adam(size, { lr });
  const step = async (): Promise<number> => {
    model.zeroGrad();
    const value = (await mll.evaluateWithGradient()).value;
    let o = 0;
    const grad = new Float64Array(size);
    for (const p of params) {
      raw.set(p.raw, o);
      for (let i = 0; i < p.size; i++) grad[o + i] = -p.grad[i];
      o += p.size;
    }
    adam.step(raw, grad);
    o = 0;
    for (const p of params) {
      p.raw.set(raw.subarray(o, o + p.size));
      o += p.size;
    }
    return value;
  };
  return { mll, step };
}
