// WebAssembly SIMD kernel for the gradient pass of an exact GP on the
// iterative path: the bilinear derivative sum_ij w_ij dk_ij/dtheta of a
// stationary kernel c * k(|x_i - y_j|^2) with low-rank weights
// w_ij = U_i . W_j (U [n, T], W [m, T]; T = probes + 1, so never n x m).
//
// Per pair it evaluates s, k(s) and dk/ds once and accumulates
//   acc[0]     += w_ij k(s_ij)                  (d/dc of the sum, before c)
//   acc[1 + q] += w_ij dk/ds(s_ij) du_q^2        (d/d(scaled input) pieces, before c)
// matching gradientLayout(formula) for one sqdist factor, one term; the JS
// wrapper multiplies the per-dimension slots by c.
//
// Symmetric mode (K(x, x), U and W both given on the same points) visits each
// unordered pair once with weight w_ij + w_ji = U_i . W_j + W_i . U_j: the
// exp and the distances are shared, the weights cost twice as many products.
//
// Memory layout (byte offsets passed in): Y^T [d, mPad], W^T [T, mPad],
// U^T [T, mPad] (symmetric only), X rows [rows, d], U rows [rows, T],
// W rows [rows, T] (symmetric only), ACC [1 + d] f64 (added to, not set).
// Padded columns of W^T / U^T are 0, so they contribute nothing.

import { Code, F64, I32, Simd, V128, buildModule } from "./binary";
import { type StationaryProfileName, emitExp, emitSquaredDistance } from "./stationaryMatmul";

/**
 * Columns per inner-loop iteration (two f64x2 chains): each chain keeps d
 * differences, s, k, dk/ds and its weight live, so more chains only spill
 * (measured slower with 8 or 16).
 */
export const BILINEAR_COLUMN_STEP = 4;

const P = { yOff: 0, wTOff: 1, xOff: 2, uRowOff: 3, rows: 4, mPad: 5, colCount: 6, uTOff: 7, wRowOff: 8, accOff: 9 } as const;
const PARAM_COUNT = 10;
/** f64x2.div (not needed by the matmul kernel, so not in binary.ts's table). */
const F64X2_DIV = 0xf3;
/** Keeps dk/ds finite at r = 0 for Matern 1/2, where du^2 = 0 makes the product 0 anyway. */
const TINY = 1e-300;

export function stationaryBilinearModule(profile: StationaryProfileName, d: number, T: number, options: { symmetric?: boolean } = {}): Uint8Array {
  const symmetric = options.symmetric ?? false;
  const chains = BILINEAR_COLUMN_STEP / 2;
  let next = PARAM_COUNT;
  const iRow = next++, j8 = next++, colBytes = next++, colEnd = next++, xRow = next++, uRow = next++, wRow = next++;
  const yCol = Array.from({ length: d }, () => next++);
  const wCol = Array.from({ length: T }, () => next++);
  const uCol = symmetric ? Array.from({ length: T }, () => next++) : [];
  const i32Count = next - PARAM_COUNT;
  const xk = Array.from({ length: d }, () => next++);
  const ui = Array.from({ length: T }, () => next++);
  const wi = symmetric ? Array.from({ length: T }, () => next++) : [];
  const acc = Array.from({ length: 1 + d }, () => next++);
  const scratch = Array.from({ length: chains }, () => ({
    s: next++, kv: next++, dkv: next++, w: next++, t1: next++, t2: next++,
    du: Array.from({ length: d }, () => next++),
  }));
  const v128Count = next - PARAM_COUNT - i32Count;

  const c = new Code();
  c.localGet(P.mPad).i32Const(8).i32Mul().localSet(colBytes);
  c.localGet(P.colCount).i32Const(8).i32Mul().localSet(colEnd);
  yCol.forEach((l, k) => c.localGet(P.yOff).localGet(colBytes).i32Const(k).i32Mul().i32Add().localSet(l));
  wCol.forEach((l, t) => c.localGet(P.wTOff).localGet(colBytes).i32Const(t).i32Mul().i32Add().localSet(l));
  uCol.forEach((l, t) => c.localGet(P.uTOff).localGet(colBytes).i32Const(t).i32Mul().i32Add().localSet(l));
  acc.forEach((l) => c.f64x2Const(0).localSet(l));
  c.i32Const(0).localSet(iRow);
  c.block().loop();
  {
    c.localGet(iRow).localGet(P.rows).i32GeU().brIf(1);
    c.localGet(P.xOff).localGet(iRow).i32Const(d * 8).i32Mul().i32Add().localSet(xRow);
    c.localGet(P.uRowOff).localGet(iRow).i32Const(T * 8).i32Mul().i32Add().localSet(uRow);
    xk.forEach((l, k) => c.localGet(xRow).i32Const(k * 8).i32Add().f64Load().f64x2Splat().localSet(l));
    ui.forEach((l, t) => c.localGet(uRow).i32Const(t * 8).i32Add().f64Load().f64x2Splat().localSet(l));
    if (symmetric) {
      c.localGet(P.wRowOff).localGet(iRow).i32Const(T * 8).i32Mul().i32Add().localSet(wRow);
      wi.forEach((l, t) => c.localGet(wRow).i32Const(t * 8).i32Add().f64Load().f64x2Splat().localSet(l));
    }
    c.i32Const(0).localSet(j8);
    c.block().loop();
    {
      c.localGet(j8).localGet(colEnd).i32GeU().brIf(1);
      scratch.forEach(({ s, kv, dkv, w, t1, t2, du }, chain) => {
        const at = (base: number) => c.localGet(base).localGet(j8).i32Add().i32Const(16 * chain).i32Add().v128Load();
        // du_k = x_k - y_k; s = sum du_k^2
        emitSquaredDistance(c, xk, yCol, j8, chain, s, du);
        // w = U_i . W_j (+ W_i . U_j)
        ui.forEach((l, t) => {
          c.localGet(l);
          at(wCol[t]);
          c.simd(Simd.f64x2Mul);
          if (t > 0) c.simd(Simd.f64x2Add);
        });
        wi.forEach((l, t) => {
          c.localGet(l);
          at(uCol[t]);
          c.simd(Simd.f64x2Mul).simd(Simd.f64x2Add);
        });
        c.localSet(w);
        emitProfileAndSlope(c, profile, s, kv, dkv, t1, t2);
        c.localGet(acc[0]).localGet(w).localGet(kv).simd(Simd.f64x2Mul).simd(Simd.f64x2Add).localSet(acc[0]);
        // dkv <- w * dk/ds, then acc[1 + k] += dkv * du_k^2
        c.localGet(w).localGet(dkv).simd(Simd.f64x2Mul).localSet(dkv);
        du.forEach((l, k) => {
          c.localGet(acc[1 + k]).localGet(dkv).localGet(l).simd(Simd.f64x2Mul).localGet(l).simd(Simd.f64x2Mul).simd(Simd.f64x2Add).localSet(acc[1 + k]);
        });
      });
      c.localGet(j8).i32Const(16 * chains).i32Add().localSet(j8);
      c.br(0);
    }
    c.end().end();
    c.localGet(iRow).i32Const(1).i32Add().localSet(iRow);
    c.br(0);
  }
  c.end().end();
  // ACC[q] += lane0 + lane1
  acc.forEach((l, q) => {
    c.localGet(P.accOff).i32Const(q * 8).i32Add();
    c.localGet(P.accOff).i32Const(q * 8).i32Add().f64Load();
    c.localGet(l).simd(Simd.f64x2ExtractLane, 0).f64Add().localGet(l).simd(Simd.f64x2ExtractLane, 1).f64Add();
    c.f64Store();
  });
  return buildModule([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32], [[i32Count, I32], [v128Count, V128]], c);
}

