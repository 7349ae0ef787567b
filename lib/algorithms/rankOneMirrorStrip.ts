// The exact MLL's gradient weights W = s (v v^T - C) from the lower
// triangle of the symmetric C, in place in the arena and mirrored into the
// upper triangle, for a strip of rows as one WebAssembly call
// (choleskyInverse.ts's writeSymmetric; the strip's diagonal tile stays in
// JS). As in transposeStrip.ts, columns go two at a time and, for each
// pair, the strip's rows two at a time: the two rows' f64x2 results are
// stored in place and, lane-shuffled, as the pair of mirrored rows. Each
// entry is s * (v_a * v_b - c_ab), the same operations in the same order
// as the JS loop, so the bits agree.

import { F64, I32, Simd, V128, buildModule } from "../reductions/wasm/binary";
import { LaneCode, OP } from "./laneCode";

// Parameters: c = byte address of C[0, 0], ldc = its row stride in bytes, i0 = the strip's first row,
// rows, cols = the strip's rows and the columns [0, cols) taken (cols <= i0), v = byte address of v[0], s.
const P = { c: 0, ldc: 1, i0: 2, rows: 3, cols: 4, v: 5, s: 6 } as const;
const PARAM_COUNT = 7;

/**
 * run(c, ldc, i0, rows, cols, v, s): for a in [i0, i0 + rows), b < cols,
 * W[a, b] = W[b, a] = s (v[a] v[b] - C[a, b]), over C in place.
 */
export function rankOneMirrorStripModule(): Uint8Array {
  let next = PARAM_COUNT;
  const b = next++, a = next++, pr = next++, pm = next++, pv = next++, rowsEnd = next++, colsEven = next++, ldc2 = next++;
  const i32Count = next - PARAM_COUNT;
  const vb = next++, vs = next++, x = next++, y = next++;
  const v128Count = next - PARAM_COUNT - i32Count;
  const c = new LaneCode();
  c.localGet(P.i0).localGet(P.rows).i32Const(-2).op(OP.i32And).i32Add().localSet(rowsEnd);
  c.localGet(P.cols).i32Const(-2).op(OP.i32And).localSet(colsEven);
  c.localGet(P.ldc).localGet(P.ldc).i32Add().localSet(ldc2);
  c.localGet(P.s).f64x2Splat().localSet(vs);
  // Column pairs.
  c.i32Const(0).localSet(b);
  c.block().loop();
  {
    c.localGet(b).localGet(colsEven).i32GeU().brIf(1);
    c.localGet(P.v).localGet(b).i32Const(8).i32Mul().i32Add().v128Load().localSet(vb);
    // pr: C[a, b]; pm: C[b, a]; pv: v[a].
    c.localGet(P.c).localGet(P.i0).localGet(P.ldc).i32Mul().i32Add().localGet(b).i32Const(8).i32Mul().i32Add().localSet(pr);
    c.localGet(P.c).localGet(b).localGet(P.ldc).i32Mul().i32Add().localGet(P.i0).i32Const(8).i32Mul().i32Add().localSet(pm);
    c.localGet(P.v).localGet(P.i0).i32Const(8).i32Mul().i32Add().localSet(pv);
    c.localGet(P.i0).localSet(a);
    c.block().loop();
    {
      c.localGet(a).localGet(rowsEnd).i32GeU().brIf(1);
      // x = s (v[a] vb - C[a, b:b+2]), y likewise for row a + 1.
      c.localGet(vs).localGet(pv).f64LoadAt(0).f64x2Splat().localGet(vb).simd(Simd.f64x2Mul).localGet(pr).v128Load().simd(Simd.f64x2Sub).simd(Simd.f64x2Mul).localSet(x);
      c.localGet(vs).localGet(pv).f64LoadAt(8).f64x2Splat().localGet(vb).simd(Simd.f64x2Mul).localGet(pr).localGet(P.ldc).i32Add().v128Load().simd(Simd.f64x2Sub).simd(Simd.f64x2Mul).localSet(y);
      c.localGet(pr).localGet(x).v128Store();
      c.localGet(pr).localGet(P.ldc).i32Add().localGet(y).v128Store();
      c.localGet(pm).localGet(x).localGet(y).pairLanes(false).v128Store();
      c.localGet(pm).localGet(P.ldc).i32Add().localGet(x).localGet(y).pairLanes(true).v128Store();
      c.localGet(pr).localGet(ldc2).i32Add().localSet(pr);
      c.localGet(pm).i32Const(16).i32Add().localSet(pm);
      c.localGet(pv).i32Const(16).i32Add().localSet(pv);
      c.localGet(a).i32Const(2).i32Add().localSet(a);
      c.br(0);
    }
    c.end().end();
    // An odd last row: its pair of entries, mirrored one by one.
    c.block();
    {
      c.localGet(rowsEnd).localGet(P.i0).localGet(P.rows).i32Add().op(OP.i32LtU).op(OP.i32Eqz).brIf(0);
      c.localGet(vs).localGet(pv).f64LoadAt(0).f64x2Splat().localGet(vb).simd(Simd.f64x2Mul).localGet(pr).v128Load().simd(Simd.f64x2Sub).simd(Simd.f64x2Mul).localSet(x);
      c.localGet(pr).localGet(x).v128Store();
      c.localGet(pm).localGet(x).simd(Simd.f64x2ExtractLane, 0).f64StoreAt(0);
      c.localGet(pm).localGet(P.ldc).i32Add().localGet(x).simd(Simd.f64x2ExtractLane, 1).f64StoreAt(0);
    }
    c.end();
    c.localGet(b).i32Const(2).i32Add().localSet(b);
    c.br(0);
  }
  c.end().end();
  // An odd last column: one entry per row, s * (v[a] * v[b] - C[a, b]) in f64.
  c.block();
  {
    c.localGet(colsEven).localGet(P.cols).op(OP.i32LtU).op(OP.i32Eqz).brIf(0);
    c.localGet(P.c).localGet(P.i0).localGet(P.ldc).i32Mul().i32Add().localGet(colsEven).i32Const(8).i32Mul().i32Add().localSet(pr);
    c.localGet(P.c).localGet(colsEven).localGet(P.ldc).i32Mul().i32Add().localGet(P.i0).i32Const(8).i32Mul().i32Add().localSet(pm);
    c.localGet(P.v).localGet(P.i0).i32Const(8).i32Mul().i32Add().localSet(pv);
    c.localGet(P.i0).localGet(P.rows).i32Add().localSet(rowsEnd);
    c.localGet(P.i0).localSet(a);
    c.block().loop();
    {
      c.localGet(a).localGet(rowsEnd).i32GeU().brIf(1);
      c.localGet(pr);
      c.localGet(P.s).localGet(pv).f64LoadAt(0).localGet(P.v).localGet(colsEven).i32Const(8).i32Mul().i32Add().f64LoadAt(0).f64Mul();
      c.localGet(pr).f64LoadAt(0).op(OP.f64Sub).f64Mul();
      c.f64StoreAt(0);
      c.localGet(pm).localGet(pr).f64LoadAt(0).f64StoreAt(0);
      c.localGet(pr).localGet(P.ldc).i32Add().localSet(pr);
      c.localGet(pm).i32Const(8).i32Add().localSet(pm);
      c.localGet(pv).i32Const(8).i32Add().localSet(pv);
      c.localGet(a).i32Const(1).i32Add().localSet(a);
      c.br(0);
    }
    c.end().end();
  }
  c.end();
  return buildModule([I32, I32, I32, I32, I32, I32, F64], [[i32Count, I32], [v128Count, V128]], c);
}
