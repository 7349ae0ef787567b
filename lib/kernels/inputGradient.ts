// Gradient of sum_ji G_ji k(z_j, x_i) with respect to the row inputs z,
// analytically in f64 (what learned inducing locations need; the reduction
// engine differentiates parameters, not inputs).
//
// Every factor of a kernel formula reads features that are linear in the
// inputs, u = A_f z (lengthscale division, activeDims selection, pi / period):
// A_f is read off exactly by building the formula on the unit vectors. With
// k = sum_t c_t prod_{f in t} k_f, the pair's derivative through factor f is
//   dk/du = R_f(z_j, x_i) ds_f/du,  R_f = sum_{t containing f} c_t dk_f/ds prod_{o != f} k_o,
// and R_f is itself a formula: the terms containing f, with f's profile
// replaced by its derivative (value = the profile's own dk/ds source). So
// its [n, m] values come from the rows reduction (the compiled WebAssembly
// kernel, on every thread), and only the cheap part stays here, per pair:
//   sqdist s = sum (u - v)^2        ds/du_k = 2 (u_k - v_k)
//   dot    s = sum u v              ds/du_k = v_k
//   sinsq  s = sum w sin^2(u - v)   ds/du_k = w_k sin(2 (u_k - v_k))
// Table factors (task indices) have no input gradient.
//
// When the weights G are also the weights of the hyperparameter gradient
// (the SVGP backward pass: dK_Zx, dK_ZZ), `backwardWithInputGradient` takes
// both from one WebAssembly pass that evaluates each pair once and sums
// g dk/ds ds/du per row on the fly (reductions' pairwiseBilinearRowGradient);
// the rows-of-R path above stays the reference and the fallback.

import * as tf from "@tensorflow/tfjs-core";
import { type Mat, mat } from "../algorithms/matrix";
import { defaultExecutor } from "../backend/backend";
import { ArgumentError, ShapeError } from "../errors";
import { pairwiseBilinearRowGradient, pairwiseRows } from "../reductions/engine";
import { type Formula, type Profile, gradientLayout, rowGradientLayout } from "../reductions/formula";
import type { Kernel } from "./Kernel";
import type { KernelOperator } from "./KernelOperator";

const derivatives = new WeakMap<Profile, Profile>();

/**
 * The profile s -> dk/ds of `profile` (its own dValue source as the value).
 * Only its value is evaluated here; its derivatives are given for
 * completeness (the tfjs form differentiates the original).
 */
function derivativeProfile(profile: Profile): Profile {
  let d = derivatives.get(profile);
  if (!d) {
    d = {
      name: `${profile.name}/ds`,
      numParams: profile.numParams,
      prelude: (v) => profile.prelude(v),
      value: (v) => profile.dValue(v),
      // Its own derivatives are not known in closed form and never evaluated (input
      // gradients read values only): NaN (written 0 / 0, which every executor parses), so
      // any use would show.
      dValue: () => "(0 / 0)",
      dParams: (v) => v.p.map(() => "(0 / 0)"),
      tf: (tfjs, s, params) => tfjs.grad((t: tf.Tensor) => tfjs.sum(profile.tf(tfjs, t, params)))(s),
    };
    derivatives.set(profile, d);
  }
  return d;
}

/** R_f of the header as a formula: the terms containing factor fi, fi's profile differentiated; null if no term has it. */
function derivativeFormula(formula: Formula, fi: number): Formula | null {
  const terms = formula.terms.filter((t) => t.factors.includes(fi));
  if (terms.length === 0) return null;
  const f = formula.factors[fi];
  const factors = formula.factors.map((g, gi) => (gi === fi ? { ...f, profile: derivativeProfile(f.profile) } : g));
  return { name: `d${formula.name}/ds${fi}`, n: formula.n, m: formula.m, factors, terms };
}

/**
 * Per factor, the linear map from an input row to its feature row:
 * A_f[k, c] = feature k of the unit vector e_c. shape: [dims_f, d] (null for table factors)
 */
