// Compiles a Formula into a tight JavaScript loop for one reduction kind.
// The generated function processes a range of rows [r0, r1) and is run both
// on the main thread and in worker threads (it is sent as source text), so it
// must be self-contained: everything it reads arrives in its argument `A`.
// Accumulation is in f64.

import { type Formula, gradientLayout, structureKey } from "./formula";
import { wasmFmaEnabled } from "./wasm/relaxedSimd";
import { wasmReductionSource } from "./wasm/wasmSource";

export type FusedKind =
  /** OUT[i, t] = sum_j k(x_i, y_j) V[j, t]. A: V [m, T], OUT [n, T] */
  | "matmul"
  /** The same for K(x, x), each pair evaluated once (WebAssembly kernels only). A: V, ACC [n, T] per thread */
  | "matmulSymmetric"
  /** OUT[a, j] = k(x_{RI[a]}, y_j). A: RI [a], OUT [a, m] */
  | "block"
  /** OUT[i, c] = sum_{CS[c] <= j < CS[c+1]} k(x_i, y_j): K @ (column-block indicators). A: CS [bc + 1], BC, OUT [n, bc] */
  | "blockSums"
  /** OUT[p] = k(x_{RI[p]}, y_{CI[p]}). A: RI, CI, OUT [p] */
  | "entries"
  /** ACC += sum_ij (U_i . W_j) dk_ij/dtheta. A: U [n, T], W [m, T], ACC [layout.size] */
  | "bilinearLowRank"
  /** The same for K(x, x), each unordered pair once (WebAssembly kernels only). A: U, W, T, SYMMETRIC, ACC */
  | "bilinearLowRankSymmetric"
  /** ACC += sum_ij M_ij dk_ij/dtheta. A: M [n, m], ACC [layout.size] */
  | "bilinearDense"
  /** The same for K(x, x), each unordered pair once with weight M_ij + M_ji (WebAssembly kernels only). A: M, ACC */
  | "bilinearDenseSymmetric"
  /**
   * bilinearDense, and each row's feature gradient from the same pass (WebAssembly kernels only;
   * the reference is the derivative formula's rows, kernels/inputGradient.ts). A: M, ACC, RG [n, rowGradientLayout.width]
   */
  | "bilinearDenseRowGradient";

const UNROLL_DIMS = 16;
const UNROLL_RHS = 16;

export interface GeneratedSource {
  key: string;
  source: string;
  /** "wasm-simd" for the WebAssembly kernels, "js" for generated JavaScript loops. */
  code: "wasm-simd" | "js";
}

/** Source of `function (r0, r1, A)`, cached by structure, kind and rhs count. */
export function generateFused(formula: Formula, kind: FusedKind, rhsCount: number): GeneratedSource {
  const isMatmul = kind === "matmul" || kind === "matmulSymmetric";
  const isBilinear = kind === "bilinearLowRank" || kind === "bilinearLowRankSymmetric";
  const unrollT = isMatmul && rhsCount <= UNROLL_RHS ? rhsCount : 0;
  const wasmKey = process.env.GPLAB_FUSED_WASM === "0" ? "js" : wasmFmaEnabled() ? "fma" : "auto";
  // The bilinear WebAssembly kernel bakes the weight rank in, so it is part of the key.
  const key = `${kind}|${isBilinear ? rhsCount : unrollT}|${wasmKey}|${structureKey(formula)}`;
  const cached = sourceCache.get(key);
  if (cached) return cached;
  // Every reduction of a formula the WebAssembly compiler reads runs in SIMD; the rest is generated JS.
  const wasmKind = kind === "block" ? "rows" : kind;
  const wasm = isMatmul && !unrollT ? null : wasmReductionSource(formula, wasmKind, isMatmul ? unrollT : rhsCount);
  if (kind === "matmulSymmetric" && !wasm) throw new Error("symmetric K @ V needs the WebAssembly kernel; use kind matmul");
  if (kind === "bilinearLowRankSymmetric" && !wasm) throw new Error("the symmetric bilinear pass needs the WebAssembly kernel; use kind bilinearLowRank");
  if (kind === "bilinearDenseSymmetric" && !wasm) throw new Error("the symmetric dense bilinear pass needs the WebAssembly kernel; use kind bilinearDense");
  if (kind === "bilinearDenseRowGradient" && !wasm) throw new Error("the fused row-gradient pass needs the WebAssembly kernel; use kind bilinearDense and the derivative formula's rows");
  const gen: GeneratedSource = wasm ? { key, source: wasm, code: "wasm-simd" } : { key, source: buildSource(formula, kind, unrollT), code: "js" };
  sourceCache.set(key, gen);
  return gen;
}

const sourceCache = new Map<string, GeneratedSource>();

