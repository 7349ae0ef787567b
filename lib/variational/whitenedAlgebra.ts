// The dense f64 algebra of one latent of the whitened variational strategy
// (SVGP), forward and backward, on one Float64Array workspace: the GEMM
// arena when WebAssembly is there (every product then runs in the blocked
// kernels, large ones on every thread), a plain array otherwise. Operands
// are copied in once per pass and stay there; nothing is transposed or
// copied out between products. With Lz = chol(K_ZZ + jitter I), q(u') =
// N(m, S), S = L L^T, G = diag(gVar):
//   forward   A = Lz^{-1} K_Zx                        (M^2 B / 2)
//             meanTerm_i = a_i^T m, varTerm_i = a_i^T (S - I) a_i through
//             Y = S A, one full GEMM (M^2 B, and S: M^3 / 6) when 2M <= B,
//             else W = L^T A (M^2 B / 2)
//   backward  dm = A gMu
//             dL = 2 tril(C L), C = A G A^T: tril(C) (M^2 B / 2) then L^T C
//               (M^3 / 2), or, with W, 2 tril(A G W^T) (M^2 B / 2)
//             dA = m gMu^T + 2 (Y - A) G  (Y = L W: M^2 B / 2 with W)
//             dK_Zx = Lz^{-T} dA                      (M^2 B / 2)
//             dLz = -tril(dK_Zx A^T): with Y as -tril(Lz^{-T} E), E = dA A^T =
//               m dm^T + 2 (L (L^T C) - C) (M^3 / 2: only lower triangles are
//               formed), with W directly (M^2 B / 2)
//             dK_ZZ = choleskyBackward(Lz, dLz)        (5/6 M^3)
// The route through Y and E takes five M^2 B / 2 products where the one
// through W takes six, for 7/6 M^3 of smaller ones: cheaper when 2M < B,
// about even at 2M = B, where its full product Y = S A (faster than the
// triangular L^T A and L W it replaces, and better split over threads)
// decides; with larger M (M = B = 1,024) the M^3 terms outweigh it.
// A batch whose workspace would not fit in the arena is taken in column
// chunks (see WORKSPACE_LIMIT). Matrices are row-major; [M, B] blocks have
// row stride ld = paddedStride(B), M x M ones stride M (the triangular
// kernels' convention).

import { choleskyBackwardInto } from "../algorithms/choleskyBackward";
import { lowerGramOfLower, lowerPanelProduct, solveUpperLowerPart } from "../algorithms/lowerTriangleProducts";
import { type Mat, mat } from "../algorithms/matrix";
import { transposeInto, transposeLower } from "../algorithms/transpose";
import { solveLowerInPlace, solveUpperInPlace, triangularMatmulInto } from "../algorithms/triangularKernels";
import { arena, gemm, paddedStride } from "../algorithms/wasmGemm";

/** The arena with room for `size` f64s, or (no WebAssembly, or too large) a plain array: the kernels take either. */
export function workspace(size: number): Float64Array {
  return arena(size) ?? new Float64Array(size);
}

/** What the forward pass keeps for the backward pass of one latent: buffers reused step after step. */
export class WhitenedState {
  /** Row stride of the [M, B] blocks. */
  ld = 0;
  /** Columns (batch size) of the last forward pass. */
  B = 0;
  /** A = Lz^{-1} K_Zx. shape: [M, ld] (columns >= B unused) */
  A = new Float64Array(0);
  /** Y = S A (throughY), else W = L^T A. shape: [M, ld] */
  Y = new Float64Array(0);
  /** Whether the last forward pass formed Y = S A (2M <= B) rather than W = L^T A. */
  throughY = false;
  /** a_i^T m. shape: [B] */
  meanTerm = new Float64Array(0);
  /** a_i^T (S - I) a_i. shape: [B] */
  varTerm = new Float64Array(0);
  /** dK_Zx of the last backward pass, unpadded. shape: [M, B] */
  dKzx = new Float64Array(0);
  /** dF/dL and dF/dK_ZZ of the last backward pass. shapes: [M, M] */
  readonly dL: Mat;
  readonly dKzz: Mat;
  /** Bumped by every forward pass: a backward pass that finds another value was overtaken. */
  generation = 0;

