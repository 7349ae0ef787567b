// The formula compiler's WebAssembly SIMD target: one module per (formula
// structure, reduction kind, right-hand sides). Any sum of products of
// factors — statistics sqdist, dot, sinsq, table; profiles read from their
// JavaScript expressions (profileExpression.ts) — evaluated two columns per
// f64x2, `chains` independent pairs of columns per loop step so that one
// chain's exp / log polynomial overlaps another's. f64 throughout.
//
// The module exports run(desc): every address and size comes from a small
// i32 descriptor in memory (DESC below), written by the runtime
// (formulaRuntime.ts) before each call. Layouts (all f64):
//   Y side, per factor: Y^T [dims, stride] (columns padded by repeating the
//     last one, so padded pairs stay finite); sinsq also sin(y)^T, cos(y)^T
//     (value kernels: of 2y)
//     [2 * dims, stride]; table: the table [size, size].
//   X side, row mode: rows [rows, dims] (+ sinsq: [rows, 2 * dims] sin | cos).
//   X side, column mode (entries): X^T like Y^T, paired lane by lane.
//   P: packParams(formula) (term coefficients, profile params, sinsq weights,
//     proportional distances' ratios^2).
// sinsq needs no sine in the pair loop: with both sides' sines and cosines
// precomputed, value kernels read w sin^2(x - y) as w/2 - (w/2) (cos 2x cos 2y
// + sin 2x sin 2y) (aux features of 2x), gradient kernels sin(x - y) =
// sin x cos y - cos x sin y (aux features of x).

import type { Formula, GradientLayout } from "../formula";
import { gradientLayout, proportionalDistances, rowGradientLayout } from "../formula";
import { Code, F64, I32, Simd, V128, buildModule } from "./binary";
import { type Expr, ExpressionEmitter, PROFILE_S, type ParsedProfile, fold, hoistInvariants, isInvariant, parseProfile, profileParam, signOf, splitExponential } from "./profileExpression";
import { emitExp } from "./vectorMath";

/** The reductions a module can compute. */
export type WasmKernelKind =
  /** OUT[i, t] += sum_j k_ij V^T[t, j] over the column range. */
  | "matmul"
  /** The same, plus CT[t, j] += k_ij V^T[t, rowGlobal + i] (K(x, x): the pair's mirror image). */
  | "matmulSymmetric"
  /** OUT[i, j] = k_ij, row stride `stride`. */
  | "rows"
  /** OUT[p] = k(x_p, y_p): X and Y both gathered as columns. */
  | "entries"
  /** ACC += sum_ij (U_i . W_j) dk_ij / dtheta. */
  | "bilinearLowRank"
  /** The same with weight U_i . W_j + W_i . U_j (each unordered pair once). */
  | "bilinearLowRankSymmetric"
  /** ACC += sum_ij M_ij dk_ij / dtheta, M rows [rows, stride]. */
  | "bilinearDense"
  /**
   * bilinearDense, and from the same pairs each row's feature gradient
   * OUT[i, c] += sum_j M_ij dk_ij / du_i[c] (columns: rowGradientLayout): the
   * hyperparameter and input gradients of one weighted sum in one pass.
   */
  | "bilinearDenseRowGradient";

/** i32 slots of the descriptor. */
export const DESC = {
  rows: 0,
  /** Column range, in bytes from column 0. */
  colStart: 1,
  colEnd: 2,
  /** Elements between rows of every column-major array. */
  stride: 3,
  pOff: 4,
  outOff: 5,
  /** V^T (matmul) or W^T (bilinear) [T, stride]. */
  vOff: 6,
  /** CT [T, stride] (symmetric matmul) or U^T [T, stride] (symmetric bilinear). */
  ctOff: 7,
  /** Global index of the first row (symmetric matmul reads V^T[t, rowGlobal + i]). */
  rowGlobal: 8,
  /** U rows [rows, T] (low-rank) or M rows [rows, stride] (dense). */
  uRowOff: 9,
  /** W rows [rows, T] (symmetric low-rank). */
  wRowOff: 10,
  /** Gradient accumulators [layout.size], added to. */
  accOff: 11,
  /** Per factor f: four slots from factorBase(f): x, y, x aux, y aux (table: the table). */
  factors: 16,
} as const;
export const factorSlot = (f: number, which: 0 | 1 | 2 | 3) => DESC.factors + 4 * f + which;
export const descSlots = (factorCount: number) => DESC.factors + 4 * factorCount;

/** Largest feature width a factor may have (features are unrolled). */
export const MAX_KERNEL_DIMS = 32;
/** Columns every runtime pads to (and column ranges are multiples of); where 2 * chains does not divide it, a one-chain loop takes the rest. */
export const KERNEL_COLUMN_MULTIPLE = 16;

