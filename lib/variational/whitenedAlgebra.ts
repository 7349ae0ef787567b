// The dense f64 algebra of one latent of the whitened variational strategy
// (SVGP), forward and backward, on one Float64Array workspace: the GEMM
// arena when WebAssembly is there (every product then runs in the blocked
// kernels, large ones on every thread), a plain array otherwise. Operands
// are copied in once per pass and stay there; nothing is transposed or
// copied out between products. With Lz = chol(K_ZZ + jitter I), K = K_Zx,
// q(u') = N(m, S), S = L L^T, G = diag(gVar), two routes:
//
// Through Q (2M <= B), Q = Lz^{-T} (S - I)  (S: M^3 / 6, Q: M^3 / 2):
//   forward   A = Lz^{-1} K                              (M^2 B / 2)
//             Z = Q A, one full GEMM                     (M^2 B)
//             meanTerm_i = a_i^T m, varTerm_i = a_i^T (S - I) a_i = k_i^T z_i
//   backward  dm = A gMu,  C = tril(A G A^T)              (M^2 B / 2)
//             dL = 2 tril(C L): L^T C                    (M^3 / 2)
//             dK_Zx = Lz^{-T} dA with dA = m gMu^T + 2 (S - I) A G:
//               (Lz^{-T} m) gMu^T + 2 Z G, no product
//             dK_ZZ = -Lz^{-T} Psi(E) Lz^{-1} with E = dA A^T = m dm^T +
//               2 (L (L^T C) - C) (M^3 / 3: only lower triangles are formed)
//               and Psi(E) the symmetric matrix of E's lower triangle halved
//               (M^3 / 2 + M^3 / 6). Why: the Cholesky backward of dLz =
//               -tril(Lz^{-T} E) needs Phi(Lz^T dLz) (Phi: the lower triangle,
//               its diagonal halved), and Lz^T tril(X) differs from Lz^T X = E
//               only above the diagonal, so Phi(Lz^T dLz) = -Phi(E): neither
//               tril(Lz^{-T} E) nor Lz^T dLz is formed.
// Directly (2M > B), through W = L^T A:
//   forward   A (M^2 B / 2), W = L^T A (M^2 B / 2), varTerm_i = |w_i|^2 - |a_i|^2
//   backward  dm, dL = 2 tril(A G W^T) (M^2 B / 2), dA = m gMu^T + 2 (L W - A) G
//             (L W: M^2 B / 2), dK_Zx = Lz^{-T} dA (M^2 B / 2), dLz =
//             -tril(dK_Zx A^T) (M^2 B / 2), dK_ZZ = choleskyBackward(Lz, dLz)
//             (5/6 M^3)
// Through Q takes four M^2 B / 2 products where the direct route takes six,
// for about 2.3 M^3 of smaller ones against 5/6 M^3: cheaper when 2M <= B;
// with larger M (M = B = 1,024) the M^3 terms outweigh it. Accuracy: A comes
// from a solve, as in GPyTorch; Q and Z carry Lz^{-T}, whose rounding errors
// are of the size cond(Lz) eps, as in dK_Zx = Lz^{-T} dA.
// A batch whose workspace would not fit in the arena is taken in column
// chunks (see WORKSPACE_LIMIT). The per-column work of each pass (the
// solves, Z = Q A or W = L^T A, the loops over columns) runs as one GEMM-pool
// task whose pieces are column ranges, on every thread; a piece's GEMM calls
// run on its own thread. Matrices are row-major; [M, B] blocks have
// row stride ld = paddedStride(B), M x M ones stride M (the triangular
// kernels' convention).

