// Which reductions run in WebAssembly SIMD, and their fused-executor
// source. Every formula whose profiles the compiler reads (all built-in
// profiles and compositions, and user profiles written in the same small
// JavaScript language) and whose factors have at most MAX_KERNEL_DIMS
// features gets a kernel for every reduction; the rest run as generated
// JavaScript (the readable reference), and the reduction report says so.

import type { Formula } from "../formula";
import { KERNEL_COLUMN_MULTIPLE, type WasmKernelKind, formulaKernelModule, wasmUnsupportedReason } from "./formulaKernel";
import { formulaSource } from "./formulaRuntime";

/** Right-hand sides one K @ V kernel unrolls; more are done in chunks. */
export const WASM_MAX_RHS = 16;
/** Weight rank (probe vectors + 1) the gradient kernel unrolls; above it the pass runs as generated JavaScript. */
export const WASM_MAX_RANK = 64;
/** Rows per symmetric tile must be a multiple of this (the padded column multiple). */
export const SYMMETRIC_ROW_MULTIPLE = KERNEL_COLUMN_MULTIPLE;

let simdSupported: boolean | null = null;

/** The WebAssembly global (Node has it; TypeScript's ES2022 lib does not declare it). */
const wasmApi = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

const probeFormula: Formula = {
  name: "probe", n: 1, m: 1, terms: [{ coef: 1, factors: [0] }],
  factors: [{ statistic: "sqdist", dims: 1, x: new Float64Array(1), y: new Float64Array(1), params: new Float64Array(0), profile: { name: "probe", numParams: 0, prelude: () => "", value: (v) => `Math.exp(-${v.s})`, dValue: () => "0", dParams: () => [], tf: (_tf, s) => s } }],
};

/** Whether this Node's WebAssembly has the SIMD instructions the kernels use. */
export function wasmSimdSupported(): boolean {
  if (simdSupported === null) {
    try {
      simdSupported = wasmApi.validate(formulaKernelModule(probeFormula, "matmul", 1, 2, true));
    } catch {
      simdSupported = false;
    }
  }
  return simdSupported as boolean;
}

/** Whether this formula's reductions run in WebAssembly (GPLAB_FUSED_WASM=0 turns the kernels off). */
export function wasmFormulaEligible(formula: Formula): boolean {
  return process.env.GPLAB_FUSED_WASM !== "0" && wasmSimdSupported() && wasmUnsupportedReason(formula) === null;
}

/** Whether K @ V of this formula with `rhsCount` right-hand sides has a WebAssembly kernel. */
export function wasmMatmulEligible(formula: Formula, rhsCount: number): boolean {
  return rhsCount >= 1 && rhsCount <= WASM_MAX_RHS && wasmFormulaEligible(formula);
}

/** Whether the low-rank bilinear derivative of this formula has a WebAssembly kernel. */
export function wasmBilinearEligible(formula: Formula, rank: number): boolean {
  return rank >= 1 && rank <= WASM_MAX_RANK && wasmFormulaEligible(formula);
}

/** Fused-executor source for one reduction in WebAssembly, or null when it runs as generated JavaScript. */
export function wasmReductionSource(formula: Formula, kind: WasmKernelKind | "blockSums" | "bilinearDenseSymmetric", T: number): string | null {
  const eligible =
    kind === "matmul" || kind === "matmulSymmetric" ? wasmMatmulEligible(formula, T)
    : kind === "bilinearLowRank" || kind === "bilinearLowRankSymmetric" ? wasmBilinearEligible(formula, T)
    : wasmFormulaEligible(formula);
  return eligible ? formulaSource(formula, kind, T) : null;
}
