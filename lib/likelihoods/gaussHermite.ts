// Gauss–Hermite quadrature for expectations under a normal:
//   E_{f ~ N(mu, v)}[g(f)] ~= sum_k w_k / sqrt(pi) * g(mu + sqrt(2 v) t_k),
// the rule GPyTorch's GaussHermiteQuadrature1D applies with numpy's
// hermgauss nodes (20 by default, settings.num_gauss_hermite_locs).
// Nodes by Newton's method on the orthonormal Hermite recurrence (the
// classical "gauher" scheme), accurate to rounding.

import { ArgumentError } from "../errors";

/** GPyTorch's default number of Gauss–Hermite locations. */
export const NUM_GAUSS_HERMITE_LOCS = 20;

/** The nodes and weights of an n-point Gauss–Hermite rule, the weights divided by sqrt(pi) so that they sum to 1. */
export interface GaussHermiteRule {
  /** Nodes t_k, ascending. shape: [n] */
  nodes: Float64Array;
  /** Weights w_k / sqrt(pi): they sum to 1. shape: [n] */
  weights: Float64Array;
}

const cache = new Map<number, GaussHermiteRule>();

/** The n-point rule (nodes of H_n, weights normalised to a probability measure). */
export function gaussHermite(n: number = NUM_GAUSS_HERMITE_LOCS): GaussHermiteRule {
  if (!Number.isInteger(n) || n < 1 || n > 200) throw new ArgumentError(`the number of Gauss–Hermite locations must be an integer in [1, 200], got ${n}`);
  const hit = cache.get(n);
  if (hit) return hit;
  const nodes = new Float64Array(n), weights = new Float64Array(n);
  const pim4 = Math.PI ** -0.25;
  const m = Math.floor((n + 1) / 2);
  let z = 0;
  for (let i = 0; i < m; i++) {
    // Initial guesses for the largest roots, then from the previous ones.
    if (i === 0) z = Math.sqrt(2 * n + 1) - 1.85575 * (2 * n + 1) ** (-1 / 6);
    else if (i === 1) z -= (1.14 * n ** 0.426) / z;
    else if (i === 2) z = 1.86 * z - 0.86 * nodes[n - 1];
    else if (i === 3) z = 1.91 * z - 0.91 * nodes[n - 2];
    else z = 2 * z - nodes[n - i + 1];
    let pp = 0;
    for (let it = 0; it < 100; it++) {
      // Orthonormal Hermite polynomials p_j(z) by recurrence; pp = p_n'(z).
      let p1 = pim4, p2 = 0;
      for (let j = 1; j <= n; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = z * Math.sqrt(2 / j) * p2 - Math.sqrt((j - 1) / j) * p3;
      }
      pp = Math.sqrt(2 * n) * p2;
      const z1 = z;
      z = z1 - p1 / pp;
      if (Math.abs(z - z1) <= 1e-15 * Math.max(1, Math.abs(z))) {
        // One more evaluation at the converged root for the weight.
        let q1 = pim4, q2 = 0;
        for (let j = 1; j <= n; j++) {
          const q3 = q2;
          q2 = q1;
          q1 = z * Math.sqrt(2 / j) * q2 - Math.sqrt((j - 1) / j) * q3;
        }
        pp = Math.sqrt(2 * n) * q2;
        break;
      }
    }
    nodes[n - 1 - i] = z;
    nodes[i] = -z;
    const w = 2 / (pp * pp) / Math.sqrt(Math.PI);
    weights[n - 1 - i] = w;
    weights[i] = w;
  }
  if (n % 2 === 1) nodes[m - 1] = 0;
  const rule = { nodes, weights };
  cache.set(n, rule);
  return rule;
}
