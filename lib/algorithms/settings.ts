// Numerical settings, passed per call (no global mutable switches).
// Defaults follow GPyTorch where it has one; tolerances are tighter because
// gplab's CG runs in f64.

import { type RandomSource, globalRandom } from "../random";

/**
 * Settings of solves, log-determinants and predictions; every field is optional and defaults as documented
 * (see docs/solver-settings.md). Pass per call, or as `solve:` on a model or MLL.
 */
export interface SolveOptions {
  /** Exact Cholesky at or below this size, CG / stochastic Lanczos above (GPyTorch: 800). */
  maxCholeskySize?: number;
  /** Relative residual at which CG stops (default 1e-6). */
  cgTolerance?: number;
  /**
   * The same for the probe columns of a stochastic log-determinant / trace
   * estimate (default: cgTolerance). Their error is small next to the
   * estimator's own sampling noise, so training loosens it; the solve
   * columns keep cgTolerance and CG drops converged columns from the products.
   */
  probeCgTolerance?: number;
  /** CG iteration cap (default 1000); a warning is emitted when it is hit. */
  maxCgIterations?: number;
  /** Probe vectors for stochastic log-determinants (GPyTorch: 10). */
  numProbes?: number;
  /**
   * Rank of the pivoted-Cholesky preconditioner (GPyTorch: 15). Default
   * "auto": 3 sqrt(n) clamped to [15, 400]. A stronger preconditioner costs
   * O(n k^2) once per solve but cuts the CG iterations, each a full kernel
   * product with every right-hand side: measured at n = 10,000 (RBF, d = 3,
   * 11 right-hand sides, CG tolerance 1e-2) rank 15 needs ~33 iterations,
   * 100 needs 11, 200 needs 4, 300 needs 2; Scale(RBF) + Scale(Matern 5/2),
   * whose spectrum decays more slowly, needs 7-9 at 200 and 5-6 at 300.
   */
  preconditionerRank?: number | "auto";
  /** Lanczos iterations for root decompositions (default 100). */
  maxLanczosIterations?: number;
  /**
   * CG multiplies the same operator many times: if a dense f64 copy of a lazy
   * operator fits in this many bytes, materialise it once and reuse it
   * (default 0 = off: measured here, the fused symmetric kernel product is
   * faster than the JS dense product it would replace — 0.27 s vs 0.76 s at
   * n = 5,000 with 11 right-hand sides — so this only pays with a faster
   * dense product).
   */
  denseCacheBytes?: number;
  /** Byte budget for dense work (Cholesky copies, toDense) (default 1 GiB). */
  maxDenseBytes?: number;
  /** Random source for probes (default: the seeded global one). */
  random?: RandomSource;
}

export type ResolvedSolveOptions = Required<SolveOptions>;

export function resolveSolveOptions(o: SolveOptions = {}): ResolvedSolveOptions {
  return {
    maxCholeskySize: o.maxCholeskySize ?? 800,
    cgTolerance: o.cgTolerance ?? 1e-6,
    probeCgTolerance: o.probeCgTolerance ?? o.cgTolerance ?? 1e-6,
    maxCgIterations: o.maxCgIterations ?? 1000,
    numProbes: o.numProbes ?? 10,
    preconditionerRank: o.preconditionerRank ?? "auto",
    maxLanczosIterations: o.maxLanczosIterations ?? 100,
    denseCacheBytes: o.denseCacheBytes ?? 0,
    maxDenseBytes: o.maxDenseBytes ?? 2 ** 30,
    random: o.random ?? globalRandom,
  };
}

/** "3.6 TiB" style byte counts for messages. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/** The preconditioner rank to use for an n x n system. */
export function preconditionerRankFor(n: number, o: ResolvedSolveOptions): number {
  const r = o.preconditionerRank;
  if (r !== "auto") return Math.max(0, Math.min(n, Math.floor(r)));
  return Math.min(n, Math.max(15, Math.min(400, Math.round(3 * Math.sqrt(n)))));
}
