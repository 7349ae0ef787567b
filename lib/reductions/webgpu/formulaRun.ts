// Every reduction of the engine on WebGPU for any formula with WGSL
// (formulaWgsl.ts): builds the dispatch, runs it through the synchronous
// bridge and finishes in f64 on the host (the column splits' partial sums,
// the rows of a bilinear derivative). X and Y features stay resident on the
// device while the formula object lives (CG iterations reuse it); V, W and
// the weights travel with each call.

import { type Formula, gradientLayout } from "../formula";
import type { GpuBinding } from "./gpuJob";
import { columnSplits, type FormulaPlan, packFeatures, planFormula, WGSL_MATMUL_RHS } from "./formulaPlan";
import { ELEMENT_WORKGROUP, FORMULA_PARAM_WORDS, STREAM_WORKGROUP, type StreamMode, elementKernelWgsl, streamKernelWgsl } from "./formulaWgsl";
import { runGpuJobSync, sharedF32 } from "./syncBridge";

/** Workgroups wanted in flight (an H100/H200 has 132 SMs, several groups each). */
const TARGET_GROUPS = 1024;
/** WebGPU's guaranteed workgroups per dispatch dimension. */
const MAX_GROUPS = 65535;

/** Packed features of a formula, kept while the formula object lives. */
interface ResidentFeatures {
  X: Float32Array;
  Y: Float32Array;
  xKey: string;
  yKey: string;
}

const resident = new WeakMap<Formula, ResidentFeatures>();
let nextKey = 0;

function features(formula: Formula, plan: FormulaPlan): ResidentFeatures {
  let r = resident.get(formula);
  if (!r) {
    const X = packFeatures(formula, plan, "x", null, sharedF32);
    // K(x, x): one buffer serves both sides.
    const same = formula.factors.every((f) => f.x === f.y);
    const Y = same ? X : packFeatures(formula, plan, "y", null, sharedF32);
    const key = `features${nextKey++}`;
    r = { X, Y, xKey: `${key}x`, yKey: same ? `${key}x` : `${key}y` };
    resident.set(formula, r);
  }
  return r;
}

function uniform(values: Record<(typeof FORMULA_PARAM_WORDS)[number], number>): Uint32Array {
  return Uint32Array.from(FORMULA_PARAM_WORDS, (w) => values[w]);
}

function sharedCopy(values: ArrayLike<number>): Float32Array {
  const out = sharedF32(values.length);
  out.set(values);
  return out;
}

/**
 * Columns a kernel is compiled for: t rounded up to a power of two, the
 * extra columns zero. CG drops converged columns one by one; without this
 * every count would compile a new pipeline (seconds on SwiftShader).
 */
export function columnBucket(t: number): number {
  let b = 1;
  while (b < t) b *= 2;
  return b;
}

/** A [rows, t] row-major array as [rows, width] on shared memory, zero padded. */
function padColumns(src: Float64Array, rows: number, t: number, width: number, c0 = 0, stride = t): Float32Array {
  const out = sharedF32(rows * width);
  for (let r = 0; r < rows; r++) for (let c = 0; c < t; c++) out[r * width + c] = src[r * stride + c0 + c];
  return out;
}

/** Runs a streaming kernel; returns OUT [ranges, rowsPad, slots]. */
function stream(formula: Formula, plan: FormulaPlan, mode: StreamMode, ranges: Uint32Array, slots: number, extra: GpuBinding[]): { out: Float32Array; rowsPad: number } {
  const { X, Y, xKey, yKey } = features(formula, plan);
  const rowGroups = Math.max(1, Math.ceil(formula.n / STREAM_WORKGROUP));
  const rowsPad = rowGroups * STREAM_WORKGROUP;
  const splits = ranges.length / 2;
  const out = runGpuJobSync(
    {
      source: streamKernelWgsl(formula, plan, mode),
      entryPoint: "main",
      bindings: [
        { binding: 0, kind: "storage", data: X, key: xKey },
        { binding: 1, kind: "storage", data: Y, key: yKey },
        { binding: 3, kind: "output", length: splits * rowsPad * slots },
        { binding: 4, kind: "uniform", data: uniform({ n: formula.n, m: formula.m, rowsPad, aux: 0 }) },
        { binding: 5, kind: "storage", data: sharedCopy(plan.params) },
        { binding: 6, kind: "storage", data: ranges },
        ...extra,
      ],
      dispatch: [rowGroups, splits],
    },
    `${mode} of ${formula.name}`,
  );
  return { out, rowsPad };
}

