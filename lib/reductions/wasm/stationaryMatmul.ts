// WebAssembly SIMD kernel for the most common reduction: K @ V with
// K = c * k(|x_i - y_j|^2) for a stationary profile (RBF, Matern 1/2, 3/2,
// 5/2). Two columns j, j+1 per f64x2 lane pair; f64 throughout, with an exp
// accurate to ~1e-14 (range reduction by ln 2 and a degree-11 polynomial).
// d and the number of right-hand sides T are baked in (unrolled).
//
// Memory layout (byte offsets passed in): Y^T [d, mPad], V^T [T, mPad],
// X rows [rows, d], OUT [rows, T]; mPad = m rounded up to a multiple of
// COLUMN_STEP, padded columns of V^T are 0. Each loop iteration handles
// COLUMN_STEP columns as independent f64x2 chains, so the long exp
// polynomial of one chain overlaps the other's.

import { Code, F64, I32, Simd, V128, buildModule } from "./binary";

export type StationaryProfileName = "rbf" | "matern12" | "matern32" | "matern52";
export const WASM_STATIONARY_PROFILES: readonly string[] = ["rbf", "matern12", "matern32", "matern52"];

const LOG2E = Math.LOG2E;
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
/** Keeps 2^k inside the normal range; exp(-700) ~ 1e-304 stands in for smaller values. */
const EXP_FLOOR = -700;
/**
 * Columns per inner-loop iteration (eight f64x2 chains). More independent
 * chains hide the exp polynomial's latency and amortise the spilled
 * accumulators' loads over more columns: measured on the 2-core build
 * machine, symmetric RBF products at n = 6,000 ran 1.3-1.6x faster with 8 or
 * 16 columns per step than with 4 (t = 1, 11, 16).
 */
export const COLUMN_STEP = 16;

/**
 * Parameters of `run`. yOff and vOff point at the first column of the range
 * to process (colCount columns; mPad is the row stride of Y^T and V^T).
 * Symmetric modules also add k_ij v_i[t] into column accumulators
 * CT [T, mPad] (at ctOff, same column shift) and read v_i[t] at
 * vRowOff + t * mPad * 8 + row * 8.
 */
const P = { yOff: 0, vOff: 1, xOff: 2, outOff: 3, rows: 4, mPad: 5, coef: 6, colCount: 7, ctOff: 8, vRowOff: 9 } as const;
const PARAM_COUNT = 10;

export function stationaryMatmulModule(
  profile: StationaryProfileName,
  d: number,
  T: number,
  options: { columnStep?: number; symmetric?: boolean } = {},
): Uint8Array {
  const columnStep = options.columnStep ?? COLUMN_STEP;
  const symmetric = options.symmetric ?? false;
  let next = PARAM_COUNT;
  const iRow = next++, j8 = next++, colBytes = next++, colEnd = next++, xRow = next++, outRow = next++, addr = next++;
  const yCol = Array.from({ length: d }, () => next++);
  const vCol = Array.from({ length: T }, () => next++);
  const ctCol = symmetric ? Array.from({ length: T }, () => next++) : [];
  const i32Count = next - PARAM_COUNT;
  const xk = Array.from({ length: d }, () => next++);
  const acc = Array.from({ length: T }, () => next++);
  const vi = symmetric ? Array.from({ length: T }, () => next++) : [];
  const chains = columnStep / 2;
  const scratch = Array.from({ length: chains }, () => ({ s: next++, kv: next++, t1: next++, t2: next++ }));
  const v128Count = next - PARAM_COUNT - i32Count;

  const c = new Code();
  // colBytes = mPad * 8 (row stride); colEnd = colCount * 8 (loop bound); column base pointers.
  c.localGet(P.mPad).i32Const(8).i32Mul().localSet(colBytes);
  c.localGet(P.colCount).i32Const(8).i32Mul().localSet(colEnd);
  yCol.forEach((l, k) => c.localGet(P.yOff).localGet(colBytes).i32Const(k).i32Mul().i32Add().localSet(l));
  vCol.forEach((l, t) => c.localGet(P.vOff).localGet(colBytes).i32Const(t).i32Mul().i32Add().localSet(l));
  ctCol.forEach((l, t) => c.localGet(P.ctOff).localGet(colBytes).i32Const(t).i32Mul().i32Add().localSet(l));
  c.i32Const(0).localSet(iRow);
  c.block().loop();
  {
    c.localGet(iRow).localGet(P.rows).i32GeU().brIf(1);
    // xRow = xOff + i*d*8; outRow = outOff + i*T*8
    c.localGet(P.xOff).localGet(iRow).i32Const(d * 8).i32Mul().i32Add().localSet(xRow);
    c.localGet(P.outOff).localGet(iRow).i32Const(T * 8).i32Mul().i32Add().localSet(outRow);
    xk.forEach((l, k) => c.localGet(xRow).i32Const(k * 8).i32Add().f64Load().f64x2Splat().localSet(l));
    acc.forEach((l) => c.f64x2Const(0).localSet(l));
    // v_i[t], broadcast, for the column accumulators.
    vi.forEach((l, t) => {
      c.localGet(P.vRowOff).localGet(colBytes).i32Const(t).i32Mul().i32Add().localGet(iRow).i32Const(8).i32Mul().i32Add();
      c.f64Load().f64x2Splat().localSet(l);
    });
    c.i32Const(0).localSet(j8);
    c.block().loop();
    {
      c.localGet(j8).localGet(colEnd).i32GeU().brIf(1);
      scratch.forEach(({ s, kv, t1, t2 }, chain) => {
        emitSquaredDistance(c, xk, yCol, j8, chain, s, Array(d).fill(t1));
        emitProfile(c, profile, s, kv, t1, t2);
      });
      acc.forEach((l, t) => {
        c.localGet(l);
        scratch.forEach(({ kv }, chain) => {
          c.localGet(kv).localGet(vCol[t]).localGet(j8).i32Add().i32Const(16 * chain).i32Add().v128Load().simd(Simd.f64x2Mul).simd(Simd.f64x2Add);
        });
        c.localSet(l);
      });
      // Symmetric: the same k_ij also contributes k_ij v_i to row j (column accumulators).
      ctCol.forEach((l, t) => {
        scratch.forEach(({ kv }, chain) => {
          c.localGet(l).localGet(j8).i32Add().i32Const(16 * chain).i32Add().localTee(addr);
          c.localGet(addr).v128Load().localGet(kv).localGet(vi[t]).simd(Simd.f64x2Mul).simd(Simd.f64x2Add).v128Store();
        });
      });
      c.localGet(j8).i32Const(16 * chains).i32Add().localSet(j8);
      c.br(0);
    }
    c.end().end();
    // out[i, t] = coef * (lane0 + lane1)
    acc.forEach((l, t) => {
      c.localGet(outRow).i32Const(t * 8).i32Add();
      c.localGet(l).simd(Simd.f64x2ExtractLane, 0).localGet(l).simd(Simd.f64x2ExtractLane, 1).f64Add();
      c.localGet(P.coef).f64Mul().f64Store();
    });
    c.localGet(iRow).i32Const(1).i32Add().localSet(iRow);
    c.br(0);
  }
  c.end().end();
  return buildModule([I32, I32, I32, I32, I32, I32, F64, I32, I32, I32], [[i32Count, I32], [v128Count, V128]], c);
}

