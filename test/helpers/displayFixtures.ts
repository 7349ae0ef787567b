// Fixtures for the display tests: seeded inputs, a lazy RBF operator built
// straight from its formula, and the same kernel as a plain f64 function for
// computing expected values independently of the reduction engine.

import * as gp from "../../lib";
import { sharedF64 } from "../../lib/reductions/fusedExecutor";

/** Deterministic uniform [0, 1) numbers (mulberry32). */
export function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n points in [0, scale)^d, row-major. shape: [n, d] */
export function points(n: number, d: number, seed: number, scale = 5): Float64Array {
  const u = uniform(seed);
  const x = sharedF64(n * d);
  for (let i = 0; i < n * d; i++) x[i] = u() * scale;
  return x;
}

export interface RbfCase {
  x: Float64Array; // shape: [n, d], raw inputs
  n: number;
  d: number;
  lengthscale: number;
  outputscale: number;
}

/** The lazy operator outputscale * exp(-|x_i - x_j|^2 / (2 l^2)). shape: [n, n] */
export function rbfOperator(c: RbfCase): gp.operators.KernelLinearOperator {
  const scaled = sharedF64(c.n * c.d);
  for (let i = 0; i < scaled.length; i++) scaled[i] = c.x[i] / c.lengthscale;
  return new gp.operators.KernelLinearOperator(
    {
      name: "RBF",
      n: c.n,
      m: c.n,
      factors: [{ statistic: "sqdist", dims: c.d, x: scaled, y: scaled, profile: gp.reductions.profiles.rbfProfile, params: new Float64Array(0) }],
      terms: [{ coef: c.outputscale, factors: [0] }],
    },
    { symmetric: true },
  );
}

/** The same kernel entry in plain f64 JS (the independent reference). */
export function rbfEntry(c: RbfCase, i: number, j: number): number {
  let s = 0;
  for (let k = 0; k < c.d; k++) {
    const diff = (c.x[i * c.d + k] - c.x[j * c.d + k]) / c.lengthscale;
    s += diff * diff;
  }
  return c.outputscale * Math.exp(-0.5 * s);
}

/** Relative difference, guarded near zero. */
export function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-300, Math.abs(b));
}

/**
 * Items (`<path>`, or `<line>` for rules) inside the first SVG mark group whose
 * class contains `markClass`, e.g. "mark-rect role-mark concat_1_marks".
 */
export function countPathsInMark(svg: string, markClass: string, tag: "path" | "line" = "path"): number {
  const start = svg.indexOf(markClass);
  if (start < 0) return 0;
  // A mark group holds only its items and closes with </g>.
  const end = svg.indexOf("</g>", start);
  return (svg.slice(start, end).match(new RegExp(`<${tag} `, "g")) ?? []).length;
}