  constructor(readonly M: number) {
    this.dL = mat(M, M);
    this.dKzz = mat(M, M);
  }

  /** Sizes the buffers for B columns (they grow, never shrink). */
  resize(B: number): void {
    const M = this.M, ld = paddedStride(B);
    if (this.A.length < M * ld) {
      this.A = new Float64Array(M * ld);
      this.Y = new Float64Array(M * ld);
    }
    if (this.meanTerm.length !== B) {
      this.meanTerm = new Float64Array(B);
      this.varTerm = new Float64Array(B);
    }
    if (this.dKzx.length < M * B) this.dKzx = new Float64Array(M * B);
    this.ld = ld;
    this.B = B;
  }

  /** A without the row padding. shape: [M, B] */
  unpaddedA(): Mat {
    const M = this.M, B = this.B, ld = this.ld, out = mat(M, B);
    for (let k = 0; k < M; k++) out.data.set(this.A.subarray(k * ld, k * ld + B), k * B);
    return out;
  }
}

/** S = L L^T at SS from L (lower, zeros above) at LL and L^T (upper, zeros below) at LUT. shapes: [M, M] */
function covarianceInto(mem: Float64Array, M: number, LL: number, LUT: number, SS: number): void {
  mem.fill(0, SS, SS + M * M);
  lowerGramOfLower(mem, M, LL, LUT, SS);
  for (let i = 0; i < M; i++) for (let j = 0; j < i; j++) mem[SS + j * M + i] = mem[SS + i * M + j];
}

/**
 * The workspace's limit in f64s: the GEMM arena's (256 MiB). A batch whose
 * workspace would not fit is taken in column chunks that do (the products
 * are per column but for sums over columns, which accumulate), so the
 * WebAssembly kernels keep the work up to M of about 2,800.
 */
export const WORKSPACE_LIMIT = 2 ** 25;

/**
 * Columns per chunk when `fixed` f64s do not depend on the batch and each
 * column takes `perColumn` more: all B if they fit in `limit`, else a
 * multiple of 8 (at least 8).
 */
export function chunkColumns(B: number, fixed: number, perColumn: number, limit: number): number {
  if (fixed + perColumn * (paddedStride(B) + 8) <= limit) return B;
  return Math.max(8, Math.floor((limit - fixed) / perColumn / 8) * 8 - 16);
}

/** Copies columns [c0, c0 + w) of a row-major [rows, cols] block into mem at off with row stride ld. */
function putColumns(mem: Float64Array, off: number, ld: number, src: Float64Array, srcLd: number, rows: number, c0: number, w: number): void {
  for (let k = 0; k < rows; k++) mem.set(src.subarray(k * srcLd + c0, k * srcLd + c0 + w), off + k * ld);
}

/** Copies a [rows, w] block at off (row stride ld) into columns [c0, c0 + w) of dst (row stride dstLd). */
function takeColumns(mem: Float64Array, off: number, ld: number, dst: Float64Array, dstLd: number, rows: number, c0: number, w: number): void {
  for (let k = 0; k < rows; k++) dst.set(mem.subarray(off + k * ld, off + k * ld + w), k * dstLd + c0);
}

/**
 * Fills `s` (A, Y, meanTerm, varTerm) for K_Zx [M, B] (row-major).
 * shapes: Lz, L [M, M] lower (their upper triangles are not read), m [M]
 */
