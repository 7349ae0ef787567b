// The transposed copy of a strip of at most a few dozen rows as one
// WebAssembly call, for the transposes between arena blocks (transpose.ts):
// dst[j, i] = src[i, j]. Columns go two at a time, and for each pair the
// strip's rows two at a time: two f64x2 loads (rows i and i + 1) give two
// f64x2 stores (rows j and j + 1 of dst) by one lane shuffle each. The
// strip's source lines are reused by the next column pairs and each dst row
// piece is written contiguously, so both sides stay in L1 (the JS tile loop
// moved one element per access, ~3x slower). Pure copies: results are the
// same bits as the JS loop.

import { I32, Simd, V128, buildModule } from "../reductions/wasm/binary";
import { LaneCode, OP } from "./laneCode";

// Parameters: byte addresses and row strides in bytes, sizes in elements.
const P = { src: 0, lds: 1, dst: 2, ldd: 3, rows: 4, cols: 5 } as const;
const PARAM_COUNT = 6;

/**
 * run(src, lds, dst, ldd, rows, cols): dst[j, i] = src[i, j] for i < rows,
 * j < cols (any sizes; odd ones take a scalar edge).
 */
export function transposeStripModule(): Uint8Array {
  let next = PARAM_COUNT;
  const j = next++, i = next++, ps = next++, pd = next++, rowsEven = next++, colsEven = next++, lds2 = next++;
  const i32Count = next - PARAM_COUNT;
  const a = next++, b = next++;
  const v128Count = next - PARAM_COUNT - i32Count;
  const c = new LaneCode();
  c.localGet(P.rows).i32Const(-2).op(OP.i32And).localSet(rowsEven);
  c.localGet(P.cols).i32Const(-2).op(OP.i32And).localSet(colsEven);
  c.localGet(P.lds).localGet(P.lds).i32Add().localSet(lds2);
  // Column pairs.
  c.i32Const(0).localSet(j);
  c.block().loop();
  {
    c.localGet(j).localGet(colsEven).i32GeU().brIf(1);
    c.localGet(P.src).localGet(j).i32Const(8).i32Mul().i32Add().localSet(ps);
    c.localGet(P.dst).localGet(j).localGet(P.ldd).i32Mul().i32Add().localSet(pd);
    // Row pairs: a 2 x 2 block per step.
    c.i32Const(0).localSet(i);
    c.block().loop();
    {
      c.localGet(i).localGet(rowsEven).i32GeU().brIf(1);
      c.localGet(ps).v128Load().localSet(a);
      c.localGet(ps).localGet(P.lds).i32Add().v128Load().localSet(b);
      c.localGet(pd).localGet(a).localGet(b).pairLanes(false).v128Store();
      c.localGet(pd).localGet(P.ldd).i32Add().localGet(a).localGet(b).pairLanes(true).v128Store();
      c.localGet(ps).localGet(lds2).i32Add().localSet(ps);
      c.localGet(pd).i32Const(16).i32Add().localSet(pd);
      c.localGet(i).i32Const(2).i32Add().localSet(i);
      c.br(0);
    }
    c.end().end();
    // An odd last row: its two entries of this column pair.
    c.block();
    {
      c.localGet(rowsEven).localGet(P.rows).op(OP.i32LtU).op(OP.i32Eqz).brIf(0);
      c.localGet(ps).v128Load().localSet(a);
      c.localGet(pd).localGet(a).simd(Simd.f64x2ExtractLane, 0).f64StoreAt(0);
      c.localGet(pd).localGet(P.ldd).i32Add().localGet(a).simd(Simd.f64x2ExtractLane, 1).f64StoreAt(0);
    }
    c.end();
    c.localGet(j).i32Const(2).i32Add().localSet(j);
    c.br(0);
  }
  c.end().end();
  // An odd last column, one entry per row.
  c.block();
  {
    c.localGet(colsEven).localGet(P.cols).op(OP.i32LtU).op(OP.i32Eqz).brIf(0);
    c.localGet(P.src).localGet(colsEven).i32Const(8).i32Mul().i32Add().localSet(ps);
    c.localGet(P.dst).localGet(colsEven).localGet(P.ldd).i32Mul().i32Add().localSet(pd);
    c.i32Const(0).localSet(i);
    c.block().loop();
    {
      c.localGet(i).localGet(P.rows).i32GeU().brIf(1);
      c.localGet(pd).localGet(ps).f64LoadAt(0).f64StoreAt(0);
      c.localGet(ps).localGet(P.lds).i32Add().localSet(ps);
      c.localGet(pd).i32Const(8).i32Add().localSet(pd);
      c.localGet(i).i32Const(1).i32Add().localSet(i);
      c.br(0);
    }
    c.end().end();
  }
  c.end();
  return buildModule([I32, I32, I32, I32, I32, I32], [[i32Count, I32], [v128Count, V128]], c);
}