/** Why a formula has no WebAssembly kernel, or null when it has one. */
export function wasmUnsupportedReason(formula: Formula): string | null {
  for (const f of formula.factors) {
    if (!["sqdist", "dot", "sinsq", "table"].includes(f.statistic)) return `statistic ${f.statistic} has no WebAssembly form`;
    if (f.dims > MAX_KERNEL_DIMS) return `a factor has ${f.dims} feature dimensions (the WebAssembly kernels unroll at most ${MAX_KERNEL_DIMS})`;
    if (!parseProfile(f.profile)) return `profile ${f.profile.name}'s JavaScript uses something the WebAssembly compiler does not read`;
  }
  return null;
}

interface PairLocals {
  s: number[];
  /** Gradients only, per factor and dimension: (x_k - y_k)^2 for sqdist, x_k - y_k for sinsq. */
  du: number[][];
  /** Row-gradient kernels, sqdist: x_k - y_k per factor and dimension (a follower: its leader's). */
  diff: number[][];
  /** sin(du), cos(du) per sinsq dimension (gradients only). */
  sn: number[][];
  cs: number[][];
  kf: number[];
  dk: number[];
  dp: number[][];
  tt: number[];
  kij: number;
  /** Factors of a merged product: their non-exponential part (-1: none) and exponent locals. */
  expFactor: number[];
  exponent: number[];
  /** i32 byte offsets of the table entry per lane (table factors, gradients only). */
  tableIdx: number[][];
}

