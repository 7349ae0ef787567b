// How a stationary K @ V is laid out for the WGSL kernel: which formulas
// qualify, the tile and split sizes, the f32 buffers the shader reads, and the
// f64 finish on the host. Shared by the GPU executor and the JS emulation of
// the same algorithm (tiledReference.ts), so both read identical inputs.
//
// The scheme is KeOps': each invocation owns output rows (one, or a few to
// reuse each staged column), columns of Y and V pass through workgroup
// memory one tile at a time, nothing n x m is stored.

import type { Formula } from "../formula";

/** Profiles the WGSL kernel implements (all functions of a squared distance). */
export const WEBGPU_PROFILES = ["rbf", "matern12", "matern32", "matern52"] as const;
export type WebgpuProfile = (typeof WEBGPU_PROFILES)[number];

export const WEBGPU_MAX_RHS = 16;
export const WEBGPU_MAX_DIMS = 16;
/** Invocations per workgroup. */
export const WORKGROUP_SIZE = 256;
/** WebGPU's guaranteed workgroup memory; larger tiles would need a device limit. */
const WORKGROUP_BYTES = 16384;
/** Workgroups wanted in flight: H100/H200 have 132 SMs, several groups each. */
const TARGET_GROUPS = 1024;

/**
 * Per-profile factor folded into the features so the shader's statistic is
 * already the exponent's argument: RBF exp(-s/2) = exp2(-s') with
 * s' = s * log2(e) / 2; Matern nu uses a = sqrt(c s) with c = 1, 3, 5.
 */
export function featureScale(profile: WebgpuProfile): number {
  switch (profile) {
    case "rbf": return Math.sqrt(0.5 * Math.LOG2E);
    case "matern12": return 1;
    case "matern32": return Math.sqrt(3);
    case "matern52": return Math.sqrt(5);
  }
}

/** One sqdist factor with a profile above, one term: c * k(|x - y|^2), 1..16 rhs. */
export function webgpuMatmulEligible(formula: Formula, rhsCount: number): boolean {
  if (formula.factors.length !== 1 || formula.terms.length !== 1 || formula.terms[0].factors.length !== 1) return false;
  const f = formula.factors[0];
  return (
    f.statistic === "sqdist" &&
    (WEBGPU_PROFILES as readonly string[]).includes(f.profile.name) &&
    f.dims >= 1 &&
    f.dims <= WEBGPU_MAX_DIMS &&
    Number.isInteger(rhsCount) &&
    rhsCount >= 1 &&
    rhsCount <= WEBGPU_MAX_RHS
  );
}

/** Tuning of the generated kernel; the defaults were the fastest measured on an H100 (bench/README.md). */
export interface StationaryTuning {
  /** Output rows per invocation (rows g, g + 256, ...): each staged column is read once for all of them. */
  rowsPerInvocation: number;
  /** Columns per inner-loop iteration. */
  unroll: number;
}

export const DEFAULT_TUNING: StationaryTuning = { rowsPerInvocation: 2, unroll: 8 };

export interface StationaryPlan extends StationaryTuning {
  profile: WebgpuProfile;
  /** Feature dims D and right-hand sides T. */
  dims: number;
  rhs: number;
  n: number;
  m: number;
  /** The term's coefficient, applied in f64 on the host. */
  coef: number;
  /** vec4s per row of X: ceil(D / 4). */
  xVec4: number;
  /** vec4s per column of YV (y's D features, then V's T values): ceil((D + T) / 4). */
  colVec4: number;
  /** Columns staged per tile. */
  tile: number;
  tiles: number;
  /** Rows one workgroup owns: WORKGROUP_SIZE * rowsPerInvocation. */
  groupRows: number;
  /** n rounded up to whole workgroups (padded rows are computed, never read). */
  rowsPad: number;
  rowGroups: number;
  /** Column splits: workgroups along y, each summing tilesPerSplit tiles into its own partial. */
  splits: number;
  tilesPerSplit: number;
}

