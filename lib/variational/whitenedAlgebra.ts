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
// Matrices are row-major; [M, B] blocks have row stride ld = paddedStride(B),
// M x M ones stride M (the triangular kernels' convention).

import { choleskyBackwardInto } from "../algorithms/choleskyBackward";
import { lowerGramOfLower, lowerPanelProduct, solveUpperLowerPart } from "../algorithms/lowerTriangleProducts";
import { type Mat, mat } from "../algorithms/matrix";
import { transposeInto, transposeLower } from "../algorithms/transpose";
import { solveLowerInPlace, solveUpperInPlace, triangularMatmulInto } from "../algorithms/triangularKernels";
import { arena, gemm, paddedStride, putRows } from "../algorithms/wasmGemm";

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

/** L (lower, zeros above) at LL and L^T (upper, zeros below) at LUT. shapes: L [M, M] (upper triangle not read) */
function putFactor(mem: Float64Array, M: number, L: Mat, LL: number, LUT: number): void {
  mem.fill(0, LL, LL + M * M);
  mem.fill(0, LUT, LUT + M * M);
  for (let i = 0; i < M; i++) mem.set(L.data.subarray(i * M, i * M + i + 1), LL + i * M);
  transposeLower(L.data, 0, M, mem, LUT, M, M);
}

/**
 * Fills `s` (A, Y, meanTerm, varTerm) for K_Zx [M, B] (row-major).
 * shapes: Lz, L [M, M] lower (their upper triangles are not read), m [M]
 */