function featureMaps(kernel: Kernel, d: number): (Float64Array | null)[] {
  const probe = mat(d + 1, d);
  for (let c = 0; c < d; c++) probe.data[(c + 1) * d + c] = 1;
  let formula;
  try {
    formula = kernel.buildFormula(probe, probe).toFormula("probe");
  } catch (err) {
    throw new ArgumentError(`cannot learn inducing locations with ${kernel.name}: ${(err as Error).message}`);
  }
  return formula.factors.map((f) => {
    if (f.statistic === "table") return null;
    const D = f.dims;
    for (let k = 0; k < D; k++) {
      if (f.x[k] !== 0) throw new ArgumentError(`cannot learn inducing locations with ${kernel.name}: its features are not linear in the inputs`);
    }
    const A = new Float64Array(D * d);
    for (let c = 0; c < d; c++) for (let k = 0; k < D; k++) A[k * d + c] = f.x[(c + 1) * D + k];
    return A;
  });
}

/** Shared memory for R's rows, reused call after call (the fused threads write it in place). */
let scratch = new Float64Array(0);
/** Larger R arrays are not kept (they would stay resident). */
const MAX_SCRATCH = 2 ** 22;

function rowsScratch(length: number): Float64Array {
  if (length > MAX_SCRATCH) return new Float64Array(length);
  if (scratch.length < length) scratch = new Float64Array(new SharedArrayBuffer(length * 8));
  return scratch.subarray(0, length);
}

/**
 * d/dz of sum_ji G[j, i] k(z_j, x_i), k symmetric or not (z is the first argument).
 * shapes: z [n, d], x [m, d], G [n, m] -> [n, d]
 */
export function inputGradient(kernel: Kernel, z: Mat, x: Mat, G: Float64Array): Mat {
  if (z.cols !== x.cols) throw new ShapeError(`inputGradient: z has ${z.cols} columns, x ${x.cols}`);
  if (G.length !== z.rows * x.rows) throw new ShapeError(`inputGradient: weights have ${G.length} entries, expected ${z.rows} x ${x.rows}`);
  const d = z.cols, n = z.rows, m = x.rows;
  const formula = kernel.buildFormula(z, x).toFormula("inputGradient");
  const maps = featureMaps(kernel, d);
  const allRows = Int32Array.from({ length: n }, (_, j) => j);
  const out = mat(n, d);
  formula.factors.forEach((f, fi) => {
    const A = maps[fi];
    const R = A ? derivativeFormula(formula, fi) : null;
    if (!A || !R) return;
    // f64 on the CPU, except on the webgpu backend, whose kernel-hyperparameter gradients
    // are WGSL (f32) too; the tfjs executors' f32 is not wanted for these f64 parameters.
    const r = pairwiseRows(R, allRows, { executor: defaultExecutor() === "webgpu" ? "webgpu" : "fused" }, { out: rowsScratch(n * m) }); // [n, m]
    const gu = featureGradient(f.statistic, f.dims, f.x, f.y, f.weights, G, r, n, m); // [n, dims]
    addInputGradient(out, gu, f.dims, 0, A, 1);
  });
  return out;
}

/**
 * Back to inputs: out[j] += scale A^T du_j, du_j = gu[j, offset .. offset + D).
 * shapes: out [n, d], gu [n, width], A [D, d]
 */
function addInputGradient(out: Mat, gu: Float64Array, width: number, offset: number, A: Float64Array, scale: number): void {
  const d = out.cols, D = A.length / d;
  for (let j = 0; j < out.rows; j++) {
    for (let k = 0; k < D; k++) {
      const gk = scale * gu[j * width + offset + k];
      if (gk === 0) continue;
      for (let c = 0; c < d; c++) out.data[j * d + c] += gk * A[k * d + c];
    }
  }
}

/**
 * The backward pass of sum_ji G_ji k(z_j, x_i) through K(z, x) = `op` (the
 * kernel's operator on z, x): adds the derivative to the kernel's parameter
 * grads, as op.backward({ kind: "dense", M: G }) does, and returns
 * inputScale * d/dz, as inputGradient does (inputScale 2 for K(z, z) with G
 * symmetric, where both arguments move). One pass over the pairs on the
 * fused executor's WebAssembly kernels; elsewhere the two reference passes.
 * shapes: z [n, d], x [m, d], G [n, m] -> [n, d]
 */
