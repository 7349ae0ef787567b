// Gradient of sum_ji G_ji k(z_j, x_i) with respect to the row inputs z,
// analytically in f64 (what learned inducing locations need; the reduction
// engine differentiates parameters, not inputs).
//
// Every factor of a kernel formula reads features that are linear in the
// inputs, u = A_f z (lengthscale division, activeDims selection, pi / period):
// A_f is read off exactly by building the formula on the unit vectors. Per
// pair, dk/du comes from the profile's own dk/ds (its JS source, compiled
// once) times ds/du of the statistic:
//   sqdist s = sum (u - v)^2        ds/du_k = 2 (u_k - v_k)
//   dot    s = sum u v              ds/du_k = v_k
//   sinsq  s = sum w sin^2(u - v)   ds/du_k = w_k sin(2 (u_k - v_k))
// Table factors (task indices) have no input gradient.
// Cost: O(n m (factors + dims)) plain JS; meant for n = inducing points.

import { type Mat, mat } from "../algorithms/matrix";
import { ArgumentError, ShapeError } from "../errors";
import type { Profile } from "../reductions/formula";
import type { Kernel } from "./Kernel";

type CompiledProfile = (s: number, p: Float64Array, out: Float64Array) => void;
const compiled = new Map<Profile, CompiledProfile>();

/** k(s) and dk/ds from the profile's JS snippets. */
function compileProfile(profile: Profile): CompiledProfile {
  let fn = compiled.get(profile);
  if (!fn) {
    const v = { s: "s", p: Array.from({ length: profile.numParams }, (_, q) => `p[${q}]`), tmp: "t_" };
    fn = new Function("s", "p", "out", `${profile.prelude(v)}\nout[0] = ${profile.value(v)};\nout[1] = ${profile.dValue(v)};`) as CompiledProfile;
    compiled.set(profile, fn);
  }
  return fn;
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
  const F = formula.factors.length;
  const profiles = formula.factors.map((f) => compileProfile(f.profile));
  const value = new Float64Array(F);
  const dValue = new Float64Array(F);
  const out2 = new Float64Array(2);
  const coefOthers = new Float64Array(F); // sum over terms containing f of coef * prod of the other factors
  const featureGrads = formula.factors.map((f) => new Float64Array(n * f.dims)); // d/du per factor
  const factors = formula.factors;
  const terms = formula.terms;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) {
      const g = G[j * m + i];
      if (g === 0) continue;
      for (let fi = 0; fi < F; fi++) {
        const f = factors[fi], D = f.dims;
        let s = 0;
        if (f.statistic === "table") s = (f.table as Float64Array)[(f.x[j] | 0) * (f.tableSize as number) + (f.y[i] | 0)];
        else if (f.statistic === "sqdist") for (let k = 0; k < D; k++) s += (f.x[j * D + k] - f.y[i * D + k]) ** 2;
        else if (f.statistic === "dot") for (let k = 0; k < D; k++) s += f.x[j * D + k] * f.y[i * D + k];
        else for (let k = 0; k < D; k++) s += (f.weights as Float64Array)[k] * Math.sin(f.x[j * D + k] - f.y[i * D + k]) ** 2;
        profiles[fi](s, f.params, out2);
        value[fi] = out2[0];
        dValue[fi] = out2[1];
      }
      coefOthers.fill(0);
      for (const t of terms) {
        for (const fi of t.factors) {
          let p = t.coef;
          for (const fo of t.factors) if (fo !== fi) p *= value[fo];
          coefOthers[fi] += p;
        }
      }
      for (let fi = 0; fi < F; fi++) {
        if (!maps[fi]) continue;
        const f = factors[fi], D = f.dims;
        const w = g * coefOthers[fi] * dValue[fi];
        if (w === 0) continue;
        const gu = featureGrads[fi];
        for (let k = 0; k < D; k++) {
          const d = f.x[j * D + k] - f.y[i * D + k];
          const ds = f.statistic === "sqdist" ? 2 * d : f.statistic === "dot" ? f.y[i * D + k] : (f.weights as Float64Array)[k] * Math.sin(2 * d);
          gu[j * D + k] += w * ds;
        }
      }
    }
  }
  // Back to inputs: dz_j = sum_f A_f^T du_j.
  const out = mat(n, d);
  formula.factors.forEach((f, fi) => {
    const A = maps[fi];
    if (!A) return;
    const D = f.dims, gu = featureGrads[fi];
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < D; k++) {
        const gk = gu[j * D + k];
        if (gk === 0) continue;
        for (let c = 0; c < d; c++) out.data[j * d + c] += gk * A[k * d + c];
      }
    }
  });
  return out;
}
