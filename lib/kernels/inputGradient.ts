// Gradient of sum_ji G_ji k(z_j, x_i) with respect to the row inputs z,
// analytically in f64 (what learned inducing locations need; the reduction
// engine differentiates parameters, not inputs).
//
// Every factor of a kernel formula reads features that are linear in the
// inputs, u = A_f z (lengthscale division, activeDims selection, pi / period):
// A_f is read off exactly by building the formula on the unit vectors. Per
// pair, dk/du comes from the profile's own dk/ds (its JS source, compiled
// once into a loop over a row of pairs) times ds/du of the statistic:
//   sqdist s = sum (u - v)^2        ds/du_k = 2 (u_k - v_k)
//   dot    s = sum u v              ds/du_k = v_k
//   sinsq  s = sum w sin^2(u - v)   ds/du_k = w_k sin(2 (u_k - v_k))
// Table factors (task indices) have no input gradient.
// Cost: O(n m (factors + dims)) plain JS; meant for n = inducing points.

import { type Mat, mat } from "../algorithms/matrix";
import { ArgumentError, ShapeError } from "../errors";
import type { Profile } from "../reductions/formula";
import type { Kernel } from "./Kernel";

/** k(s) and dk/ds for count statistics at once. shapes: s, value, dValue [count] */
type CompiledProfile = (s: Float64Array, count: number, p: Float64Array, value: Float64Array, dValue: Float64Array) => void;
const compiled = new Map<Profile, CompiledProfile>();

/** The profile's JS snippets in a loop over a row of statistics (no call per pair). */
function compileProfile(profile: Profile): CompiledProfile {
  let fn = compiled.get(profile);
  if (!fn) {
    const v = { s: "s", p: Array.from({ length: profile.numParams }, (_, q) => `p[${q}]`), tmp: "t_" };
    const body = `for (let q = 0; q < count; q++) {\nconst s = sv[q];\n${profile.prelude(v)}\nvalue[q] = ${profile.value(v)};\ndValue[q] = ${profile.dValue(v)};\n}`;
    fn = new Function("sv", "count", "p", "value", "dValue", body) as CompiledProfile;
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
  const factors = formula.factors;
  const terms = formula.terms;
  // One row j at a time, factor by factor over all i: statistics, then k and dk/ds.
  const stat = new Float64Array(m);
  const value = factors.map(() => new Float64Array(m));
  const dValue = factors.map(() => new Float64Array(m));
  const weight = factors.map(() => new Float64Array(m)); // G_ji * (sum over terms with f of coef * the other factors) * dk_f/ds
  const featureGrads = factors.map((f) => new Float64Array(n * f.dims)); // d/du per factor
  for (let j = 0; j < n; j++) {
    const gj = G.subarray(j * m, (j + 1) * m);
    for (let fi = 0; fi < F; fi++) {
      const f = factors[fi], D = f.dims, fx = f.x, fy = f.y;
      if (f.statistic === "table") {
        const table = f.table as Float64Array, size = f.tableSize as number, row = (fx[j] | 0) * size;
        for (let i = 0; i < m; i++) stat[i] = table[row + (fy[i] | 0)];
      } else if (f.statistic === "sqdist") {
        for (let i = 0; i < m; i++) {
          let s = 0;
          for (let k = 0; k < D; k++) s += (fx[j * D + k] - fy[i * D + k]) ** 2;
          stat[i] = s;
        }
      } else if (f.statistic === "dot") {
        for (let i = 0; i < m; i++) {
          let s = 0;
          for (let k = 0; k < D; k++) s += fx[j * D + k] * fy[i * D + k];
          stat[i] = s;
        }
      } else {
        const wts = f.weights as Float64Array;
        for (let i = 0; i < m; i++) {
          let s = 0;
          for (let k = 0; k < D; k++) s += wts[k] * Math.sin(fx[j * D + k] - fy[i * D + k]) ** 2;
          stat[i] = s;
        }
      }
      profiles[fi](stat, m, f.params, value[fi], dValue[fi]);
    }
    for (let fi = 0; fi < F; fi++) weight[fi].fill(0);
    for (const t of terms) {
      for (const fi of t.factors) {
        const w = weight[fi], others = t.factors.filter((fo) => fo !== fi).map((fo) => value[fo]);
        for (let i = 0; i < m; i++) {
          let p = t.coef;
          for (let o = 0; o < others.length; o++) p *= others[o][i];
          w[i] += p;
        }
      }
    }
    for (let fi = 0; fi < F; fi++) {
      if (!maps[fi]) continue;
      const f = factors[fi], D = f.dims, fx = f.x, fy = f.y, w = weight[fi], dv = dValue[fi];
      const gu = featureGrads[fi];
      // ds/du_k per statistic: 0 sqdist, 1 dot, 2 sinsq (chosen once per row, not per pair).
      const kind = f.statistic === "sqdist" ? 0 : f.statistic === "dot" ? 1 : 2;
      const wts = f.weights as Float64Array;
      for (let i = 0; i < m; i++) {
        if (gj[i] === 0) continue;
        const wi = gj[i] * w[i] * dv[i];
        if (wi === 0) continue;
        for (let k = 0; k < D; k++) {
          const dd = fx[j * D + k] - fy[i * D + k];
          const ds = kind === 0 ? 2 * dd : kind === 1 ? fy[i * D + k] : wts[k] * Math.sin(2 * dd);
          gu[j * D + k] += wi * ds;
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