function buildSource(formula: Formula, kind: FusedKind, unrollT: number): string {
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  const factors = formula.factors;
  const terms = formula.terms;

  // Parameter locals, in packParams order.
  emit("const P = A.P, m = A.m;");
  let off = 0;
  terms.forEach((_, t) => emit(`const c${t} = P[${off++}];`));
  const paramNames: string[][] = factors.map((f, fi) => {
    const names: string[] = [];
    for (let q = 0; q < f.profile.numParams; q++) {
      names.push(`p${fi}_${q}`);
      emit(`const p${fi}_${q} = P[${off++}];`);
    }
    return names;
  });
  const weightOffset: number[] = factors.map((f) => {
    if (f.statistic !== "sinsq") return -1;
    const start = off;
    off += f.dims;
    return start;
  });
  factors.forEach((f, fi) => {
    emit(`const X${fi} = A.X${fi}, Y${fi} = A.Y${fi};`);
    if (f.statistic === "table") emit(`const TB${fi} = A.TB${fi};`);
    if (f.statistic === "sinsq") {
      for (let k = 0; k < f.dims && f.dims <= UNROLL_DIMS; k++) emit(`const w${fi}_${k} = P[${weightOffset[fi] + k}];`);
    }
  });

  const rowHoist = (): string[] =>
    factors.flatMap((f, fi) => {
      if (f.statistic === "table") return [`const ti${fi} = (X${fi}[i] | 0) * ${f.tableSize};`];
      const out = [`const xb${fi} = i * ${f.dims};`];
      if (f.dims <= UNROLL_DIMS) for (let k = 0; k < f.dims; k++) out.push(`const x${fi}_${k} = X${fi}[xb${fi} + ${k}];`);
      return out;
    });

  const pairValue = (): string[] => {
    const out: string[] = [];
    factors.forEach((f, fi) => {
      const D = f.dims;
      if (f.statistic === "table") {
        out.push(`const s${fi} = TB${fi}[ti${fi} + (Y${fi}[j] | 0)];`);
      } else {
        out.push(`const yb${fi} = j * ${D};`);
        if (D <= UNROLL_DIMS) {
          const parts: string[] = [];
          for (let k = 0; k < D; k++) {
            const x = `x${fi}_${k}`, y = `Y${fi}[yb${fi} + ${k}]`;
            if (f.statistic === "dot") parts.push(`${x} * ${y}`);
            else {
              out.push(`const d${fi}_${k} = ${x} - ${y};`);
              if (f.statistic === "sqdist") parts.push(`d${fi}_${k} * d${fi}_${k}`);
              else {
                out.push(`const sn${fi}_${k} = Math.sin(d${fi}_${k});`);
                parts.push(`w${fi}_${k} * sn${fi}_${k} * sn${fi}_${k}`);
              }
            }
          }
          out.push(`const s${fi} = ${parts.join(" + ") || "0"};`);
        } else {
          out.push(`let s${fi} = 0;`);
          out.push(`for (let k = 0; k < ${D}; k++) {`);
          if (f.statistic === "dot") out.push(`  s${fi} += X${fi}[xb${fi} + k] * Y${fi}[yb${fi} + k];`);
          else {
            out.push(`  const d = X${fi}[xb${fi} + k] - Y${fi}[yb${fi} + k];`);
            if (f.statistic === "sqdist") out.push(`  s${fi} += d * d;`);
            else out.push(`  const sn = Math.sin(d); s${fi} += P[${weightOffset[fi]} + k] * sn * sn;`);
          }
          out.push("}");
        }
      }
      const v = { s: `s${fi}`, p: paramNames[fi], tmp: `q${fi}_` };
      const prelude = f.profile.prelude(v);
      if (prelude) out.push(prelude);
      out.push(`const k${fi} = ${f.profile.value(v)};`);
    });
    terms.forEach((t, ti) => out.push(`const t${ti} = ${t.factors.map((fi) => `k${fi}`).join(" * ") || "1"};`));
    out.push(`const kij = ${terms.map((_, ti) => `c${ti} * t${ti}`).join(" + ") || "0"};`);
    return out;
  };

  const gradientAccumulate = (weight: string): string[] => {
    const layout = gradientLayout(formula);
    const out: string[] = [`if (${weight} !== 0) {`];
    terms.forEach((_, ti) => out.push(`ACC[${layout.termOffset[ti]}] += ${weight} * t${ti};`));
    factors.forEach((f, fi) => {
      const slots = layout.factorSlots[fi];
      // g = weight * d k / d k_f: the sum over terms containing f of c_t * (product of the other factors).
      const others = terms
        .map((t, ti) => (t.factors.includes(fi) ? `c${ti} * ${t.factors.filter((g) => g !== fi).map((g) => `k${g}`).join(" * ") || "1"}` : null))
        .filter((s): s is string => s !== null);
      if (others.length === 0) return;
      out.push(`{ const g = ${weight} * (${others.join(" + ")});`);
      const v = { s: `s${fi}`, p: paramNames[fi], tmp: `q${fi}_` };
      if (slots.perDim >= 0) {
        out.push(`const gd = g * ${f.profile.dValue(v)};`);
        out.push(`for (let k = 0; k < ${f.dims}; k++) {`);
        out.push(`  const d = X${fi}[xb${fi} + k] - Y${fi}[yb${fi} + k];`);
        if (f.statistic === "sqdist") out.push(`  ACC[${slots.perDim} + k] += gd * d * d;`);
        else {
          out.push(`  const sn = Math.sin(d);`);
          out.push(`  ACC[${slots.perDim} + k] += gd * P[${weightOffset[fi]} + k] * Math.sin(2 * d) * d;`);
          out.push(`  ACC[${slots.perDimWeight} + k] += gd * sn * sn;`);
        }
        out.push("}");
      }
      f.profile.dParams(v).forEach((expr, q) => out.push(`ACC[${slots.params + q}] += g * ${expr};`));
      if (slots.table >= 0) out.push(`ACC[${slots.table} + ti${fi} + (Y${fi}[j] | 0)] += g;`);
      out.push("}");
    });
    out.push("}");
    return out;
  };

  switch (kind) {
    case "matmul": {
      emit("const V = A.V, OUT = A.OUT, T = A.T;");
      if (!unrollT) emit("const R = new Float64Array(T);");
      emit("for (let i = r0; i < r1; i++) {");
      rowHoist().forEach(emit);
      if (unrollT) emit(`let ${Array.from({ length: unrollT }, (_, t) => `a${t} = 0`).join(", ")};`);
      else emit("R.fill(0);");
      emit("for (let j = 0; j < m; j++) {");
      pairValue().forEach(emit);
      if (unrollT) {
        emit(`const vb = j * ${unrollT};`);
        for (let t = 0; t < unrollT; t++) emit(`a${t} += kij * V[vb + ${t}];`);
      } else emit("const vb = j * T; for (let t = 0; t < T; t++) R[t] += kij * V[vb + t];");
      emit("}");
      if (unrollT) for (let t = 0; t < unrollT; t++) emit(`OUT[i * ${unrollT} + ${t}] = a${t};`);
      else emit("for (let t = 0; t < T; t++) OUT[i * T + t] = R[t];");
      emit("}");
      break;
    }
    case "block":
      emit("const RI = A.RI, OUT = A.OUT;");
      emit("for (let a = r0; a < r1; a++) { const i = RI[a];");
      rowHoist().forEach(emit);
      emit("for (let j = 0; j < m; j++) {");
      pairValue().forEach(emit);
      emit("OUT[a * m + j] = kij; } }");
      break;
    case "blockSums":
      emit("const CS = A.CS, BC = A.BC, OUT = A.OUT;");
      emit("for (let i = r0; i < r1; i++) {");
      rowHoist().forEach(emit);
      emit("for (let c = 0; c < BC; c++) { let acc = 0; const end = CS[c + 1];");
      emit("for (let j = CS[c]; j < end; j++) {");
      pairValue().forEach(emit);
      emit("acc += kij; }");
      emit("OUT[i * BC + c] = acc; } }");
      break;
    case "entries":
      emit("const RI = A.RI, CI = A.CI, OUT = A.OUT;");
      emit("for (let p = r0; p < r1; p++) { const i = RI[p], j = CI[p];");
      rowHoist().forEach(emit);
      pairValue().forEach(emit);
      emit("OUT[p] = kij; }");
      break;
    case "bilinearLowRank":
      emit("const U = A.U, W = A.W, T = A.T, ACC = A.ACC;");
      emit("for (let i = r0; i < r1; i++) {");
      rowHoist().forEach(emit);
      emit("const ub = i * T;");
      emit("for (let j = 0; j < m; j++) {");
      emit("let mij = 0; const wb = j * T; for (let t = 0; t < T; t++) mij += U[ub + t] * W[wb + t];");
      pairValue().forEach(emit);
      gradientAccumulate("mij").forEach(emit);
      emit("} }");
      break;
    case "bilinearDense":
      emit("const M = A.M, ACC = A.ACC;");
      emit("for (let i = r0; i < r1; i++) {");
      rowHoist().forEach(emit);
      emit("for (let j = 0; j < m; j++) {");
      emit("const mij = M[i * m + j];");
      pairValue().forEach(emit);
      gradientAccumulate("mij").forEach(emit);
      emit("} }");
      break;
  }
  return `return function fused(r0, r1, A) {\n${lines.join("\n")}\n};`;
}

/** A compiled tile function; `finish` (if any) runs once per thread at the end of a job. */
export type FusedFunction = ((r0: number, r1: number, A: Record<string, unknown>) => void) & {
  finish?: (A: Record<string, unknown>) => void;
};

const compiled = new Map<string, FusedFunction>();

/** Compiles (once per key) a generated source into a callable. */
export function compileFused(gen: GeneratedSource): FusedFunction {
  let fn = compiled.get(gen.key);
  if (!fn) {
    fn = new Function(gen.source)() as FusedFunction;
    compiled.set(gen.key, fn);
  }
  return fn;
}