export function whitenedForward(s: WhitenedState, Lz: Mat, L: Mat, m: Float64Array, Kzx: Float64Array, B: number, limit = WORKSPACE_LIMIT): void {
  const M = s.M;
  s.resize(B);
  s.generation++;
  s.throughY = 2 * M <= B;
  const ld = s.ld, MM = M * M, throughY = s.throughY;
  const LUT = 0, LZ = MM, LL = 2 * MM, SS = 3 * MM, X0 = throughY ? 4 * MM : 2 * MM;
  const bc = chunkColumns(B, X0, 2 * M, limit);
  const mem = workspace(X0 + 2 * M * paddedStride(bc));
  mem.fill(0, LUT, LUT + MM);
  transposeLower(L.data, 0, M, mem, LUT, M, M);
  mem.set(Lz.data, LZ); // only its lower triangle is read
  if (throughY) {
    mem.fill(0, LL, LL + MM);
    for (let i = 0; i < M; i++) mem.set(L.data.subarray(i * M, i * M + i + 1), LL + i * M);
    covarianceInto(mem, M, LL, LUT, SS);
  }
  const mt = s.meanTerm, vt = s.varTerm;
  mt.fill(0);
  vt.fill(0);
  for (let c0 = 0; c0 < B; c0 += bc) {
    const w = Math.min(bc, B - c0), ldc = paddedStride(w), XA = X0, XY = X0 + M * ldc;
    putColumns(mem, XA, ldc, Kzx, B, M, c0, w);
    solveLowerInPlace(mem, M, w, LZ, XA, ldc);
    mem.fill(0, XY, XY + M * ldc);
    if (throughY) gemm(mem, M, w, M, SS, M, XA, ldc, XY, ldc);
    else triangularMatmulInto(mem, M, w, LUT, false, XA, XY, ldc);
    for (let k = 0; k < M; k++) {
      const a = XA + k * ldc, y = XY + k * ldc, mk = m[k];
      if (throughY) {
        for (let i = 0; i < w; i++) {
          const ai = mem[a + i];
          mt[c0 + i] += ai * mk;
          vt[c0 + i] += ai * (mem[y + i] - ai);
        }
      } else {
        for (let i = 0; i < w; i++) {
          const ai = mem[a + i], wi = mem[y + i];
          mt[c0 + i] += ai * mk;
          vt[c0 + i] += wi * wi - ai * ai;
        }
      }
    }
    takeColumns(mem, XA, ldc, s.A, ld, M, c0, w);
    takeColumns(mem, XY, ldc, s.Y, ld, M, c0, w);
  }
}

/** The backward pass's results: dm, dL for q(u'), dK_Zx and dK_ZZ (dL, dK_Zx and dK_ZZ in the state's buffers, rewritten by its next backward pass). */
export interface WhitenedGradients {
  /** dF/dm. shape: [M] */
  dm: Float64Array;
  /** dF/dL, lower triangle (zeros above). shape: [M, M] */
  dL: Mat;
  /** dF/dK_Zx: the state's dKzx buffer. shape: [M, B] */
  dKzx: Float64Array;
  /** dF/dK_ZZ, symmetric. shape: [M, M] */
  dKzz: Mat;
}

/**
 * Gradients of sum_i gMu_i meanTerm_i + gVar_i varTerm_i with respect to m,
 * L, K_Zx and K_ZZ (through Lz), from the state of the last forward pass.
 * shapes: gMu, gVar [B]
 */