import { choleskyBackwardInto, inverseSandwichInto, symmetricFromLowerInPlace } from "../algorithms/choleskyBackward";
import { triangularMatmulColumns } from "../algorithms/columnTasks";
import { lowerGramOfLower, lowerPanelProduct } from "../algorithms/lowerTriangleProducts";
import { type Mat, mat } from "../algorithms/matrix";
import { transposeInto, transposeLower } from "../algorithms/transpose";
import { solveLowerInPlace, solveUpperInPlace, triangularMatmulInto } from "../algorithms/triangularKernels";
import { poolTask } from "../algorithms/gemmPool";
import { arena, gemm, gemmThreads, isArena, leaveInArena, paddedStride, reclaimArena, runTask } from "../algorithms/wasmGemm";

/** The arena with room for `size` f64s, or (no WebAssembly, or too large) a plain array: the kernels take either. */
export function workspace(size: number): Float64Array {
  return arena(size) ?? new Float64Array(size);
}

/**
 * A zeroed array on shared memory: the reductions' worker threads read dK_Zx
 * and dK_ZZ where they lie instead of a copy a step.
 */
function sharedF64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * 8));
}

/** What the forward pass keeps for the backward pass of one latent: buffers reused step after step. */
export class WhitenedState {
  /** Row stride of the [M, B] blocks. */
  ld = 0;
  /** Columns (batch size) of the last forward pass. */
  B = 0;
  /** A = Lz^{-1} K_Zx. shape: [M, ld] (columns >= B unused) */
  A = new Float64Array(0);
  /** Z = Q A (throughQ), else W = L^T A. shape: [M, ld] */
  Y = new Float64Array(0);
  /** Whether the last forward pass went through Q = Lz^{-T} (S - I) (2M <= B) rather than W = L^T A. */
  throughQ = false;
  /** a_i^T m. shape: [B] */
  meanTerm = new Float64Array(0);
  /** a_i^T (S - I) a_i. shape: [B] */
  varTerm = new Float64Array(0);
  /** dK_Zx of the last backward pass, unpadded, on shared memory. shape: [M, B] */
  dKzx = new Float64Array(0);
  /** dF/dL and dF/dK_ZZ (on shared memory) of the last backward pass. shapes: [M, M] */
  readonly dL: Mat;
  readonly dKzz: Mat;
  /** Bumped by every forward pass: a backward pass that finds another value was overtaken. */
  generation = 0;
  /**
   * While A and Y (Z or W) are still only in the arena where the forward pass left
   * them: the function that copies them out into A and Y (see leaveInArena).
   */
  resident: ((mem: Float64Array) => void) | null = null;

  constructor(readonly M: number) {
    this.dL = mat(M, M);
    this.dKzz = mat(M, M, sharedF64(M * M));
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
    if (this.dKzx.length < M * B) this.dKzx = sharedF64(M * B);
    this.ld = ld;
    this.B = B;
  }

  /**
   * Gives up A and Y where the forward pass left them in the arena, without
   * copying them out: the next forward pass rewrites them (a backward pass
   * still to come for the last one recomputes it: the generation moves on).
   */
  discard(): void {
    if (this.resident) reclaimArena(this.resident);
    this.resident = null;
    this.generation++;
  }

  /** A and Y copied out of the arena if the forward pass left them only there. */
  materialize(): void {
    const save = this.resident;
    this.resident = null;
    const mem = save && reclaimArena(save);
    if (save && mem) save(mem);
  }

  /** A without the row padding. shape: [M, B] */
  unpaddedA(): Mat {
    this.materialize();
    const M = this.M, B = this.B, ld = this.ld, out = mat(M, B);
    for (let k = 0; k < M; k++) out.data.set(this.A.subarray(k * ld, k * ld + B), k * B);
    return out;
  }
}