export function whitenedForward(s: WhitenedState, Lz: Mat, L: Mat, m: Float64Array, Kzx: Float64Array, B: number): void {
  const M = s.M;
  s.resize(B);
  s.generation++;
  s.throughY = 2 * M <= B;
  const ld = s.ld, MM = M * M;
  const LL = 0, LUT = MM, SS = 2 * MM, LZ = 3 * MM, XA = 4 * MM, XY = XA + M * ld;
  const mem = workspace(XY + M * ld);
  putFactor(mem, M, L, LL, LUT);
  mem.set(Lz.data, LZ); // only its lower triangle is read
  putRows(mem, XA, ld, Kzx, M, B);
  solveLowerInPlace(mem, M, B, LZ, XA, ld);
  mem.fill(0, XY, XY + M * ld);
  if (s.throughY) {
    covarianceInto(mem, M, LL, LUT, SS);
    gemm(mem, M, B, M, SS, M, XA, ld, XY, ld);
  } else {
    triangularMatmulInto(mem, M, B, LUT, false, XA, XY, ld);
  }
  const mt = s.meanTerm, vt = s.varTerm;
  mt.fill(0);
  vt.fill(0);
  for (let k = 0; k < M; k++) {
    const a = XA + k * ld, y = XY + k * ld, mk = m[k];
    if (s.throughY) {
      for (let i = 0; i < B; i++) {
        const ai = mem[a + i];
        mt[i] += ai * mk;
        vt[i] += ai * (mem[y + i] - ai);
      }
    } else {
      for (let i = 0; i < B; i++) {
        const ai = mem[a + i], wi = mem[y + i];
        mt[i] += ai * mk;
        vt[i] += wi * wi - ai * ai;
      }
    }
  }
  s.A.set(mem.subarray(XA, XA + M * ld));
  s.Y.set(mem.subarray(XY, XY + M * ld));
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
export function whitenedBackward(s: WhitenedState, Lz: Mat, L: Mat, m: Float64Array, gMu: Float64Array, gVar: Float64Array): WhitenedGradients {
  const M = s.M, B = s.B, ld = s.ld, ldt = paddedStride(M), MM = M * M, viaE = s.throughY;
  // The Cholesky backward's scratch reuses C's place: it runs last.
  const LZT = 0, LL = MM, LUT = 2 * MM, CC = 3 * MM, LTC = 4 * MM, E = 5 * MM, SCR = CC;
  const XA = 6 * MM, D = XA + M * ld, AT = D + M * ld, WT = AT + B * ldt, XW = WT + B * ldt;
  const mem = workspace(viaE ? WT : XW + M * ld);
  mem.fill(0, LZT, LZT + MM);
  transposeLower(Lz.data, 0, M, mem, LZT, M, M); // Lz^T, upper
  putFactor(mem, M, L, LL, LUT);
  mem.set(s.A.subarray(0, M * ld), XA);

  // dm = A gMu; D = A G (the left factor of C).
  const dm = new Float64Array(M);
  for (let k = 0; k < M; k++) {
    const a = XA + k * ld, d = D + k * ld;
    let t = 0;
    for (let i = 0; i < B; i++) {
      const ai = mem[a + i];
      t += ai * gMu[i];
      mem[d + i] = ai * gVar[i];
    }
    dm[k] = t;
  }
  transposeInto(mem, XA, ld, mem, AT, ldt, M, B); // A^T [B, M]
  const dL = s.dL;
  dL.data.fill(0);
  if (viaE) {
    // C = tril(A G A^T), mirrored to the full symmetric matrix.
    mem.fill(0, CC, CC + MM);
    lowerPanelProduct(mem, M, B, D, ld, AT, ldt, CC, M, 1);
    for (let i = 0; i < M; i++) for (let j = 0; j < i; j++) mem[CC + j * M + i] = mem[CC + i * M + j];
    // L^T C; dL = 2 tril(C L) = 2 tril((L^T C)^T).
    mem.fill(0, LTC, LTC + MM);
    triangularMatmulInto(mem, M, M, LUT, false, CC, LTC, M);
    for (let i = 0; i < M; i++) for (let j = 0; j <= i; j++) dL.data[i * M + j] = 2 * mem[LTC + j * M + i];
    // E = m dm^T + 2 (L (L^T C) - C), lower block triangle only.
    mem.fill(0, E, E + MM);
    lowerPanelProduct(mem, M, M, LL, M, LTC, M, E, M, 1, true);
    for (let i = 0; i < M; i++) {
      const mi = m[i], r = E + i * M, c = CC + i * M;
      for (let j = 0; j <= i; j++) mem[r + j] = mi * dm[j] + 2 * (mem[r + j] - mem[c + j]);
    }
    // tril(Lz^{-T} E), which reads only E's lower triangle.
    solveUpperLowerPart(mem, M, LZT, E);
  } else {
    // dL = 2 tril(A G W^T) (= 2 tril(C L), as W = L^T A).
    mem.set(s.Y.subarray(0, M * ld), XW);
    transposeInto(mem, XW, ld, mem, WT, ldt, M, B);
    mem.fill(0, CC, CC + MM);
    lowerPanelProduct(mem, M, B, D, ld, WT, ldt, CC, M, 2);
    for (let i = 0; i < M; i++) dL.data.set(mem.subarray(CC + i * M, CC + i * M + i + 1), i * M);
  }

  // dA = m gMu^T + 2 (Y - A) G, then dK_Zx = Lz^{-T} dA, in D.
  let Y = s.Y, y0 = 0;
  if (!viaE) {
    // Y = L W.
    mem.fill(0, D, D + M * ld);
    triangularMatmulInto(mem, M, B, LL, true, XW, D, ld);
    Y = mem;
    y0 = D;
  }
  for (let k = 0; k < M; k++) {
    const d = D + k * ld, a = XA + k * ld, y = y0 + k * ld, mk = m[k];
    for (let i = 0; i < B; i++) mem[d + i] = mk * gMu[i] + 2 * (Y[y + i] - mem[a + i]) * gVar[i];
  }
  solveUpperInPlace(mem, M, B, LZT, D, ld);
  const dKzx = s.dKzx;
  for (let k = 0; k < M; k++) dKzx.set(mem.subarray(D + k * ld, D + k * ld + B), k * B);
  if (!viaE) {
    // tril(dK_Zx A^T) into E.
    mem.fill(0, E, E + MM);
    lowerPanelProduct(mem, M, B, D, ld, AT, ldt, E, M, 1);
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
