// The innermost step of the blocked triangular solves (triangularKernels.ts)
// as one WebAssembly call: inside a diagonal block, `rows` (1 to 4) rows of
// X that have taken every update from the rows above their step are
// finished by forward substitution with the step's own triangle,
//   x_i := (x_i - sum_{k < i} T[i, k] x_k) / T[i, i],
// over all t columns, two at a time (f64x2) and the last odd one alone.
// In JavaScript this was one 1-row GEMM call and one division loop per row;
// the arithmetic is the same operation for operation (the sum starts at 0,
// adds the products in order of k, is subtracted, then the pivot divides),
// so results are bit-identical to that path.

import { Code, F64, I32, Simd, V128, buildModule } from "../reductions/wasm/binary";

/** The step's rows: the GEMM kernel's register tile (ROWS in wasmGemm.ts). */
export const STEP_ROWS = 4;

// Parameters: t columns, x = byte address of X's first row, ld = X's row stride in bytes,
// tri = byte address of T[0, 0], ldt = T's row stride in bytes.
const P = { t: 0, x: 1, ld: 2, tri: 3, ldt: 4 } as const;
const PARAM_COUNT = 5;

/** Opcodes binary.ts's Code does not name. */
const OP = { i32Sub: 0x6b, i32And: 0x71, i32Eqz: 0x45, i32ShrU: 0x76, f64Sub: 0xa1, f64Div: 0xa3 } as const;

class StepCode extends Code {
  op(b: number): this {
    this.bytes.push(b);
    return this;
  }
}

/**
 * The module for `rows` rows: run(t, x, ld, tri, ldt), X [rows, t] at x
 * (row stride ld), T [rows, rows] lower triangular at tri (row stride ldt),
 * addresses and strides in bytes.
 */
export function substitutionStepModule(rows: number): Uint8Array {
  if (!(rows >= 1 && rows <= STEP_ROWS)) throw new Error(`a substitution step has 1 to ${STEP_ROWS} rows, not ${rows}`);
  let next = PARAM_COUNT;
  const px = Array.from({ length: rows }, () => next++); // row addresses, advanced along the columns
  const pairs = next++;
  const i32Count = next - PARAM_COUNT;
  // f64x2 locals: the pivots, the strict lower triangle's entries (both lanes), the rows' values, the sum.
  const d = Array.from({ length: rows }, () => next++);
  const tl: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: i }, () => next++));
  const xv = Array.from({ length: rows }, () => next++);
  const v128Count = next - PARAM_COUNT - i32Count;
  const xs = Array.from({ length: rows }, () => next++); // the odd last column's values (f64)
  const f64Count = next - PARAM_COUNT - i32Count - v128Count;
  const c = new StepCode();

  /** Pushes T[i, k] (f64) onto the stack. */
  const entry = (i: number, k: number) => {
    c.localGet(P.tri);
    if (i > 0) c.localGet(P.ldt).i32Const(i).i32Mul().i32Add();
    c.f64LoadAt(8 * k);
  };
  for (let i = 0; i < rows; i++) {
    entry(i, i);
    c.f64x2Splat().localSet(d[i]);
    for (let k = 0; k < i; k++) {
      entry(i, k);
      c.f64x2Splat().localSet(tl[i][k]);
    }
  }
  c.localGet(P.x).localSet(px[0]);
  for (let i = 1; i < rows; i++) c.localGet(px[i - 1]).localGet(P.ld).i32Add().localSet(px[i]);

  // Column pairs: x_i = (x_i - (0 + T[i,0] x_0 + ... + T[i,i-1] x_{i-1})) / T[i,i], each product then its add.
  c.localGet(P.t).i32Const(1).op(OP.i32ShrU).localSet(pairs);
  c.block();
  c.localGet(pairs).op(OP.i32Eqz).brIf(0);
  c.loop();
  for (let i = 0; i < rows; i++) {
    c.localGet(px[i]).v128Load();
    if (i > 0) {
      c.f64x2Const(0);
      for (let k = 0; k < i; k++) c.localGet(tl[i][k]).localGet(xv[k]).simd(Simd.f64x2Mul).simd(Simd.f64x2Add);
      c.simd(Simd.f64x2Sub);
    }
    c.localGet(d[i]).simd(Simd.f64x2Div).localSet(xv[i]);
    c.localGet(px[i]).localGet(xv[i]).v128Store();
  }
  for (let i = 0; i < rows; i++) c.localGet(px[i]).i32Const(16).i32Add().localSet(px[i]);
  c.localGet(pairs).i32Const(1).op(OP.i32Sub).localTee(pairs).brIf(0);
  c.end();
  c.end();

  // The last column when t is odd: the same operations on single f64s.
  c.block();
  c.localGet(P.t).i32Const(1).op(OP.i32And).op(OP.i32Eqz).brIf(0);
  for (let i = 0; i < rows; i++) {
    c.localGet(px[i]).f64Load();
    if (i > 0) {
      c.f64Const(0);
      for (let k = 0; k < i; k++) c.localGet(tl[i][k]).simd(Simd.f64x2ExtractLane, 0).localGet(xs[k]).f64Mul().f64Add();
      c.op(OP.f64Sub);
    }
    c.localGet(d[i]).simd(Simd.f64x2ExtractLane, 0).op(OP.f64Div).localSet(xs[i]);
    c.localGet(px[i]).localGet(xs[i]).f64Store();
  }
  c.end();
  return buildModule([I32, I32, I32, I32, I32], [[i32Count, I32], [v128Count, V128], [f64Count, F64]], c);
}