/** Column splits so that rows x splits keeps the GPU busy. */
function splitsFor(formula: Formula, plan: FormulaPlan): Uint32Array {
  const rowGroups = Math.max(1, Math.ceil(formula.n / STREAM_WORKGROUP));
  return columnSplits(formula.m, plan.tile, Math.min(MAX_GROUPS, Math.ceil(TARGET_GROUPS / rowGroups)));
}

/** K @ V in WGSL. V shape: [m, T]; returns [n, T] (f64 sum of the splits' f32 partials). */
export function wgslMatmul(formula: Formula, V: Float64Array, T: number): Float64Array {
  const out = new Float64Array(formula.n * T);
  for (let c0 = 0; c0 < T; c0 += WGSL_MATMUL_RHS) {
    const t = Math.min(WGSL_MATMUL_RHS, T - c0);
    const w = columnBucket(t);
    const plan = planFormula(formula, w);
    const ranges = splitsFor(formula, plan);
    const { out: part, rowsPad } = stream(formula, plan, "matmul", ranges, w, [{ binding: 2, kind: "storage", data: padColumns(V, formula.m, t, w, c0, T) }]);
    for (let s = 0; s < ranges.length / 2; s++) {
      const base = s * rowsPad * w;
      for (let i = 0; i < formula.n; i++) for (let c = 0; c < t; c++) out[i * T + c0 + c] += part[base + i * w + c];
    }
  }
  return out;
}

/** Row sums over contiguous column blocks in WGSL. shape: [n, colStarts.length - 1] */
export function wgslColumnBlockSums(formula: Formula, colStarts: Int32Array): Float64Array {
  const bc = colStarts.length - 1;
  const out = new Float64Array(formula.n * bc);
  // The K @ V kernel with one column of ones, one column range per block: its pipeline is the T = 1 product's.
  const plan = planFormula(formula, 1);
  const ones = sharedF32(formula.m).fill(1);
  // One workgroup column per block (at most MAX_GROUPS blocks per dispatch).
  for (let b0 = 0; b0 < bc; b0 += MAX_GROUPS) {
    const count = Math.min(MAX_GROUPS, bc - b0);
    const ranges = new Uint32Array(new SharedArrayBuffer(8 * count));
    for (let c = 0; c < count; c++) (ranges[2 * c] = colStarts[b0 + c]), (ranges[2 * c + 1] = colStarts[b0 + c + 1]);
    const { out: part, rowsPad } = stream(formula, plan, "matmul", ranges, 1, [{ binding: 2, kind: "storage", data: ones }]);
    for (let c = 0; c < count; c++) for (let i = 0; i < formula.n; i++) out[i * bc + b0 + c] = part[c * rowsPad + i];
  }
  return out;
}

/**
 * Derivative accumulators (gradientLayout) of sum_ij M_ij k_ij in WGSL, M =
 * U W^T (U [n, T], W [m, T]) or dense [n, m]. Per-row f32 partials, summed
 * over rows and splits in f64 here.
 */