/** S = L L^T at SS from L (lower, zeros above) at LL and L^T (upper, zeros below) at LUT. shapes: [M, M] */
function covarianceInto(mem: Float64Array, M: number, LL: number, LUT: number, SS: number): void {
  lowerGramOfLower(mem, M, LL, LUT, SS, true);
  transposeLower(mem, SS, M, mem, SS, M, M); // the upper triangle from the lower, in cache-sized tiles
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

/** n rounded up to whole 64-byte lines of f64s. */
const up8 = (n: number) => Math.ceil(n / 8) * 8;

/**
 * Columns per piece of a pass over w columns: with the GEMM on several
 * threads, two pieces per thread (a thread that starts late still finds
 * work), else one piece (every piece repeats the solves' many small
 * diagonal-block steps); a multiple of DM_BLOCK columns. A column's results
 * do not depend on its piece, and dm sums fixed blocks of DM_BLOCK columns,
 * so results are the same on any number of threads.
 */
function pieceColumns(M: number, w: number): number {
  const threads = (M * M * w) / 2 >= POOLED_MIN_WORK ? gemmThreads().threads : 1;
  return DM_BLOCK * Math.ceil(w / DM_BLOCK / (threads > 1 ? 2 * threads : 1));
}
/** Columns per piece of Q's M x M solve: a multiple of 8 (a column's result does not depend on its piece). */
function qColumns(M: number): number {
  const threads = (M * M * M) / 2 >= POOLED_MIN_WORK ? gemmThreads().threads : 1;
  return threads > 1 ? 8 * Math.ceil(M / 8 / threads) : M;
}
/** Below this many multiply-adds in a pass's solve, it runs as one piece. */
const POOLED_MIN_WORK = 1 << 19;
/** dm = A gMu is summed over blocks of this many columns, then over the blocks in order. */
const DM_BLOCK = 32;

/** The first n parameters of a pool task (offsets and sizes) as small integers: index arithmetic on them stays in integers. */
function offsets(params: Float64Array, n: number): Int32Array {
  return Int32Array.from(params.subarray(0, n));
}

/** Whether a batch of B columns goes through Q = Lz^{-T} (S - I) rather than W = L^T A (see the top of the file). */
const throughQ = (M: number, B: number) => 2 * M <= B;

/** The f64s of whitenedForward's workspace: `fixed`, plus `perColumn` a column of the batch (see chunkColumns). */
export function forwardWorkspace(M: number, B: number): { fixed: number; perColumn: number } {
  return { fixed: (throughQ(M, B) ? 4 : 2) * M * M + up8(M) + 24, perColumn: 3 * M + 2 };
}

/** The f64s of whitenedBackward's workspace: `fixed`, plus `perColumn` a column of the batch. */
export function backwardWorkspace(M: number, B: number): { fixed: number; perColumn: number } {
  const viaQ = throughQ(M, B), ldt = paddedStride(M);
  return { fixed: (viaQ ? 6 : 4) * M * M + 3 * up8(M) + 16, perColumn: 4 * M + 2 + (viaQ ? 1 : 2) * ldt + Math.ceil(up8(M) / DM_BLOCK) };
}

/** Copies columns [c0, c0 + w) of a row-major [rows, cols] block into mem at off with row stride ld. */
function putColumns(mem: Float64Array, off: number, ld: number, src: Float64Array, srcLd: number, rows: number, c0: number, w: number): void {
  for (let k = 0; k < rows; k++) mem.set(src.subarray(k * srcLd + c0, k * srcLd + c0 + w), off + k * ld);
}

/** Copies a [rows, w] block at off (row stride ld) into columns [c0, c0 + w) of dst (row stride dstLd). */
function takeColumns(mem: Float64Array, off: number, ld: number, dst: Float64Array, dstLd: number, rows: number, c0: number, w: number): void {
  for (let k = 0; k < rows; k++) dst.set(mem.subarray(off + k * ld, off + k * ld + w), k * dstLd + c0);
}

/** The done-counter of Q's pieces at f64 offset `at` of the workspace (an Int32 for Atomics). */
const counter = (mem: Float64Array, at: number) => new Int32Array(mem.buffer, mem.byteOffset + at * 8, 1);

/**
 * One piece of the forward pass. The first qPieces pieces solve Q = Lz^{-T}
 * (S - I) in place over S - I, columns [q0, q0 + qw) each, and count
 * themselves done at CNT; the others take columns [c0, c0 + pw) of the
 * chunk, and wait for Q (claimed before them, so never for a piece not
 * running) only between their solve and their product. params: M, w, pw,
 * ld, KK, ldk, LZ, LUT, QQ, XA, XY, MV, MT, VT, viaQ, qPieces, qw, CNT —
 * offsets of K [M, ldk], Lz, L^T (Lz^T through Q), Q [M, M], A, Z (or W)
 * [M, ld], m [M], meanTerm, varTerm [w]. Every column's results come from
 * that column alone.
 */
export function forwardColumns(mem: Float64Array, params: Float64Array, piece: number): void {
  const [M, w, pw, ld, KK, ldk, LZ, LUT, QQ, XA, XY, MV, MT, VT, viaQ, qPieces, qw, CNT] = offsets(params, 18);
  if (piece < qPieces) {
    const q0 = piece * qw;
    try {
      solveUpperInPlace(mem, M, Math.min(qw, M - q0), LUT, QQ + q0, M);
    } finally {
      // Counted even if it threw: the pieces waiting for Q go on, and the pool reports the error.
      const done = counter(mem, CNT);
      if (Atomics.add(done, 0, 1) + 1 === qPieces) Atomics.notify(done, 0);
    }
    return;
  }
  const c0 = (piece - qPieces) * pw, cw = Math.min(pw, w - c0);
  if (cw <= 0) return;
  for (let k = 0; k < M; k++) mem.copyWithin(XA + k * ld + c0, KK + k * ldk + c0, KK + k * ldk + c0 + cw);
  solveLowerInPlace(mem, M, cw, LZ, XA + c0, ld);
  if (viaQ) {
    const done = counter(mem, CNT);
    for (let d = Atomics.load(done, 0); d < qPieces; d = Atomics.load(done, 0)) Atomics.wait(done, 0, d, 5);
    gemm(mem, M, cw, M, QQ, M, XA + c0, ld, XY + c0, ld, 1, true); // Z := Q A
  } else {
    for (let k = 0; k < M; k++) mem.fill(0, XY + k * ld + c0, XY + k * ld + c0 + cw);
    triangularMatmulInto(mem, M, cw, LUT, false, XA + c0, XY + c0, ld);
  }
  const mt = MT + c0, vt = VT + c0;
  mem.fill(0, mt, mt + cw);
  mem.fill(0, vt, vt + cw);
  // Four rows a sweep through meanTerm and varTerm (a quarter of their loads and stores), then one at a time.
  const M4 = viaQ ? M - (M % 4) : 0;
  for (let k = 0; k < M4; k += 4) {
    const a = XA + k * ld + c0, y = XY + k * ld + c0, kk = KK + k * ldk + c0;
    const m0 = mem[MV + k], m1 = mem[MV + k + 1], m2 = mem[MV + k + 2], m3 = mem[MV + k + 3];
    for (let i = 0; i < cw; i++) {
      mem[mt + i] += mem[a + i] * m0 + mem[a + ld + i] * m1 + mem[a + 2 * ld + i] * m2 + mem[a + 3 * ld + i] * m3;
      mem[vt + i] += mem[kk + i] * mem[y + i] + mem[kk + ldk + i] * mem[y + ld + i] + mem[kk + 2 * ldk + i] * mem[y + 2 * ld + i] + mem[kk + 3 * ldk + i] * mem[y + 3 * ld + i];
    }
  }
  for (let k = M4; k < M; k++) {
    const a = XA + k * ld + c0, y = XY + k * ld + c0, mk = mem[MV + k];
    if (viaQ) {
      const kk = KK + k * ldk + c0;
      for (let i = 0; i < cw; i++) {
        mem[mt + i] += mem[a + i] * mk;
        mem[vt + i] += mem[kk + i] * mem[y + i];
      }
    } else {
      for (let i = 0; i < cw; i++) {
        const ai = mem[a + i], wi = mem[y + i];
        mem[mt + i] += ai * mk;
        mem[vt + i] += wi * wi - ai * ai;
      }
    }
  }
}
const FORWARD_TASK = poolTask(__filename, "forwardColumns", forwardColumns);

/**
 * Fills `s` (A, Z or W, meanTerm, varTerm) for K_Zx [M, B] (row-major), given
 * or written by `Kzx(out)` into the workspace (the fused reductions write the
 * shared arena in place: no [M, B] array a step).
 * shapes: Lz, L [M, M] lower (their upper triangles are not read), m [M]
 */
export function whitenedForward(
  s: WhitenedState, Lz: Mat, L: Mat, m: Float64Array, Kzx: Float64Array | ((out: Float64Array) => void), B: number, limit = WORKSPACE_LIMIT,
): void {
  const M = s.M;
  s.discard(); // A and Y of an earlier pass are overwritten: no need to save them
  s.resize(B);
  const viaQ = (s.throughQ = throughQ(M, B));
  const ld = s.ld, MM = M * M;
  const { fixed, perColumn } = forwardWorkspace(M, B);
  const bc = chunkColumns(B, fixed, perColumn, limit), ldc = paddedStride(bc);
  // A and Y first, where the backward pass puts them: without chunks they can stay there between the passes.
  // K after them: written there by the callback (row stride B) in one chunk, else copied a chunk at a time.
  const XA = 0, XY = M * ldc, XK = 2 * XY, F0 = 3 * XY;
  const LUT = F0, LZ = F0 + MM, LL = F0 + 2 * MM, QQ = F0 + 3 * MM, MV = F0 + (viaQ ? 4 : 2) * MM, MT = MV + up8(M), VT = MT + up8(bc), CNT = VT + up8(bc);
  const mem = workspace(CNT + 8);
  const inPlace = typeof Kzx === "function" && bc === B;
  let src = Kzx as Float64Array;
  if (typeof Kzx === "function") {
    if (inPlace) Kzx(mem.subarray(XK, XK + M * B));
    else Kzx((src = new Float64Array(M * B)));
  }
  // Transposes from the arena's own copies (arena to arena they run in WebAssembly).
  mem.set(Lz.data, LZ); // only its lower triangle is read
  mem.fill(0, LUT, LUT + MM);
  if (viaQ) {
    // S - I from L and L^T, then Lz^T over L^T's place: the first chunk's task solves Q from them.
    mem.fill(0, LL, LL + MM);
    for (let i = 0; i < M; i++) mem.set(L.data.subarray(i * M, i * M + i + 1), LL + i * M);
    transposeLower(mem, LL, M, mem, LUT, M, M);
    covarianceInto(mem, M, LL, LUT, QQ);
    for (let i = 0; i < M; i++) mem[QQ + i * M + i] -= 1;
    mem.fill(0, LUT, LUT + MM);
    transposeLower(mem, LZ, M, mem, LUT, M, M);
  } else transposeLower(L.data, 0, M, mem, LUT, M, M);
  mem.set(m, MV);
  // In one chunk on the arena, A and Y stay there (at row stride ld) until the backward pass or another arena user.
  const stay = bc === B && isArena(mem);
  for (let c0 = 0; c0 < B; c0 += bc) {
    const w = Math.min(bc, B - c0), ldw = paddedStride(w), pw = pieceColumns(M, w);
    if (!inPlace) putColumns(mem, XK, ldw, src, B, M, c0, w);
    const [KK, ldk] = inPlace ? [XK, B] : [XK, ldw];
    // Q's column pieces first (the first chunk only): one per thread when the solve is worth the threads.
    const qPieces = viaQ && c0 === 0 ? Math.ceil(M / qColumns(M)) : 0;
    counter(mem, CNT)[0] = 0;
    runTask(mem, FORWARD_TASK, [M, w, pw, ldw, KK, ldk, LZ, LUT, QQ, XA, XY, MV, MT, VT, viaQ ? 1 : 0, qPieces, qColumns(M), CNT], qPieces + Math.ceil(w / pw));
    s.meanTerm.set(mem.subarray(MT, MT + w), c0);
    s.varTerm.set(mem.subarray(VT, VT + w), c0);
    if (!stay) {
      takeColumns(mem, XA, ldw, s.A, ld, M, c0, w);
      takeColumns(mem, XY, ldw, s.Y, ld, M, c0, w);
    }
  }
  if (stay) {
    const save = (view: Float64Array) => {
      takeColumns(view, XA, ld, s.A, ld, M, 0, B);
      takeColumns(view, XY, ld, s.Y, ld, M, 0, B);
    };
    s.resident = save;
    leaveInArena(save);
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
 * One piece of the backward pass: columns [c0, c0 + pw) of the chunk.
 * params: M, w, pw, ld, ldt, viaQ, LL, LZT, MV, VZ, GMU, GVAR, DMP, XA, XY, D, DA, AT, WT —
 * offsets of L, Lz^T [M, M], m, Lz^{-T} m [M], gMu, gVar [w], dm's partial
 * sums [blocks of DM_BLOCK columns, up8(M)], A, Z (or W), D = A G, dK_Zx
 * [M, ld], A^T, W^T [w, ldt]. Writes the piece's blocks of dm = A gMu,
 * D = A G, A^T (and W^T), and dK_Zx in DA.
 */
export function backwardColumns(mem: Float64Array, params: Float64Array, piece: number): void {
  const [M, w, pw, ld, ldt, viaQ, LL, LZT, MV, VZ, GMU, GVAR, DMP, XA, XY, D, DA, AT, WT] = offsets(params, 19);
  const c0 = piece * pw, cw = Math.min(pw, w - c0);
  if (cw <= 0) return;
  const gmu = GMU + c0, gvar = GVAR + c0, M8 = up8(M);
  for (let k = 0; k < M; k++) {
    const a = XA + k * ld + c0, d = D + k * ld + c0;
    for (let b0 = 0; b0 < cw; b0 += DM_BLOCK) {
      const b1 = Math.min(cw, b0 + DM_BLOCK);
      let t = 0;
      for (let i = b0; i < b1; i++) {
        const ai = mem[a + i];
        t += ai * mem[gmu + i];
        mem[d + i] = ai * mem[gvar + i];
      }
      mem[DMP + ((c0 + b0) / DM_BLOCK) * M8 + k] = t;
    }
  }
  transposeInto(mem, XA + c0, ld, mem, AT + c0 * ldt, ldt, M, cw);
  if (viaQ) {
    // dK_Zx = Lz^{-T} (m gMu^T + 2 (S - I) A G) = (Lz^{-T} m) gMu^T + 2 Z G.
    for (let k = 0; k < M; k++) {
      const da = DA + k * ld + c0, z = XY + k * ld + c0, vk = mem[VZ + k];
      for (let i = 0; i < cw; i++) mem[da + i] = vk * mem[gmu + i] + 2 * mem[z + i] * mem[gvar + i];
    }
    return;
  }
  // dA = m gMu^T + 2 (L W - A) G (L W into dA's place), then dK_Zx = Lz^{-T} dA.
  transposeInto(mem, XY + c0, ld, mem, WT + c0 * ldt, ldt, M, cw);
  for (let k = 0; k < M; k++) mem.fill(0, DA + k * ld + c0, DA + k * ld + c0 + cw);
  triangularMatmulInto(mem, M, cw, LL, true, XY + c0, DA + c0, ld);
  for (let k = 0; k < M; k++) {
    const da = DA + k * ld + c0, a = XA + k * ld + c0, mk = mem[MV + k];
    for (let i = 0; i < cw; i++) mem[da + i] = mk * mem[gmu + i] + 2 * (mem[da + i] - mem[a + i]) * mem[gvar + i];
  }
  solveUpperInPlace(mem, M, cw, LZT, DA + c0, ld);
}
const BACKWARD_TASK = poolTask(__filename, "backwardColumns", backwardColumns);

/**
 * Gradients of sum_i gMu_i meanTerm_i + gVar_i varTerm_i with respect to m,
 * L, K_Zx and K_ZZ (through Lz), from the state of the last forward pass.
 * shapes: gMu, gVar [B]
 */
export function whitenedBackward(
  s: WhitenedState, Lz: Mat, L: Mat, m: Float64Array, gMu: Float64Array, gVar: Float64Array, limit = WORKSPACE_LIMIT,
): WhitenedGradients {
  const M = s.M, B = s.B, ld = s.ld, ldt = paddedStride(M), MM = M * M, viaQ = s.throughQ;
  // Through Q: Lz^T, L, L^T, C, L^T C, E; directly: Lz^T, L, 2 A G W^T, E. The Cholesky
  // backward's scratch reuses C's place: it runs last.
  const { fixed, perColumn } = backwardWorkspace(M, B);
  const bc = chunkColumns(B, fixed, perColumn, limit);
  const ldc = paddedStride(bc);
  // A and Y first, where the forward pass left them (in place when it still holds them: one chunk).
  const XA = 0, XY = M * ldc, D = XY + M * ldc, DA = D + M * ldc, AT = DA + M * ldc, WT = AT + bc * ldt, F0 = viaQ ? WT : WT + bc * ldt;
  const LZT = F0, LL = F0 + MM, CC = F0 + 2 * MM, E = F0 + 3 * MM, LUT = F0 + 4 * MM, LTC = F0 + 5 * MM, SCR = CC;
  const MV = F0 + (viaQ ? 6 : 4) * MM, VZ = MV + up8(M), GMU = VZ + up8(M), GVAR = GMU + up8(bc), DMP = GVAR + up8(bc), blocks = Math.ceil(bc / DM_BLOCK);
  const save = s.resident, held = save && reclaimArena(save);
  const inPlace = !!held && bc === B;
  if (save && held && !inPlace) save(held);
  s.resident = null;
  const mem = workspace(DMP + blocks * up8(M));
  if (inPlace && !isArena(mem)) throw new Error("whitenedBackward: the forward pass's A and Y were left in the arena but the workspace is not there");
  // Zeros where the triangular kernels read them (L above, L^T below the diagonal, L^T C and the
  // accumulated sums); Lz^T's lower part is not read, C and E through Q are overwritten.
  if (viaQ) {
    mem.fill(0, LL, CC);
    mem.set(Lz.data, LTC); // a copy in the arena (L^T C's place, zeroed below), transposed there in WebAssembly
    transposeLower(mem, LTC, M, mem, LZT, M, M); // Lz^T, upper
    mem.fill(0, LUT, LUT + 2 * MM);
  } else {
    mem.fill(0, F0, MV);
    transposeLower(Lz.data, 0, M, mem, LZT, M, M); // Lz^T, upper
  }
  for (let i = 0; i < M; i++) mem.set(L.data.subarray(i * M, i * M + i + 1), LL + i * M); // L, lower
  if (viaQ) transposeLower(mem, LL, M, mem, LUT, M, M); // L^T, upper
  mem.set(m, MV);
  if (viaQ) {
    // Lz^{-T} m by back substitution (one column: M^2 / 2 multiply-adds, below a blocked solve's overhead).
    for (let i = M - 1; i >= 0; i--) {
      const r = LZT + i * M;
      let t = m[i];
      for (let k = i + 1; k < M; k++) t -= mem[r + k] * mem[VZ + k];
      mem[VZ + i] = t / mem[r + i];
    }
  }

  // Column chunks: dm, C (or 2 A G W^T) and the direct dLz accumulate; dK_Zx is per column.
  const dm = new Float64Array(M);
  const dKzx = s.dKzx;
  for (let c0 = 0; c0 < B; c0 += bc) {
    const w = Math.min(bc, B - c0), ldw = paddedStride(w), pw = pieceColumns(M, w);
    if (!inPlace) {
      putColumns(mem, XA, ldw, s.A, ld, M, c0, w);
      putColumns(mem, XY, ldw, s.Y, ld, M, c0, w);
    }
    mem.set(gMu.subarray(c0, c0 + w), GMU);
    mem.set(gVar.subarray(c0, c0 + w), GVAR);
    const XD = D, XDA = DA; // at row stride ldw this chunk
    runTask(mem, BACKWARD_TASK, [M, w, pw, ldw, ldt, viaQ ? 1 : 0, LL, LZT, MV, VZ, GMU, GVAR, DMP, XA, XY, XD, XDA, AT, WT], Math.ceil(w / pw));
    for (let b = 0; b < Math.ceil(w / DM_BLOCK); b++) for (let k = 0; k < M; k++) dm[k] += mem[DMP + b * up8(M) + k];
    if (viaQ) {
      lowerPanelProduct(mem, M, w, XD, ldw, AT, ldt, CC, M, 1, false, c0 === 0); // C (+)= tril(A G A^T)
    } else {
      lowerPanelProduct(mem, M, w, XD, ldw, WT, ldt, CC, M, 2); // 2 tril(A G W^T) (= 2 tril(C L), as W = L^T A)
      lowerPanelProduct(mem, M, w, XDA, ldw, AT, ldt, E, M, 1); // E += tril(dK_Zx A^T)
    }
    takeColumns(mem, XDA, ldw, dKzx, B, M, c0, w);
  }

  const dL = s.dL, dKzz = s.dKzz;
  dL.data.fill(0);
  if (viaQ) {
    // C mirrored to the full symmetric matrix; L^T C; dL = 2 tril(C L) = 2 tril((L^T C)^T).
    transposeLower(mem, CC, M, mem, CC, M, M);
    triangularMatmulColumns(mem, M, M, LUT, false, CC, LTC, M);
    for (let i = 0; i < M; i++) for (let j = 0; j <= i; j++) dL.data[i * M + j] = 2 * mem[LTC + j * M + i];
    // E = m dm^T + 2 (L (L^T C) - C), lower block triangle only.
    lowerPanelProduct(mem, M, M, LL, M, LTC, M, E, M, 1, true, true);
    for (let i = 0; i < M; i++) {
      const mi = m[i], r = E + i * M, c = CC + i * M;
      for (let j = 0; j <= i; j++) mem[r + j] = mi * dm[j] + 2 * (mem[r + j] - mem[c + j]);
    }
    // dK_ZZ = Lz^{-T} (-Psi(E)) Lz^{-1} (see the top of the file); C's place is the scratch.
    symmetricFromLowerInPlace(mem, M, E, -0.5);
    inverseSandwichInto(mem, M, LZT, E, SCR, dKzz.data);
  } else {
    for (let i = 0; i < M; i++) dL.data.set(mem.subarray(CC + i * M, CC + i * M + i + 1), i * M);
    // E's lower triangle is -dLz; the Cholesky backward wants dLz with zeros above.
    for (let i = 0; i < M; i++) {
      const r = E + i * M;
      for (let j = 0; j <= i; j++) mem[r + j] = -mem[r + j];
      mem.fill(0, r + i + 1, r + M);
    }
    choleskyBackwardInto(mem, M, LZT, E, SCR, dKzz.data);
  }
  // A and Y are still where they were read: left there for the next user (a second backward pass, predictions).
  if (save && inPlace) {
    s.resident = save;
    leaveInArena(save);
  }
  return { dm, dL, dKzx: dKzx.subarray(0, M * B), dKzz };
}