/** The module for one formula structure and reduction. `T` is the number of right-hand sides / the weight rank. */
export function formulaKernelModule(formula: Formula, kind: WasmKernelKind, T: number, chains: number, coefOutside: boolean, fma = false): Uint8Array {
  const factors = formula.factors;
  const parsedProfiles = factors.map((f) => {
    const p = parseProfile(f.profile) as ParsedProfile;
    if (!p) throw new Error(`profile ${f.profile.name} has no WebAssembly form`);
    return p;
  });
  const gradient = kind === "bilinearLowRank" || kind === "bilinearLowRankSymmetric" || kind === "bilinearDense" || kind === "bilinearDenseRowGradient";
  const denseWeights = kind === "bilinearDense" || kind === "bilinearDenseRowGradient";
  const rowGradient = kind === "bilinearDenseRowGradient";
  const rowLayout = rowGradientLayout(formula);
  const symmetric = kind === "matmulSymmetric" || kind === "bilinearLowRankSymmetric";
  const columnMode = kind === "entries";
  const layout: GradientLayout = gradientLayout(formula);

  // Locals in allocation order; runs of one type become the declaration groups.
  const types: number[] = [];
  const PARAMS = 1;
  const local = (type: number) => {
    types.push(type);
    return PARAMS + types.length - 1;
  };
  const i32 = () => local(I32);
  const v128 = () => local(V128);
  const c = new Code(fma);
  const expr = new ExpressionEmitter(c, v128);
  const desc = 0;
  const loadDesc = (slot: number) => {
    const l = i32();
    c.localGet(desc).i32LoadAt(slot * 4).localSet(l);
    return l;
  };

  const rows = loadDesc(DESC.rows), colStart = loadDesc(DESC.colStart), colEnd = loadDesc(DESC.colEnd);
  const strideBytes = i32();
  c.localGet(desc).i32LoadAt(DESC.stride * 4).i32Const(8).i32Mul().localSet(strideBytes);
  const pOff = loadDesc(DESC.pOff);
  // Parameters, broadcast: term coefficients, profile params, sinsq weights (packParams order).
  let pIndex = 0;
  const splatParam = () => {
    const l = v128();
    c.localGet(pOff).f64LoadAt(8 * pIndex++).f64x2Splat().localSet(l);
    return l;
  };
  const coefs = formula.terms.map(() => splatParam());
  const params = factors.map((f) => Array.from({ length: f.profile.numParams }, () => splatParam()));
  const weights = factors.map((f) => (f.statistic === "sinsq" ? Array.from({ length: f.dims }, () => splatParam()) : []));
  // A sqdist factor proportional to an earlier one (one lengthscale each, same inputs) takes
  // s = ratio^2 s_leader: one product instead of a distance. Gradient kernels read the
  // leader's du_k^2 too, and scale g dk/ds by ratio^2 once (its du_k^2 = ratio^2 du_k,leader^2).
  const distances = proportionalDistances(formula);
  const distRatio2 = factors.map((_, fi) => (distances.leader[fi] >= 0 ? splatParam() : -1));
  const distLeader = distances.leader;
  // Value kernels read sinsq as w/2 - (w/2) cos(2x - 2y) (see emitPair): the weights halved, and their sum, once per call.
  const weightSum = factors.map((f, fi) => {
    if (gradient || f.statistic !== "sinsq") return -1;
    const sum = v128();
    weights[fi].forEach((l, k) => {
      c.localGet(l).f64x2Const(0.5).simd(Simd.f64x2Mul).localTee(l);
      if (k > 0) c.simd(Simd.f64x2Add);
    });
    c.localSet(sum);
    return sum;
  });
  // Profiles: parts that depend only on parameters (2 alpha, 1 / (2 alpha)) are computed here, once per call.
  const profilesReady = parsedProfiles.map((p, fi) => {
    const names = new Map<string, number>();
    params[fi].forEach((l, q) => names.set(profileParam(q), l));
    const varying = new Set([PROFILE_S]);
    const nonNegative = new Set(factors[fi].statistic === "sqdist" ? [PROFILE_S] : []);
    let hoisted = 0;
    const hoist = (e: Expr) => {
      const name = `H${hoisted++}`;
      names.set(name, expr.toLocal(e, names));
      return name;
    };
    const prepare = (e: Expr) => hoistInvariants(fold(e), varying, hoist);
    const bindings: { name: string; value: Expr }[] = [];
    for (const b of p.bindings) {
      const value = fold(b.value);
      if (signOf(value, nonNegative) === "nonNegative") nonNegative.add(b.name);
      if (isInvariant(value, varying)) names.set(b.name, expr.toLocal(value, names));
      else {
        bindings.push({ name: b.name, value: prepare(value) });
        varying.add(b.name);
      }
    }
    return {
      names, nonNegative, bindings,
      value: prepare(p.value),
      dValue: gradient ? prepare(p.dValue) : p.dValue,
      dParams: gradient ? p.dParams.map(prepare) : [],
    };
  });

  // Products of exponential factors (RBF * Periodic, RBF * Matern): one exp
  // per pair, exp(a) exp(b) = exp(a + b), in value kernels (the gradient
  // needs each factor's value). A factor takes part when its term is the only
  // one that reads it.
  const split = factors.map((_, fi) => {
    if (gradient) return null;
    const terms = formula.terms.filter((t) => t.factors.includes(fi));
    if (terms.length !== 1 || terms[0].factors.length < 2) return null;
    return splitExponential(profilesReady[fi].bindings, profilesReady[fi].value);
  });
  const mergedTerm = formula.terms.map((t) => t.factors.filter((fi) => split[fi]).length >= 2);
  const merged = factors.map((_, fi) => split[fi] !== null && formula.terms.some((t, ti) => mergedTerm[ti] && t.factors.includes(fi)));

  // Column bases: Y^T rows (and sin / cos rows) per factor and dimension, stepping with j8.
  const colBase = (ptr: number, row: number) => {
    const l = i32();
    c.localGet(ptr).localGet(strideBytes).i32Const(row).i32Mul().i32Add().localSet(l);
    return l;
  };
  const yPtr = factors.map((_, f) => loadDesc(factorSlot(f, 1)));
  const yAuxPtr = factors.map((_, f) => loadDesc(factorSlot(f, 3)));
  const yCol = factors.map((f, fi) => (f.statistic === "table" ? [colBase(yPtr[fi], 0)] : Array.from({ length: f.dims }, (_, k) => colBase(yPtr[fi], k))));
  const ySin = factors.map((f, fi) => (f.statistic === "sinsq" ? Array.from({ length: f.dims }, (_, k) => colBase(yAuxPtr[fi], k)) : []));
  const yCos = factors.map((f, fi) => (f.statistic === "sinsq" ? Array.from({ length: f.dims }, (_, k) => colBase(yAuxPtr[fi], f.dims + k)) : []));
  const tablePtr = factors.map((f, fi) => (f.statistic === "table" ? yAuxPtr[fi] : -1));
  const xPtr = factors.map((_, f) => loadDesc(factorSlot(f, 0)));
  const xAuxPtr = factors.map((_, f) => loadDesc(factorSlot(f, 2)));
  // Column mode: X^T columns like Y's.
  const xCol = columnMode ? factors.map((f, fi) => Array.from({ length: f.statistic === "table" ? 1 : f.dims }, (_, k) => colBase(xPtr[fi], k))) : [];
  const xSinCol = columnMode ? factors.map((f, fi) => (f.statistic === "sinsq" ? Array.from({ length: f.dims }, (_, k) => colBase(xAuxPtr[fi], k)) : [])) : [];
  const xCosCol = columnMode ? factors.map((f, fi) => (f.statistic === "sinsq" ? Array.from({ length: f.dims }, (_, k) => colBase(xAuxPtr[fi], f.dims + k)) : [])) : [];
  // Row mode: the row's features broadcast.
  const xk = factors.map((f) => (columnMode ? [] : Array.from({ length: f.statistic === "table" ? 1 : f.dims }, () => v128())));
  const xSin = factors.map((f) => (!columnMode && f.statistic === "sinsq" ? Array.from({ length: f.dims }, () => v128()) : []));
  const xCos = factors.map((f) => (!columnMode && f.statistic === "sinsq" ? Array.from({ length: f.dims }, () => v128()) : []));

  const outOff = loadDesc(DESC.outOff);
  const vOff = kind === "matmul" || kind === "matmulSymmetric" || kind === "bilinearLowRank" || kind === "bilinearLowRankSymmetric" ? loadDesc(DESC.vOff) : -1;
  const vCol = vOff >= 0 ? Array.from({ length: T }, (_, t) => colBase(vOff, t)) : [];
  const ctOff = symmetric ? loadDesc(DESC.ctOff) : -1;
  const ctCol = symmetric ? Array.from({ length: T }, (_, t) => colBase(ctOff, t)) : [];
  const rowGlobal = kind === "matmulSymmetric" ? loadDesc(DESC.rowGlobal) : -1;
  const uRowOff = gradient ? loadDesc(DESC.uRowOff) : -1;
  const wRowOff = kind === "bilinearLowRankSymmetric" ? loadDesc(DESC.wRowOff) : -1;
  const accOff = gradient ? loadDesc(DESC.accOff) : -1;

  const iRow = i32(), j8 = i32(), addr = i32();
  // Row-gradient kernels: per factor with columns (rowGradientLayout), one accumulator per feature.
  const rowAcc = factors.map((f, fi) => (rowGradient && rowLayout.offset[fi] >= 0 ? Array.from({ length: f.dims }, () => v128()) : []));
  const acc = kind === "matmul" || kind === "matmulSymmetric" ? Array.from({ length: T }, () => v128()) : [];
  const vi = kind === "matmulSymmetric" ? Array.from({ length: T }, () => v128()) : [];
  const ui = kind === "bilinearLowRank" || kind === "bilinearLowRankSymmetric" ? Array.from({ length: T }, () => v128()) : [];
  const wi = kind === "bilinearLowRankSymmetric" ? Array.from({ length: T }, () => v128()) : [];
  // Gradient slots held in registers (table slots are scattered to memory instead).
  const slotLocal = new Map<number, number>();
  if (gradient) {
    const registerSlot = (slot: number) => {
      const l = v128();
      c.f64x2Const(0).localSet(l);
      slotLocal.set(slot, l);
    };
    layout.termOffset.forEach(registerSlot);
    factors.forEach((f, fi) => {
      const s = layout.factorSlots[fi];
      if (s.perDim >= 0) for (let k = 0; k < f.dims; k++) registerSlot(s.perDim + k);
      if (s.perDimWeight >= 0) for (let k = 0; k < f.dims; k++) registerSlot(s.perDimWeight + k);
      if (s.params >= 0) for (let q = 0; q < f.profile.numParams; q++) registerSlot(s.params + q);
    });
  }
  /**
   * slot += a * b, a and b pushed by pushFactors. Not fused: with relaxed_madd
   * here RBF * Periodic's gradient pass ran 0.76x, the others at most 1.03x
   * (bench/README, 2026-12-03).
   */
  const addTo = (slot: number, pushFactors: () => void) => {
    const l = slotLocal.get(slot) as number;
    c.localGet(l);
    pushFactors();
    c.simd(Simd.f64x2Mul).simd(Simd.f64x2Add).localSet(l);
  };

  /** Pushes a column vector: base pointer + j8, chain offset as the load's immediate. */
  const column = (base: number, chain: number) => c.localGet(base).localGet(j8).i32Add().v128LoadOffset(16 * chain);
  const xOperand = (fi: number, k: number, chain: number) => (columnMode ? column(xCol[fi][k], chain) : c.localGet(xk[fi][k]));
  const xSinOperand = (fi: number, k: number, chain: number) => (columnMode ? column(xSinCol[fi][k], chain) : c.localGet(xSin[fi][k]));
  const xCosOperand = (fi: number, k: number, chain: number) => (columnMode ? column(xCosCol[fi][k], chain) : c.localGet(xCos[fi][k]));

  /** k_ij (and with gradients: the pieces the accumulators need) for the two columns of `chain`. */
  const emitPair = (chain: number): PairLocals => {
    const L: PairLocals = { s: [], du: [], diff: [], sn: [], cs: [], kf: [], dk: [], dp: [], tt: [], kij: -1, expFactor: [], exponent: [], tableIdx: [] };
    factors.forEach((f, fi) => {
      const s = v128();
      L.s.push(s);
      L.du.push([]);
      L.diff.push([]);
      L.sn.push([]);
      L.cs.push([]);
      L.tableIdx.push([]);
      if (f.statistic === "table") {
        // Gather: lane by lane, table[x * size + y].
        const size = f.tableSize as number;
        const x = v128(), y = v128();
        xOperand(fi, 0, chain);
        c.localSet(x);
        column(yCol[fi][0], chain);
        c.localSet(y);
        c.f64x2Const(0);
        for (let lane = 0; lane < 2; lane++) {
          const idx = i32();
          c.localGet(x).simd(Simd.f64x2ExtractLane, lane).i32TruncF64S().i32Const(size).i32Mul();
          c.localGet(y).simd(Simd.f64x2ExtractLane, lane).i32TruncF64S().i32Add().i32Const(3).i32Shl().localTee(idx);
          c.localGet(tablePtr[fi]).i32Add().f64LoadAt(0).simd(Simd.f64x2ReplaceLane, lane);
          L.tableIdx[fi].push(idx);
        }
        c.localSet(s);
      } else if (distLeader[fi] >= 0) {
        c.localGet(L.s[distLeader[fi]]).localGet(distRatio2[fi]).simd(Simd.f64x2Mul).localSet(s);
        if (gradient) L.du[fi] = L.du[distLeader[fi]];
        if (rowGradient) L.diff[fi] = L.diff[distLeader[fi]];
      } else {
        const scratchDu = v128();
        const halfAngle = f.statistic === "sinsq" && !gradient;
        if (halfAngle) c.localGet(weightSum[fi]);
        for (let k = 0; k < f.dims; k++) {
          if (f.statistic === "dot") {
            xOperand(fi, k, chain);
            column(yCol[fi][k], chain);
            // s += x_k y_k (fused with fma; the partial sum lives in s between dimensions)
            if (k > 0) c.mulAdd(() => c.localGet(s)).localSet(s);
            else c.simd(Simd.f64x2Mul).localSet(s);
            continue;
          } else if (f.statistic === "sqdist" && gradient) {
            // The squares are kept: s is their sum, and the per-dimension accumulators
            // take g dk/ds du_k^2 from them (one product fewer per dimension than from du).
            const sq = v128();
            L.du[fi].push(sq);
            // (the row gradient keeps the difference itself too)
            const diff = rowGradient ? v128() : scratchDu;
            if (rowGradient) L.diff[fi].push(diff);
            xOperand(fi, k, chain);
            column(yCol[fi][k], chain);
            c.simd(Simd.f64x2Sub).localTee(diff).localGet(diff).simd(Simd.f64x2Mul).localTee(sq);
            if (k > 0) c.localGet(s).simd(Simd.f64x2Add);
            c.localSet(s);
            continue;
          } else if (f.statistic === "sqdist") {
            xOperand(fi, k, chain);
            column(yCol[fi][k], chain);
            c.simd(Simd.f64x2Sub).localTee(scratchDu).localGet(scratchDu);
            if (k > 0) c.mulAdd(() => c.localGet(s)).localSet(s);
            else c.simd(Simd.f64x2Mul).localSet(s);
            continue;
          } else if (halfAngle) {
            // w sin^2(x - y) = w/2 - (w/2) (cos 2x cos 2y + sin 2x sin 2y): the aux features hold
            // sin 2x, cos 2x, and rows come in already times w/2, so a dimension costs two products.
            xSinOperand(fi, k, chain);
            column(ySin[fi][k], chain);
            c.mulAdd(() => {
              xCosOperand(fi, k, chain);
              column(yCos[fi][k], chain);
              c.simd(Simd.f64x2Mul);
            });
            if (columnMode) c.localGet(weights[fi][k]).simd(Simd.f64x2Mul);
          } else {
            // sin(x - y) from the precomputed sines and cosines.
            const sn = v128();
            L.sn[fi].push(sn);
            xSinOperand(fi, k, chain);
            column(yCos[fi][k], chain);
            c.simd(Simd.f64x2Mul);
            xCosOperand(fi, k, chain);
            column(ySin[fi][k], chain);
            c.simd(Simd.f64x2Mul).simd(Simd.f64x2Sub).localSet(sn);
            if (gradient) {
              const cs = v128(), du = v128();
              xCosOperand(fi, k, chain);
              column(yCos[fi][k], chain);
              c.simd(Simd.f64x2Mul);
              xSinOperand(fi, k, chain);
              column(ySin[fi][k], chain);
              c.simd(Simd.f64x2Mul).simd(Simd.f64x2Add).localSet(cs);
              xOperand(fi, k, chain);
              column(yCol[fi][k], chain);
              c.simd(Simd.f64x2Sub).localSet(du);
              L.cs[fi].push(cs);
              L.du[fi].push(du);
            }
            c.localGet(weights[fi][k]).localGet(sn).simd(Simd.f64x2Mul).localGet(sn).simd(Simd.f64x2Mul);
          }
          if (k > 0) c.simd(Simd.f64x2Add);
        }
        if (halfAngle) c.simd(Simd.f64x2Sub);
        // (dot and sqdist left their sum in s already)
        if (f.statistic === "sinsq") c.localSet(s);
      }
      // The profile: bindings, then k (and dk/ds, dk/dp).
      const ready = profilesReady[fi];
      const names = new Map<string, number>(ready.names);
      names.set(PROFILE_S, s);
      expr.nonNegative = ready.nonNegative;
      const materialise = (e: Expr) => {
        const l = v128();
        expr.push(e, names);
        c.localSet(l);
        return l;
      };
      const parts = merged[fi] ? split[fi] : null;
      if (parts) {
        // Only the parts: the term takes the exp of the exponents' sum.
        for (const b of parts.bindings) names.set(b.name, expr.toLocal(b.value, names));
        L.kf.push(-1);
        L.expFactor[fi] = parts.factor ? materialise(parts.factor) : -1;
        L.exponent[fi] = materialise(parts.exponent);
        return;
      }
      for (const b of ready.bindings) names.set(b.name, expr.toLocal(b.value, names));
      L.kf.push(materialise(ready.value));
      if (gradient) {
        L.dk.push(layout.factorSlots[fi].perDim >= 0 || (rowGradient && f.statistic === "dot") ? materialise(ready.dValue) : -1);
        L.dp.push(ready.dParams.map(materialise));
      }
    });
    formula.terms.forEach((t, ti) => {
      if (mergedTerm[ti]) {
        // prod_f P_f exp(a_f) = (prod_f P_f) exp(sum_f a_f)
        const inExp = t.factors.filter((fi) => merged[fi]);
        const x = v128(), out = v128();
        inExp.forEach((fi, q) => {
          c.localGet(L.exponent[fi]);
          if (q > 0) c.simd(Simd.f64x2Add);
        });
        c.localSet(x);
        const nonPositive = inExp.every((fi) => signOf((split[fi] as NonNullable<(typeof split)[number]>).exponent, profilesReady[fi].nonNegative) === "nonPositive");
        emitExp(c, x, out, v128(), nonPositive);
        c.localGet(out);
        for (const fi of t.factors) {
          if (!merged[fi]) c.localGet(L.kf[fi]).simd(Simd.f64x2Mul);
          else if (L.expFactor[fi] >= 0) c.localGet(L.expFactor[fi]).simd(Simd.f64x2Mul);
        }
        const l = v128();
        c.localSet(l);
        L.tt.push(l);
        return;
      }
      if (t.factors.length === 1) L.tt.push(L.kf[t.factors[0]]);
      else {
        const l = v128();
        if (t.factors.length === 0) c.f64x2Const(1);
        t.factors.forEach((fi, q) => {
          c.localGet(L.kf[fi]);
          if (q > 0) c.simd(Simd.f64x2Mul);
        });
        c.localSet(l);
        L.tt.push(l);
      }
    });
    if (!gradient) {
      if (coefOutside) L.kij = L.tt[0];
      else {
        L.kij = v128();
        // sum_t c_t tt_t: one product, then a fused multiply-add per further term.
        // sum_t c_t tt_t: a product, then one fused multiply-add per further term.
        if (formula.terms.length === 0) c.f64x2Const(0).localSet(L.kij);
        formula.terms.forEach((_, t) => {
          c.localGet(coefs[t]).localGet(L.tt[t]);
          if (t === 0) c.simd(Simd.f64x2Mul);
          else c.mulAdd(() => c.localGet(L.kij));
          c.localSet(L.kij);
        });
      }
    }
    return L;
  };

  /** Gradient accumulation for one chain, weight w (v128 local). */
  const emitGradient = (L: PairLocals, w: number, chain: number) => {
    formula.terms.forEach((_, t) => addTo(layout.termOffset[t], () => c.localGet(w).localGet(L.tt[t])));
    factors.forEach((f, fi) => {
      const inTerms = formula.terms.map((t, ti) => ({ t, ti })).filter(({ t }) => t.factors.includes(fi));
      if (inTerms.length === 0) return;
      const slots = layout.factorSlots[fi];
      // g = w * sum over terms with f of c_t * (product of the term's other factors)
      const g = v128();
      inTerms.forEach(({ t, ti }, q) => {
        c.localGet(coefs[ti]);
        for (const other of t.factors) if (other !== fi) c.localGet(L.kf[other]).simd(Simd.f64x2Mul);
        if (q > 0) c.simd(Simd.f64x2Add);
      });
      c.localGet(w).simd(Simd.f64x2Mul).localSet(g);
      // gd = w dk/ds_f (ratio^2 for a follower: its s_f = ratio^2 s_leader)
      const gd = L.dk[fi] >= 0 ? v128() : -1;
      if (gd >= 0) {
        c.localGet(g).localGet(L.dk[fi]).simd(Simd.f64x2Mul);
        if (distLeader[fi] >= 0) c.localGet(distRatio2[fi]).simd(Simd.f64x2Mul);
        c.localSet(gd);
      }
      if (rowGradient && f.statistic !== "table") {
        // The row's features: gd ds/du_k, ds/du_k = 2 (x_k - y_k) (sqdist, into the leader's columns
        // for a follower), y_k (dot), w_k sin 2(x_k - y_k) = 2 w_k sin cos (sinsq); the 2 at the row's end.
        const into = rowAcc[distLeader[fi] >= 0 ? distLeader[fi] : fi];
        for (let k = 0; k < f.dims; k++) {
          c.localGet(into[k]).localGet(gd);
          if (f.statistic === "sqdist") c.localGet(L.diff[fi][k]);
          else if (f.statistic === "dot") column(yCol[fi][k], chain);
          else c.localGet(weights[fi][k]).simd(Simd.f64x2Mul).localGet(L.sn[fi][k]).simd(Simd.f64x2Mul).localGet(L.cs[fi][k]);
          c.simd(Simd.f64x2Mul).simd(Simd.f64x2Add).localSet(into[k]);
        }
      }
      if (slots.perDim >= 0) {
        for (let k = 0; k < f.dims; k++) {
          const du = L.du[fi][k];
          if (f.statistic === "sqdist") addTo(slots.perDim + k, () => c.localGet(gd).localGet(du));
          else {
            const sn = L.sn[fi][k], cs = L.cs[fi][k];
            // w_k sin(2 du) du = 2 w_k sin(du) cos(du) du
            addTo(slots.perDim + k, () =>
              c.localGet(gd).localGet(weights[fi][k]).simd(Simd.f64x2Mul).localGet(sn).simd(Simd.f64x2Mul).localGet(cs).simd(Simd.f64x2Mul)
                .localGet(du).simd(Simd.f64x2Mul).f64x2Const(2));
            addTo(slots.perDimWeight + k, () => c.localGet(gd).localGet(sn).simd(Simd.f64x2Mul).localGet(sn));
          }
        }
      }
      L.dp[fi].forEach((dp, q) => addTo(slots.params + q, () => c.localGet(g).localGet(dp)));
      if (slots.table >= 0) {
        // Scatter: ACC[table + x * size + y] += g, lane by lane.
        for (let lane = 0; lane < 2; lane++) {
          c.localGet(accOff).localGet(L.tableIdx[fi][lane]).i32Add().localTee(addr);
          c.localGet(addr).f64LoadAt(8 * slots.table).localGet(g).simd(Simd.f64x2ExtractLane, lane).f64Add().f64StoreAt(8 * slots.table);
        }
      }
    });
  };

  // ---- the loops ----
  c.i32Const(0).localSet(iRow);
  // Both loops are do-while (tested once before entry, then at the bottom):
  // there the body dominates the loop's exit, the condition under which
  // V8's scheduler hoists loop-invariant values (1 / (2 alpha), broadcast
  // parameters, constants) out of the loop instead of recomputing them in
  // every step (RQ 1.07x, Periodic 1.1-1.2x).
  c.block().localGet(iRow).localGet(rows).i32GeU().brIf(0).loop();
  {
    if (!columnMode) {
      // Broadcast row i's features (and sines / cosines).
      factors.forEach((f, fi) => {
        const width = f.statistic === "table" ? 1 : f.dims;
        for (let k = 0; k < width; k++) {
          c.localGet(xPtr[fi]).localGet(iRow).i32Const(width * 8).i32Mul().i32Add().f64LoadAt(8 * k).f64x2Splat().localSet(xk[fi][k]);
        }
        for (let k = 0; k < xSin[fi].length; k++) {
          // (value kernels: sin 2x, cos 2x times w/2)
          const halve = () => (gradient ? c : c.localGet(weights[fi][k]).simd(Simd.f64x2Mul));
          c.localGet(xAuxPtr[fi]).localGet(iRow).i32Const(2 * f.dims * 8).i32Mul().i32Add().f64LoadAt(8 * k).f64x2Splat();
          halve().localSet(xSin[fi][k]);
          c.localGet(xAuxPtr[fi]).localGet(iRow).i32Const(2 * f.dims * 8).i32Mul().i32Add().f64LoadAt(8 * (f.dims + k)).f64x2Splat();
          halve().localSet(xCos[fi][k]);
        }
      });
    }
    acc.forEach((l) => c.f64x2Const(0).localSet(l));
    vi.forEach((l, t) => {
      c.localGet(vCol[t]).localGet(rowGlobal).localGet(iRow).i32Add().i32Const(8).i32Mul().i32Add().f64LoadAt(0).f64x2Splat().localSet(l);
    });
    ui.forEach((l, t) => c.localGet(uRowOff).localGet(iRow).i32Const(T * 8).i32Mul().i32Add().f64LoadAt(8 * t).f64x2Splat().localSet(l));
    wi.forEach((l, t) => c.localGet(wRowOff).localGet(iRow).i32Const(T * 8).i32Mul().i32Add().f64LoadAt(8 * t).f64x2Splat().localSet(l));
    const rowOut = i32();
    if (kind === "rows") c.localGet(outOff).localGet(iRow).localGet(strideBytes).i32Mul().i32Add().localSet(rowOut);
    if (denseWeights) c.localGet(uRowOff).localGet(iRow).localGet(strideBytes).i32Mul().i32Add().localSet(rowOut);
    rowAcc.forEach((ls) => ls.forEach((l) => c.f64x2Const(0).localSet(l)));

    // Steps of `steps` chains while a whole step fits before colEnd. Column ranges are
    // multiples of KERNEL_COLUMN_MULTIPLE; where 2 * chains does not divide it (3 chains),
    // a second loop of one chain takes the last columns.
    const columnLoop = (steps: number) => {
    const stepEnd = () => c.localGet(j8).i32Const(16 * steps).i32Add();
    c.block();
    stepEnd().localGet(colEnd).i32GtU().brIf(0).loop();
    {
      const pairs = Array.from({ length: steps }, (_, chain) => emitPair(chain));
      if (kind === "matmul" || kind === "matmulSymmetric") {
        // acc_t += k_ij v_jt, CT[t, j] += k_ij v_it: fused multiply-adds with fma.
        acc.forEach((l, t) => {
          pairs.forEach((L, chain) => {
            c.localGet(L.kij);
            column(vCol[t], chain);
            c.mulAdd(() => c.localGet(l)).localSet(l);
          });
        });
        ctCol.forEach((base, t) => {
          pairs.forEach((L, chain) => {
            c.localGet(base).localGet(j8).i32Add().localTee(addr);
            c.localGet(L.kij).localGet(vi[t]).mulAdd(() => c.localGet(addr).v128LoadOffset(16 * chain)).v128StoreOffset(16 * chain);
          });
        });
      } else if (kind === "rows") {
        pairs.forEach((L, chain) => {
          c.localGet(rowOut).localGet(j8).i32Add().localGet(L.kij);
          if (coefOutside) c.localGet(coefs[0]).simd(Simd.f64x2Mul);
          c.v128StoreOffset(16 * chain);
        });
      } else if (kind === "entries") {
        pairs.forEach((L, chain) => {
          c.localGet(outOff).localGet(j8).i32Add().localGet(L.kij);
          if (coefOutside) c.localGet(coefs[0]).simd(Simd.f64x2Mul);
          c.v128StoreOffset(16 * chain);
        });
      } else {
        pairs.forEach((L, chain) => {
          const w = v128();
          if (denseWeights) column(rowOut, chain);
          else {
            // w = U_i . W_j (+ W_i . U_j): a product, then fused multiply-adds (into w, not a loop-carried sum).
            ui.forEach((l, t) => {
              c.localGet(l);
              column(vCol[t], chain);
              if (t === 0) c.simd(Simd.f64x2Mul);
              else c.mulAdd(() => c.localGet(w));
              c.localSet(w);
            });
            wi.forEach((l, t) => {
              c.localGet(l);
              column(ctCol[t], chain);
              c.mulAdd(() => c.localGet(w)).localSet(w);
            });
          }
          if (denseWeights) c.localSet(w);
          emitGradient(L, w, chain);
        });
      }
      c.localGet(j8).i32Const(16 * steps).i32Add().localSet(j8);
      c.localGet(colEnd);
      stepEnd().i32GeU().brIf(0);
    }
    c.end().end();
    };
    c.localGet(colStart).localSet(j8);
    columnLoop(chains);
    if (KERNEL_COLUMN_MULTIPLE % (2 * chains) !== 0) columnLoop(1);
    // OUT[i, t] += (lane 0 + lane 1) (times the coefficient when it was kept out of the loop)
    acc.forEach((l, t) => {
      c.localGet(outOff).localGet(iRow).i32Const(T * 8).i32Mul().i32Add().localTee(addr);
      c.localGet(addr).f64LoadAt(8 * t);
      c.localGet(l).simd(Simd.f64x2ExtractLane, 0).localGet(l).simd(Simd.f64x2ExtractLane, 1).f64Add();
      if (coefOutside) c.localGet(coefs[0]).simd(Simd.f64x2ExtractLane, 0).f64Mul();
      c.f64Add().f64StoreAt(8 * t);
    });
    // OUT[i, offset + k] += scale (lane 0 + lane 1): the row's feature gradient (scale 2 for sqdist and sinsq)
    rowAcc.forEach((ls, fi) => {
      ls.forEach((l, k) => {
        c.localGet(outOff).localGet(iRow).i32Const(rowLayout.width * 8).i32Mul().i32Add().localTee(addr);
        c.localGet(addr).f64LoadAt(8 * (rowLayout.offset[fi] + k));
        c.localGet(l).simd(Simd.f64x2ExtractLane, 0).localGet(l).simd(Simd.f64x2ExtractLane, 1).f64Add();
        if (factors[fi].statistic !== "dot") c.f64Const(2).f64Mul();
        c.f64Add().f64StoreAt(8 * (rowLayout.offset[fi] + k));
      });
    });
    c.localGet(iRow).i32Const(1).i32Add().localSet(iRow);
    c.localGet(rows).localGet(iRow).i32GtU().brIf(0);
  }
  c.end().end();
  // ACC[slot] += lane 0 + lane 1
  for (const [slot, l] of slotLocal) {
    c.localGet(accOff).localGet(accOff).f64LoadAt(8 * slot);
    c.localGet(l).simd(Simd.f64x2ExtractLane, 0).f64Add().localGet(l).simd(Simd.f64x2ExtractLane, 1).f64Add();
    c.f64StoreAt(8 * slot);
  }
  const groups: [number, number][] = [];
  for (const t of types) {
    const last = groups[groups.length - 1];
    if (last && last[1] === t) last[0]++;
    else groups.push([1, t]);
  }
  return buildModule([I32], groups, c);
}

export { F64 };