export function wgslBilinear(formula: Formula, weights: { kind: "dense"; M: Float64Array } | { kind: "lowRank"; U: Float64Array; W: Float64Array; T: number }): Float64Array {
  const size = gradientLayout(formula).size;
  const lowRank = weights.kind === "lowRank";
  const rank = lowRank ? columnBucket(weights.T) : 0;
  const plan = planFormula(formula, rank);
  const ranges = splitsFor(formula, plan);
  const extra: GpuBinding[] = lowRank
    ? [
        { binding: 2, kind: "storage", data: padColumns(weights.W, formula.m, weights.T, rank) },
        { binding: 7, kind: "storage", data: padColumns(weights.U, formula.n, weights.T, rank) },
      ]
    : [{ binding: 7, kind: "storage", data: sharedCopy(weights.M) }];
  const { out: part, rowsPad } = stream(formula, plan, lowRank ? "bilinearLowRank" : "bilinearDense", ranges, size, extra);
  const out = new Float64Array(size);
  for (let s = 0; s < ranges.length / 2; s++) {
    for (let i = 0; i < formula.n; i++) {
      const base = (s * rowsPad + i) * size;
      for (let q = 0; q < size; q++) out[q] += part[base + q];
    }
  }
  return out;
}

/** Rows of K in WGSL: OUT[a, j] = k(x_rowIdx[a], y_j). shape: [rowIdx.length, m] */
export function wgslRows(formula: Formula, rowIdx: Int32Array): Float64Array {
  const plan = planFormula(formula, 0);
  const { Y, yKey } = features(formula, plan);
  const out = new Float64Array(rowIdx.length * formula.m);
  const source = elementKernelWgsl(formula, plan, "rows");
  const columnGroups = Math.ceil(formula.m / ELEMENT_WORKGROUP);
  // At most MAX_GROUPS rows per dispatch, and an output below 2^26 values.
  const rowsPerJob = Math.max(1, Math.min(MAX_GROUPS, Math.floor(2 ** 26 / formula.m)));
  for (let a0 = 0; a0 < rowIdx.length; a0 += rowsPerJob) {
    const idx = rowIdx.subarray(a0, Math.min(rowIdx.length, a0 + rowsPerJob));
    const part = runGpuJobSync(
      {
        source,
        entryPoint: "main",
        bindings: [
          { binding: 0, kind: "storage", data: packFeatures(formula, plan, "x", idx, sharedF32) },
          { binding: 1, kind: "storage", data: Y, key: yKey },
          { binding: 3, kind: "output", length: idx.length * formula.m },
          { binding: 4, kind: "uniform", data: uniform({ n: idx.length, m: formula.m, rowsPad: 0, aux: 0 }) },
          { binding: 5, kind: "storage", data: sharedCopy(plan.params) },
        ],
        dispatch: [columnGroups, idx.length],
      },
      `rows of ${formula.name}`,
    );
    out.set(part, a0 * formula.m);
  }
  return out;
}

/** Entries k(x_rowIdx[p], y_colIdx[p]) in WGSL (the diagonal is rowIdx = colIdx = 0..n-1). */
export function wgslEntries(formula: Formula, rowIdx: Int32Array, colIdx: Int32Array): Float64Array {
  const plan = planFormula(formula, 0);
  const p = rowIdx.length;
  if (p === 0) return new Float64Array(0);
  const groups = Math.ceil(p / ELEMENT_WORKGROUP);
  const gx = Math.min(groups, MAX_GROUPS);
  const gy = Math.ceil(groups / gx);
  const part = runGpuJobSync(
    {
      source: elementKernelWgsl(formula, plan, "entries"),
      entryPoint: "main",
      bindings: [
        { binding: 0, kind: "storage", data: packFeatures(formula, plan, "x", rowIdx, sharedF32) },
        { binding: 1, kind: "storage", data: packFeatures(formula, plan, "y", colIdx, sharedF32) },
        { binding: 3, kind: "output", length: p },
        { binding: 4, kind: "uniform", data: uniform({ n: p, m: p, rowsPad: 0, aux: gx }) },
        { binding: 5, kind: "storage", data: sharedCopy(plan.params) },
      ],
      dispatch: [gx, gy],
    },
    `entries of ${formula.name}`,
  );
  return Float64Array.from(part);
}