/** kv = k(s), dkv = dk/ds; s, t1, t2 are clobbered. */
function emitProfileAndSlope(c: Code, profile: StationaryProfileName, s: number, kv: number, dkv: number, t1: number, t2: number): void {
  if (profile === "rbf") {
    c.localGet(s).f64x2Const(-0.5).simd(Simd.f64x2Mul).localSet(t1);
    emitExp(c, t1, kv, t2);
    c.localGet(kv).f64x2Const(-0.5).simd(Simd.f64x2Mul).localSet(dkv);
    return;
  }
  const scale = profile === "matern12" ? 1 : profile === "matern32" ? Math.sqrt(3) : Math.sqrt(5);
  // t2 = a = scale * sqrt(s); e = exp(-a) into dkv for now
  c.localGet(s).simd(Simd.f64x2Sqrt).f64x2Const(scale).simd(Simd.f64x2Mul).localSet(t2);
  c.localGet(t2).f64x2Const(-1).simd(Simd.f64x2Mul).localSet(t1);
  emitExp(c, t1, dkv, s);
  if (profile === "matern12") {
    // k = e; dk/ds = -e / (2 r)
    c.localGet(dkv).localSet(kv);
    c.localGet(kv).f64x2Const(-0.5).simd(Simd.f64x2Mul);
    c.localGet(t2).f64x2Const(TINY).simd(Simd.f64x2Max).simd(F64X2_DIV).localSet(dkv);
  } else if (profile === "matern32") {
    // k = (1 + a) e; dk/ds = -1.5 e
    c.localGet(t2).f64x2Const(1).simd(Simd.f64x2Add).localGet(dkv).simd(Simd.f64x2Mul).localSet(kv);
    c.localGet(dkv).f64x2Const(-1.5).simd(Simd.f64x2Mul).localSet(dkv);
  } else {
    // k = (1 + a + a^2 / 3) e; dk/ds = -(5/6) (1 + a) e
    c.localGet(t2).localGet(t2).simd(Simd.f64x2Mul).f64x2Const(1 / 3).simd(Simd.f64x2Mul);
    c.localGet(t2).simd(Simd.f64x2Add).f64x2Const(1).simd(Simd.f64x2Add);
    c.localGet(dkv).simd(Simd.f64x2Mul).localSet(kv);
    c.localGet(t2).f64x2Const(1).simd(Simd.f64x2Add).localGet(dkv).simd(Simd.f64x2Mul).f64x2Const(-5 / 6).simd(Simd.f64x2Mul).localSet(dkv);
  }
}
