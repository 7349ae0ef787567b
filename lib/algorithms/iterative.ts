// Solves and log-determinants of large symmetric positive-definite operators
// without a dense factorisation: preconditioned batched CG for A^{-1} B and
// stochastic Lanczos quadrature (from the same CG run's coefficients) for
// log det A. The probe solves A^{-1} z are returned too, so gradients can
// reuse them (tr(A^{-1} dA) ~ mean_z (A^{-1} z)^T dA z).

import { conjugateGradients } from "./cg";
import type { LowRankPlusDiag } from "./lowRankPlusDiag";
import { type Mat, mat } from "./matrix";
import type { ResolvedSolveOptions } from "./settings";
import { tridiagonalEigen } from "./tridiagonal";

export interface IterativeTarget {
  readonly size: number;
  apply(v: Mat): Mat;
  /** P ~ A, cheap to solve with and sample from; null for none. */
  readonly preconditioner: LowRankPlusDiag | null;
}

/** How an iterative (preconditioned CG) solve went: part of an operator's SolveReport. */
export interface IterativeReport {
  /** The solver: preconditioned conjugate gradients. */
  method: "cg";
  /** CG iterations run (all right-hand sides and probes together). */
  iterations: number;
  /** Whether every column reached the tolerance before the iteration limit. */
  converged: boolean;
  /** The largest ||A x - b|| / ||b|| over the columns at the end. */
  maxRelativeResidual: number;
  /** Random probe vectors for the log-determinant and trace estimates (0 when none were needed). */
  probes: number;
  /** Rank of the pivoted-Cholesky preconditioner (0: none). */
  preconditionerRank: number;
}

export interface IterativeResult {
  /** A^{-1} rhs. shape: [n, t] (t = 0 when no rhs) */
  solution: Mat;
  /** Stochastic estimate of log det A (NaN when not asked for). */
  logdet: number;
  /** Probe vectors z ~ N(0, P) and A^{-1} z. shape: [n, numProbes] */
  probes: Mat;
  probeSolves: Mat;
  /** P^{-1} z for the probes (the probes themselves without a preconditioner): the gradient's trace estimate reuses it. shape: [n, numProbes] */
  preconditionedProbes: Mat;
  report: IterativeReport;
}

export function iterativeSolve(target: IterativeTarget, rhs: Mat | null, wantLogdet: boolean, o: ResolvedSolveOptions): IterativeResult {
  const n = target.size;
  const t = rhs ? rhs.cols : 0;
  const p = wantLogdet ? o.numProbes : 0;
  const pre = target.preconditioner;
  const probes = p === 0 ? mat(n, 0) : pre ? pre.sample(o.random, p) : mat(n, p, o.random.normals(n * p));
  const B = mat(n, t + p);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < t; c++) B.data[i * (t + p) + c] = (rhs as Mat).data[i * t + c];
    for (let c = 0; c < p; c++) B.data[i * (t + p) + t + c] = probes.data[i * p + c];
  }
  const cg = conjugateGradients(
    (v) => target.apply(v),
    B,
    { tolerance: Float64Array.from({ length: t + p }, (_, c) => (c < t ? o.cgTolerance : o.probeCgTolerance)), maxIterations: o.maxCgIterations, tridiagonalColumns: Array.from({ length: p }, (_, k) => t + k) },
    pre ? (v) => pre.solve(v) : undefined,
  );
  const maxRes = cg.relativeResiduals.reduce((a, b) => Math.max(a, b), 0);
  if (!cg.converged) {
    process.emitWarning(
      `CG did not converge in ${cg.iterations} iterations (largest relative residual ${maxRes.toExponential(2)} > tolerance ${Math.min(o.cgTolerance, o.probeCgTolerance)}); ` +
        `results may be inaccurate. Raise maxCgIterations or preconditionerRank, or add noise to the diagonal.`,
      "NumericalWarning",
    );
  }
  const solution = mat(n, t);
  const probeSolves = mat(n, p);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < t; c++) solution.data[i * t + c] = cg.solution.data[i * (t + p) + c];
    for (let c = 0; c < p; c++) probeSolves.data[i * p + c] = cg.solution.data[i * (t + p) + t + c];
  }
  let logdet = Number.NaN;
  // P^{-1} z is the probe columns of CG's first preconditioned residual (B's columns t.. are the probes).
  const pz = mat(n, p);
  for (let i = 0; i < n; i++) for (let c = 0; c < p; c++) pz.data[i * p + c] = cg.preconditionedRhs.data[i * (t + p) + t + c];
  if (wantLogdet) {
    // ||P^{-1/2} z||^2 e1^T log(T) e1, averaged, estimates log det(P^{-1} A).
    let sum = 0;
    cg.tridiagonals.forEach((tri, k) => {
      let zNorm2 = 0;
      for (let i = 0; i < n; i++) zNorm2 += probes.data[i * p + k] * pz.data[i * p + k];
      if (tri.diag.length === 0) return;
      const { values, vectors } = tridiagonalEigen(tri.diag, tri.offDiag, true);
      let quad = 0;
      for (let j = 0; j < values.length; j++) quad += vectors[j] * vectors[j] * Math.log(Math.max(values[j], Number.MIN_VALUE));
      sum += zNorm2 * quad;
    });
    logdet = sum / p + (pre ? pre.logdet() : 0);
  }
  return {
    solution,
    logdet,
    probes,
    probeSolves,
    preconditionedProbes: pz,
    report: { method: "cg", iterations: cg.iterations, converged: cg.converged, maxRelativeResidual: maxRes, probes: p, preconditionerRank: pre ? pre.rank : 0 },
  };
}