export function backwardWithInputGradient(op: KernelOperator, kernel: Kernel, z: Mat, x: Mat, G: Float64Array, inputScale = 1): Mat {
  const [n, m] = op.shape;
  if (n !== z.rows || m !== x.rows) throw new ShapeError(`backwardWithInputGradient: the operator is ${n} x ${m} but z has ${z.rows} rows and x ${x.rows}; pass the operator built on (z, x)`);
  if (z.cols !== x.cols) throw new ShapeError(`backwardWithInputGradient: z has ${z.cols} columns, x ${x.cols}`);
  const fused = pairwiseBilinearRowGradient(op.formula, G, op.reductionOptions);
  if (!fused) {
    op.backward({ kind: "dense", M: G });
    const out = inputGradient(kernel, z, x, G);
    if (inputScale !== 1) for (let i = 0; i < out.data.length; i++) out.data[i] *= inputScale;
    return out;
  }
  op.kernelFormula.backward(fused.gradient, gradientLayout(op.formula));
  const maps = featureMaps(kernel, z.cols);
  const { width, offset } = rowGradientLayout(op.formula);
  const out = mat(n, z.cols);
  offset.forEach((o, fi) => {
    const A = maps[fi];
    if (o >= 0 && A) addInputGradient(out, fused.rowGradient, width, o, A, inputScale);
  });
  return out;
}

/**
 * du_j = sum_i G_ji R_ji ds/du_j for one factor's statistic, one pass over
 * each row of G and R (each sum taken in the order of i).
 * shapes: u [n, D], v [m, D], G and R [n, m] -> [n, D]
 */
function featureGradient(
  statistic: Formula["factors"][number]["statistic"], D: number, u: Float64Array, v: Float64Array, weights: Float64Array | undefined,
  G: Float64Array, R: Float64Array, n: number, m: number,
): Float64Array {
  const gu = new Float64Array(n * D);
  const kind = statistic === "sqdist" ? 0 : statistic === "dot" ? 1 : 2;
  const acc = new Float64Array(D);
  for (let j = 0; j < n; j++) {
    const row = j * m, uj = j * D;
    if (kind === 0 && D <= 3) {
      // The common case (stationary kernels on up to 3 features) with scalar accumulators.
      const u0 = u[uj], u1 = D > 1 ? u[uj + 1] : 0, u2 = D > 2 ? u[uj + 2] : 0;
      let s0 = 0, s1 = 0, s2 = 0;
      for (let i = 0; i < m; i++) {
        const g = G[row + i];
        // R may be infinite where the weight is 0 (dk/ds at s = 0).
        if (g === 0) continue;
        const c = g * R[row + i], vi = i * D;
        s0 += c * (u0 - v[vi]);
        if (D > 1) s1 += c * (u1 - v[vi + 1]);
        if (D > 2) s2 += c * (u2 - v[vi + 2]);
      }
      gu[uj] = 2 * s0;
      if (D > 1) gu[uj + 1] = 2 * s1;
      if (D > 2) gu[uj + 2] = 2 * s2;
      continue;
    }
    acc.fill(0);
    for (let i = 0; i < m; i++) {
      const g = G[row + i];
      if (g === 0) continue;
      const c = g * R[row + i], vi = i * D;
      // One loop per statistic (the choice is per factor, not per pair).
      if (kind === 0) for (let k = 0; k < D; k++) acc[k] += c * (u[uj + k] - v[vi + k]);
      else if (kind === 1) for (let k = 0; k < D; k++) acc[k] += c * v[vi + k];
      else for (let k = 0; k < D; k++) acc[k] += c * Math.sin(2 * (u[uj + k] - v[vi + k]));
    }
    const w = weights as Float64Array;
    for (let k = 0; k < D; k++) gu[uj + k] = kind === 0 ? 2 * acc[k] : kind === 1 ? acc[k] : w[k] * acc[k];
  }
  return gu;
}