export function whitenedBackward(
  s: WhitenedState, Lz: Mat, L: Mat, m: Float64Array, gMu: Float64Array, gVar: Float64Array, limit = WORKSPACE_LIMIT,
): WhitenedGradients {
  const M = s.M, B = s.B, ld = s.ld, ldt = paddedStride(M), MM = M * M, viaE = s.throughY;
  // Through E: Lz^T, L, L^T, C, L^T C, E; directly: Lz^T, L, 2 A G W^T, E. The Cholesky
  // backward's scratch reuses C's place: it runs last.
  const LZT = 0, LL = MM, CC = 2 * MM, E = 3 * MM, LUT = 4 * MM, LTC = 5 * MM, SCR = CC;
  const X0 = viaE ? 6 * MM : 4 * MM;
  // Per column: A, D (and W) rows, A^T (and W^T) rows.
  const bc = chunkColumns(B, X0, viaE ? 2 * M + ldt : 3 * M + 2 * ldt, limit);
  const ldc = paddedStride(bc);
  const XA = X0, D = XA + M * ldc, XW = D + M * ldc, AT = viaE ? XW : XW + M * ldc, WT = AT + bc * ldt;
  const mem = workspace(viaE ? WT : WT + bc * ldt);
  mem.fill(0, 0, X0);
  transposeLower(Lz.data, 0, M, mem, LZT, M, M); // Lz^T, upper
  for (let i = 0; i < M; i++) mem.set(L.data.subarray(i * M, i * M + i + 1), LL + i * M); // L, lower
  if (viaE) transposeLower(L.data, 0, M, mem, LUT, M, M); // L^T, upper

  // Column chunks: dm, C (or 2 A G W^T) and the direct dLz accumulate; dK_Zx is per column.
  const dm = new Float64Array(M);
  const dKzx = s.dKzx;
  for (let c0 = 0; c0 < B; c0 += bc) {
    const w = Math.min(bc, B - c0), ldw = paddedStride(w);
    putColumns(mem, XA, ldw, s.A, ld, M, c0, w);
    // dm += A gMu; D = A G (the left factor of C).
    for (let k = 0; k < M; k++) {
      const a = XA + k * ldw, d = D + k * ldw;
      let t = 0;
      for (let i = 0; i < w; i++) {
        const ai = mem[a + i];
        t += ai * gMu[c0 + i];
        mem[d + i] = ai * gVar[c0 + i];
      }
      dm[k] += t;
    }
    transposeInto(mem, XA, ldw, mem, AT, ldt, M, w); // A^T [w, M]
    if (viaE) {
      lowerPanelProduct(mem, M, w, D, ldw, AT, ldt, CC, M, 1); // C += tril(A G A^T)
    } else {
      // 2 tril(A G W^T) (= 2 tril(C L), as W = L^T A).
      putColumns(mem, XW, ldw, s.Y, ld, M, c0, w);
      transposeInto(mem, XW, ldw, mem, WT, ldt, M, w);
      lowerPanelProduct(mem, M, w, D, ldw, WT, ldt, CC, M, 2);
      // Y = L W, in D.
      mem.fill(0, D, D + M * ldw);
      triangularMatmulInto(mem, M, w, LL, true, XW, D, ldw);
    }
    // dA = m gMu^T + 2 (Y - A) G, then dK_Zx = Lz^{-T} dA, in D.
    const Y = viaE ? s.Y : mem;
    for (let k = 0; k < M; k++) {
      const d = D + k * ldw, a = XA + k * ldw, y = viaE ? k * ld + c0 : d, mk = m[k];
      for (let i = 0; i < w; i++) mem[d + i] = mk * gMu[c0 + i] + 2 * (Y[y + i] - mem[a + i]) * gVar[c0 + i];
    }
    solveUpperInPlace(mem, M, w, LZT, D, ldw);
    takeColumns(mem, D, ldw, dKzx, B, M, c0, w);
    if (!viaE) lowerPanelProduct(mem, M, w, D, ldw, AT, ldt, E, M, 1); // E += tril(dK_Zx A^T)
  }

  const dL = s.dL;
  dL.data.fill(0);
  if (viaE) {
    // C mirrored to the full symmetric matrix; L^T C; dL = 2 tril(C L) = 2 tril((L^T C)^T).
    for (let i = 0; i < M; i++) for (let j = 0; j < i; j++) mem[CC + j * M + i] = mem[CC + i * M + j];
    triangularMatmulInto(mem, M, M, LUT, false, CC, LTC, M);
    for (let i = 0; i < M; i++) for (let j = 0; j <= i; j++) dL.data[i * M + j] = 2 * mem[LTC + j * M + i];
    // E = m dm^T + 2 (L (L^T C) - C), lower block triangle only.
    lowerPanelProduct(mem, M, M, LL, M, LTC, M, E, M, 1, true);
    for (let i = 0; i < M; i++) {
      const mi = m[i], r = E + i * M, c = CC + i * M;
      for (let j = 0; j <= i; j++) mem[r + j] = mi * dm[j] + 2 * (mem[r + j] - mem[c + j]);
    }
    // tril(Lz^{-T} E), which reads only E's lower triangle.
    solveUpperLowerPart(mem, M, LZT, E);
  } else {
    for (let i = 0; i < M; i++) dL.data.set(mem.subarray(CC + i * M, CC + i * M + i + 1), i * M);
  }
  // E's lower triangle is -dLz; the Cholesky backward wants dLz with zeros above.
  for (let i = 0; i < M; i++) {
    const r = E + i * M;
    for (let j = 0; j <= i; j++) mem[r + j] = -mem[r + j];
    mem.fill(0, r + i + 1, r + M);
  }
  const dKzz = s.dKzz;
  choleskyBackwardInto(mem, M, LZT, E, SCR, dKzz.data);
  return { dm, dL, dKzx: dKzx.subarray(0, M * B), dKzz };
}