export function planStationary(formula: Formula, rhsCount: number, tuning: StationaryTuning = DEFAULT_TUNING): StationaryPlan {
  if (!webgpuMatmulEligible(formula, rhsCount)) throw new Error(`WebGPU K @ V does not cover ${formula.name} with ${rhsCount} right-hand sides`);
  if (![1, 2, 4].includes(tuning.rowsPerInvocation) || ![1, 2, 4, 8, 16].includes(tuning.unroll)) {
    throw new Error(`WebGPU K @ V tuning: rowsPerInvocation 1, 2 or 4 and unroll 1..16 (a power of two), got ${JSON.stringify(tuning)}`);
  }
  const f = formula.factors[0];
  const D = f.dims, T = rhsCount;
  const colVec4 = Math.ceil((D + T) / 4);
  let tile = WORKGROUP_SIZE;
  while (tile > tuning.unroll && tile * colVec4 * 16 > WORKGROUP_BYTES) tile /= 2;
  const tiles = Math.max(1, Math.ceil(formula.m / tile));
  const groupRows = WORKGROUP_SIZE * tuning.rowsPerInvocation;
  const rowGroups = Math.max(1, Math.ceil(formula.n / groupRows));
  // Few rows leave the GPU idle: split the columns too, and sum the partials on the host.
  const wanted = Math.min(tiles, Math.max(1, Math.ceil(TARGET_GROUPS / rowGroups)));
  const tilesPerSplit = Math.ceil(tiles / wanted);
  return {
    profile: f.profile.name as WebgpuProfile,
    dims: D,
    rhs: T,
    n: formula.n,
    m: formula.m,
    coef: formula.terms[0].coef,
    xVec4: Math.ceil(D / 4),
    colVec4,
    tile,
    tiles,
    groupRows,
    rowsPad: rowGroups * groupRows,
    rowGroups,
    splits: Math.ceil(tiles / tilesPerSplit),
    tilesPerSplit,
    rowsPerInvocation: tuning.rowsPerInvocation,
    unroll: tuning.unroll,
  };
}

export interface PackedStationary {
  /** shape: [rowsPad, xVec4 * 4], scaled features, zero padded. */
  X: Float32Array;
  /** shape: [tiles * tile, colVec4 * 4]: scaled y features then V's row; padded columns are all zero (V = 0 adds nothing). */
  YV: Float32Array;
}

/**
 * f32 buffers for the shader. `alloc` lets the caller place them (shared
 * memory for the worker bridge); `X`, when given, is a packing of the same
 * formula's rows kept from an earlier call (it does not depend on V or T).
 * V shape: [m, T] row-major.
 */
export function packStationary(
  formula: Formula,
  V: Float64Array,
  plan: StationaryPlan,
  alloc: (length: number) => Float32Array = (length) => new Float32Array(length),
  X: Float32Array = packStationaryRows(formula, plan, alloc),
): PackedStationary {
  const f = formula.factors[0];
  const D = plan.dims, T = plan.rhs, scale = featureScale(plan.profile);
  const cStride = plan.colVec4 * 4;
  const YV = alloc(plan.tiles * plan.tile * cStride);
  for (let j = 0; j < plan.m; j++) {
    for (let k = 0; k < D; k++) YV[j * cStride + k] = f.y[j * D + k] * scale;
    for (let t = 0; t < T; t++) YV[j * cStride + D + t] = V[j * T + t];
  }
  return { X, YV };
}

/** The X buffer alone: scaled row features, zero padded. shape: [rowsPad, xVec4 * 4] */
export function packStationaryRows(formula: Formula, plan: StationaryPlan, alloc: (length: number) => Float32Array = (length) => new Float32Array(length)): Float32Array {
  const f = formula.factors[0];
  const D = plan.dims, scale = featureScale(plan.profile), xStride = plan.xVec4 * 4;
  const X = alloc(plan.rowsPad * xStride);
  for (let i = 0; i < plan.n; i++) for (let k = 0; k < D; k++) X[i * xStride + k] = f.x[i * D + k] * scale;
  return X;
}

/** Length of the shader's output: [splits, rowsPad, T] f32 partial sums. */
export function partialsLength(plan: StationaryPlan): number {
  return plan.splits * plan.rowsPad * plan.rhs;
}

/** Sums the column splits' partials in f64 and applies the coefficient. shape: [n, T] */
export function finishRows(partials: Float32Array, plan: StationaryPlan): Float64Array {
  const T = plan.rhs, out = new Float64Array(plan.n * T);
  for (let s = 0; s < plan.splits; s++) {
    const base = s * plan.rowsPad * T;
    for (let p = 0; p < plan.n * T; p++) out[p] += partials[base + p];
  }
  for (let p = 0; p < out.length; p++) out[p] *= plan.coef;
  return out;
}