/**
 * s = sum_k (x_k - y_k[j..j+1])^2 for the two columns of `chain` at byte
 * offset j8 (x_k broadcast in xk, y_k's column base in yCol); each
 * difference is left in du[k] (pass one scratch local d times to discard them).
 */
export function emitSquaredDistance(c: Code, xk: number[], yCol: number[], j8: number, chain: number, s: number, du: number[]): void {
  xk.forEach((l, k) => {
    c.localGet(l).localGet(yCol[k]).localGet(j8).i32Add().i32Const(16 * chain).i32Add().v128Load().simd(Simd.f64x2Sub).localTee(du[k]);
    c.localGet(du[k]).simd(Simd.f64x2Mul);
    if (k > 0) c.simd(Simd.f64x2Add);
  });
  c.localSet(s);
}

/** kv = profile(s); t1, t2 are scratch. */
function emitProfile(c: Code, profile: StationaryProfileName, s: number, kv: number, t1: number, t2: number): void {
  if (profile === "rbf") {
    c.localGet(s).f64x2Const(-0.5).simd(Simd.f64x2Mul).localSet(t1);
    emitExp(c, t1, kv, t2);
    return;
  }
  const scale = profile === "matern12" ? 1 : profile === "matern32" ? Math.sqrt(3) : Math.sqrt(5);
  // t2 = a = scale * sqrt(s); t1 = -a; kv = exp(-a)
  c.localGet(s).simd(Simd.f64x2Sqrt).f64x2Const(scale).simd(Simd.f64x2Mul).localSet(t2);
  c.localGet(t2).f64x2Const(-1).simd(Simd.f64x2Mul).localSet(t1);
  emitExp(c, t1, kv, s); // s is free now: reuse as scratch
  if (profile === "matern32") {
    // (1 + a) e
    c.localGet(t2).f64x2Const(1).simd(Simd.f64x2Add).localGet(kv).simd(Simd.f64x2Mul).localSet(kv);
  } else if (profile === "matern52") {
    // (1 + a + a^2 / 3) e
    c.localGet(t2).localGet(t2).simd(Simd.f64x2Mul).f64x2Const(1 / 3).simd(Simd.f64x2Mul);
    c.localGet(t2).simd(Simd.f64x2Add).f64x2Const(1).simd(Simd.f64x2Add);
    c.localGet(kv).simd(Simd.f64x2Mul).localSet(kv);
  }
}

