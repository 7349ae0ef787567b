// How any formula is laid out for the generated WGSL kernels
// (formulaWgsl.ts): which formulas qualify, the f32 feature buffers, the
// parameter buffer, the tile size, and the column ranges (splits) the
// workgroups walk. The f64 finish of each reduction lives in formulaRun.ts.

import { type Formula, gradientLayout } from "../formula";
import { formulaHasWgsl } from "./formulaWgsl";

/** WebGPU's guaranteed workgroup memory. */
const WORKGROUP_BYTES = 16384;
/** Most feature columns per row (all factors together) the kernels hoist into registers. */
export const WGSL_MAX_FEATURES = 64;
/** Most gradient slots a bilinear kernel keeps per invocation. */
export const WGSL_MAX_SLOTS = 128;
/** Right-hand sides per K @ V dispatch; more run in chunks. */
export const WGSL_MATMUL_RHS = 16;
/** Most weight columns (probe rank) of the low-rank bilinear kernel. */
export const WGSL_MAX_RANK = 32;

/** One factor's place in the packed buffers. */
export interface FactorPlan {
  /** Features per row: dims, or 1 (the index) for a table. */
  width: number;
  xOffset: number;
  yOffset: number;
  /** WGSL locals holding the profile's parameters. */
  paramLocals: string[];
  /** Table factors: where the table starts in the parameter buffer. */
  tableOffset: number;
}

export interface FormulaPlan {
  /** Structure label for the generated code's header. */
  key: string;
  /** Features per row of X and of Y (sum over factors). */
  xWidth: number;
  yWidth: number;
  /** Values per column after the y features: V's or W's columns (0 for the others). */
  rhs: number;
  /** Columns staged per tile in workgroup memory. */
  tile: number;
  factors: FactorPlan[];
  /** Scalar parameters the kernel reads from PR at its start: local name and index. */
  paramNames: { local: string; index: number }[];
  /** The parameter buffer: term coefficients, profile parameters, sinsq weights, tables. */
  params: Float32Array;
}

/**
 * The plan for a formula with `rhs` values per column after its features
 * (K @ V: T; low-rank bilinear: the rank; others 0).
 */
export function planFormula(formula: Formula, rhs: number): FormulaPlan {
  const paramNames: { local: string; index: number }[] = [];
  const values: number[] = [];
  const param = (local: string, v: number) => {
    paramNames.push({ local, index: values.length });
    values.push(v);
  };
  formula.terms.forEach((t, ti) => param(`c${ti}`, t.coef));
  let xOffset = 0;
  const factors: FactorPlan[] = formula.factors.map((f, fi) => {
    const width = f.statistic === "table" ? 1 : f.dims;
    const paramLocals = Array.from(f.params, (v, q) => {
      param(`p${fi}_${q}`, v);
      return `p${fi}_${q}`;
    });
    if (f.statistic === "sinsq") (f.weights as Float64Array).forEach((w, k) => param(`w${fi}_${k}`, w));
    const plan = { width, xOffset, yOffset: xOffset, paramLocals, tableOffset: -1 };
    xOffset += width;
    return plan;
  });
  formula.factors.forEach((f, fi) => {
    if (f.statistic !== "table") return;
    factors[fi].tableOffset = values.length;
    values.push(...(f.table as Float64Array));
  });
  const columnWidth = xOffset + rhs;
  let tile = 256;
  while (tile > 1 && tile * columnWidth * 4 > WORKGROUP_BYTES) tile /= 2;
  return {
    key: structureLabel(formula),
    xWidth: xOffset,
    yWidth: xOffset,
    rhs,
    tile,
    factors,
    paramNames,
    params: Float32Array.from(values),
  };
}

function structureLabel(formula: Formula): string {
  const factors = formula.factors.map((f) => `${f.statistic}[${f.dims}]:${f.profile.name}`).join(", ");
  const terms = formula.terms.map((t) => t.factors.join("*") || "1").join(" + ");
  return `factors ${factors}; terms ${terms}`;
}

/** Why this formula cannot run in WGSL, or null when it can. */
export function wgslIneligibility(formula: Formula, kind: "matmul" | "rows" | "entries" | "blockSums" | "bilinearLowRank" | "bilinearDense", rank = 0): string | null {
  if (!formulaHasWgsl(formula)) return `a profile without WGSL (${formula.factors.map((f) => f.profile.name).join(", ")})`;
  const width = formula.factors.reduce((s, f) => s + (f.statistic === "table" ? 1 : f.dims), 0);
  if (width > WGSL_MAX_FEATURES) return `${width} feature columns (at most ${WGSL_MAX_FEATURES})`;
  if (formula.factors.some((f) => f.statistic === "table" && (f.tableSize ?? 0) > 4096)) return "a table larger than 4,096 x 4,096";
  if (kind === "bilinearLowRank" || kind === "bilinearDense") {
    const slots = gradientLayout(formula).size;
    if (slots > WGSL_MAX_SLOTS) return `${slots} gradient slots (at most ${WGSL_MAX_SLOTS})`;
    if (kind === "bilinearLowRank" && (rank < 1 || rank > WGSL_MAX_RANK)) return `weight rank ${rank} (1..${WGSL_MAX_RANK})`;
    // Dense weights travel as one f32 buffer; beyond 2^26 entries they stay on the CPU.
    if (kind === "bilinearDense" && formula.n * formula.m > 2 ** 26) return "dense weights larger than 2^26 entries";
  }
  return null;
}

/** f32 features of rows `idx` (all rows when idx is null) of x or y. shape: [rows, width] */
export function packFeatures(formula: Formula, plan: FormulaPlan, side: "x" | "y", idx: Int32Array | null, alloc: (length: number) => Float32Array): Float32Array {
  const rows = idx ? idx.length : side === "x" ? formula.n : formula.m;
  const width = plan.xWidth;
  const out = alloc(Math.max(1, rows) * width);
  formula.factors.forEach((f, fi) => {
    const src = side === "x" ? f.x : f.y;
    const D = f.dims, off = plan.factors[fi].xOffset;
    for (let r = 0; r < rows; r++) {
      const i = idx ? idx[r] : r;
      // A table factor's single feature is its integer index, exact in f32 below 2^24.
      for (let k = 0; k < plan.factors[fi].width; k++) out[r * width + off + k] = src[i * D + k];
    }
  });
  return out;
}

/** Column ranges [start, end) of `splits` near-equal parts in whole tiles. shape: [2 splits] */
export function columnSplits(m: number, tile: number, splits: number): Uint32Array {
  const tiles = Math.max(1, Math.ceil(m / tile));
  const parts = Math.max(1, Math.min(tiles, splits));
  const perPart = Math.ceil(tiles / parts);
  const count = Math.ceil(tiles / perPart);
  const out = new Uint32Array(2 * count);
  for (let s = 0; s < count; s++) {
    out[2 * s] = Math.min(m, s * perPart * tile);
    out[2 * s + 1] = Math.min(m, (s + 1) * perPart * tile);
  }
  return out;
}