/** out = exp(x) lane-wise for x <= 0; `scratch` is clobbered, x is clobbered. */
export function emitExp(c: Code, x: number, out: number, scratch: number): void {
  c.localGet(x).f64x2Const(EXP_FLOOR).simd(Simd.f64x2Max).localSet(x);
  // k = nearest(x / ln 2)
  c.localGet(x).f64x2Const(LOG2E).simd(Simd.f64x2Mul).simd(Simd.f64x2Nearest).localSet(scratch);
  // r = x - k ln2_hi - k ln2_lo  (stored in x)
  c.localGet(x).localGet(scratch).f64x2Const(LN2_HI).simd(Simd.f64x2Mul).simd(Simd.f64x2Sub);
  c.localGet(scratch).f64x2Const(LN2_LO).simd(Simd.f64x2Mul).simd(Simd.f64x2Sub).localSet(x);
  // p(r) = sum r^n / n!, n <= 11, by Horner
  let fact = 1;
  const coefs: number[] = [];
  for (let n = 0; n <= 11; n++) {
    if (n > 0) fact *= n;
    coefs.push(1 / fact);
  }
  c.f64x2Const(coefs[11]);
  for (let n = 10; n >= 0; n--) c.localGet(x).simd(Simd.f64x2Mul).f64x2Const(coefs[n]).simd(Simd.f64x2Add);
  c.localSet(out);
  // out *= 2^k: add k to the exponent bits.
  c.localGet(out);
  c.localGet(scratch).simd(Simd.i32x4TruncSatF64x2SZero).simd(Simd.i64x2ExtendLowI32x4S).i32Const(52).simd(Simd.i64x2Shl);
  c.simd(Simd.i64x2Add).localSet(out);
}

/**
 * Rows of K: OUT[i, j] = coef * k(|x_i - y_j|^2) written out (pivot rows of
 * the preconditioner, test rows of predictions). Same column step and exp as
 * K @ V. Parameters: Y^T at yOff [d, mPad], X rows at xOff [rows, d], OUT at
 * outOff [rows, mPad] (row stride mPad), colCount columns.
 */
export function stationaryRowsModule(profile: StationaryProfileName, d: number): Uint8Array {
  const R = { yOff: 0, xOff: 1, outOff: 2, rows: 3, mPad: 4, coef: 5, colCount: 6 } as const;
  const paramCount = 7;
  const chains = COLUMN_STEP / 2;
  let next = paramCount;
  const iRow = next++, j8 = next++, colBytes = next++, colEnd = next++, xRow = next++, outRow = next++;
  const yCol = Array.from({ length: d }, () => next++);
  const i32Count = next - paramCount;
  const xk = Array.from({ length: d }, () => next++);
  const coef = next++;
  const scratch = Array.from({ length: chains }, () => ({ s: next++, kv: next++, t1: next++, t2: next++ }));
  const v128Count = next - paramCount - i32Count;

  const c = new Code();
  c.localGet(R.mPad).i32Const(8).i32Mul().localSet(colBytes);
  c.localGet(R.colCount).i32Const(8).i32Mul().localSet(colEnd);
  yCol.forEach((l, k) => c.localGet(R.yOff).localGet(colBytes).i32Const(k).i32Mul().i32Add().localSet(l));
  c.localGet(R.coef).f64x2Splat().localSet(coef);
  c.i32Const(0).localSet(iRow);
  c.block().loop();
  {
    c.localGet(iRow).localGet(R.rows).i32GeU().brIf(1);
    c.localGet(R.xOff).localGet(iRow).i32Const(d * 8).i32Mul().i32Add().localSet(xRow);
    c.localGet(R.outOff).localGet(iRow).localGet(colBytes).i32Mul().i32Add().localSet(outRow);
    xk.forEach((l, k) => c.localGet(xRow).i32Const(k * 8).i32Add().f64Load().f64x2Splat().localSet(l));
    c.i32Const(0).localSet(j8);
    c.block().loop();
    {
      c.localGet(j8).localGet(colEnd).i32GeU().brIf(1);
      scratch.forEach(({ s, kv, t1, t2 }, chain) => {
        emitSquaredDistance(c, xk, yCol, j8, chain, s, Array(d).fill(t1));
        emitProfile(c, profile, s, kv, t1, t2);
        // OUT[i, j..j+1] = coef * k
        c.localGet(outRow).localGet(j8).i32Add().i32Const(16 * chain).i32Add();
        c.localGet(kv).localGet(coef).simd(Simd.f64x2Mul).v128Store();
      });
      c.localGet(j8).i32Const(16 * chains).i32Add().localSet(j8);
      c.br(0);
    }
    c.end().end();
    c.localGet(iRow).i32Const(1).i32Add().localSet(iRow);
    c.br(0);
  }
  c.end().end();
  return buildModule([I32, I32, I32, I32, I32, F64, I32], [[i32Count, I32], [v128Count, V128]], c);
}
