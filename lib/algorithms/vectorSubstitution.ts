// Triangular solves with one right-hand side, L x = b and L^T x = b, as one
// WebAssembly call each on a factor the blocked Cholesky left in the arena
// (cholesky.ts's choleskySolve for the exact GP's alpha). The JS loops they
// replace are the reference, operation for operation, so results are the
// same bits:
// - forward: x_i = (b_i - dot(L[i, 0:i], x[0:i])) / L[i, i], the dot product
//   with dotAt's four partial sums (s0..s3 over k mod 4, the tail into s0,
//   then s0 + s1 + s2 + s3), here as two f64x2 accumulators (s0, s1), (s2, s3);
// - backward: x_i /= L[i, i], then x[0:i] -= L[i, 0:i] x_i unless x_i = 0,
//   two entries per f64x2 step (each entry's own product and subtraction).
// Both read L by rows, contiguous.

import { Code, F64, I32, Simd, V128, buildModule } from "../reductions/wasm/binary";

// Parameters: n, l = byte address of L[0, 0], ld = its row stride in bytes, x = byte address of x (b on entry).
const P = { n: 0, l: 1, ld: 2, x: 3 } as const;
const PARAM_COUNT = 4;

/** Opcodes binary.ts's Code does not name. */
const OP = { i32Sub: 0x6b, i32And: 0x71, i32LtS: 0x48, f64Sub: 0xa1, f64Div: 0xa3, f64Eq: 0x61 } as const;

class VectorCode extends Code {
  op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
}

/** run(n, l, ld, x): x := L^{-1} x. */
export function forwardSubstitutionModule(): Uint8Array {
  let next = PARAM_COUNT;
  const i = next++, k = next++, row = next++, k4 = next++;
  const i32Count = next - PARAM_COUNT;
  const acc01 = next++, acc23 = next++;
  const v128Count = next - PARAM_COUNT - i32Count;
  const s0 = next++;
  const f64Count = next - PARAM_COUNT - i32Count - v128Count;
  const c = new VectorCode();
  c.i32Const(0).localSet(i);
  c.block().loop();
  {
    c.localGet(i).localGet(P.n).i32GeU().brIf(1);
    c.localGet(P.l).localGet(i).localGet(P.ld).i32Mul().i32Add().localSet(row);
    c.f64x2Const(0).localSet(acc01);
    c.f64x2Const(0).localSet(acc23);
    // Whole groups of four: k < i rounded down to a multiple of 4.
    c.localGet(i).i32Const(-4).op(OP.i32And).localSet(k4);
    c.i32Const(0).localSet(k);
    c.block().loop();
    {
      c.localGet(k).localGet(k4).i32GeU().brIf(1);
      const at = (off: number) => {
        c.localGet(row).localGet(k).i32Const(8).i32Mul().i32Add().v128LoadOffset(off);
        c.localGet(P.x).localGet(k).i32Const(8).i32Mul().i32Add().v128LoadOffset(off);
        c.simd(Simd.f64x2Mul);
      };
      c.localGet(acc01);
      at(0);
      c.simd(Simd.f64x2Add).localSet(acc01);
      c.localGet(acc23);
      at(16);
      c.simd(Simd.f64x2Add).localSet(acc23);
      c.localGet(k).i32Const(4).i32Add().localSet(k);
      c.br(0);
    }
    c.end().end();
    // The tail into s0.
    c.localGet(acc01).simd(Simd.f64x2ExtractLane, 0).localSet(s0);
    c.block().loop();
    {
      c.localGet(k).localGet(i).i32GeU().brIf(1);
      c.localGet(s0);
      c.localGet(row).localGet(k).i32Const(8).i32Mul().i32Add().f64LoadAt(0);
      c.localGet(P.x).localGet(k).i32Const(8).i32Mul().i32Add().f64LoadAt(0);
      c.f64Mul().f64Add().localSet(s0);
      c.localGet(k).i32Const(1).i32Add().localSet(k);
      c.br(0);
    }
    c.end().end();
    // x_i = (x_i - (((s0 + s1) + s2) + s3)) / L[i, i]
    c.localGet(P.x).localGet(i).i32Const(8).i32Mul().i32Add();
    c.localGet(P.x).localGet(i).i32Const(8).i32Mul().i32Add().f64LoadAt(0);
    c.localGet(s0).localGet(acc01).simd(Simd.f64x2ExtractLane, 1).f64Add();
    c.localGet(acc23).simd(Simd.f64x2ExtractLane, 0).f64Add();
    c.localGet(acc23).simd(Simd.f64x2ExtractLane, 1).f64Add();
    c.op(OP.f64Sub);
    c.localGet(row).localGet(i).i32Const(8).i32Mul().i32Add().f64LoadAt(0);
    c.op(OP.f64Div);
    c.f64StoreAt(0);
    c.localGet(i).i32Const(1).i32Add().localSet(i);
    c.br(0);
  }
  c.end().end();
  return buildModule([I32, I32, I32, I32], [[i32Count, I32], [v128Count, V128], [f64Count, F64]], c);
}

/** run(n, l, ld, x): x := L^{-T} x. */
export function backSubstitutionModule(): Uint8Array {
  let next = PARAM_COUNT;
  const i = next++, k = next++, row = next++, pairs = next++, px = next++;
  const i32Count = next - PARAM_COUNT;
  const xv = next++;
  const v128Count = next - PARAM_COUNT - i32Count;
  const xi = next++;
  const f64Count = next - PARAM_COUNT - i32Count - v128Count;
  const c = new VectorCode();
  c.localGet(P.n).i32Const(1).op(OP.i32Sub).localSet(i);
  c.block().loop();
  {
    c.localGet(i).i32Const(0).op(OP.i32LtS).brIf(1);
    c.localGet(P.l).localGet(i).localGet(P.ld).i32Mul().i32Add().localSet(row);
    c.localGet(P.x).localGet(i).i32Const(8).i32Mul().i32Add().localSet(px);
    // x_i /= L[i, i]
    c.localGet(px).localGet(px).f64LoadAt(0).localGet(row).localGet(i).i32Const(8).i32Mul().i32Add().f64LoadAt(0).op(OP.f64Div).localTee(xi).f64StoreAt(0);
    c.block();
    {
      c.localGet(xi).f64Const(0).op(OP.f64Eq).brIf(0);
      c.localGet(xi).f64x2Splat().localSet(xv);
      // x[k:k+2] -= L[i, k:k+2] x_i for pairs below i, then the odd last one.
      c.localGet(i).i32Const(-2).op(OP.i32And).localSet(pairs);
      c.i32Const(0).localSet(k);
      c.block().loop();
      {
        c.localGet(k).localGet(pairs).i32GeU().brIf(1);
        c.localGet(P.x).localGet(k).i32Const(8).i32Mul().i32Add();
        c.localGet(P.x).localGet(k).i32Const(8).i32Mul().i32Add().v128Load();
        c.localGet(row).localGet(k).i32Const(8).i32Mul().i32Add().v128Load().localGet(xv).simd(Simd.f64x2Mul);
        c.simd(Simd.f64x2Sub).v128Store();
        c.localGet(k).i32Const(2).i32Add().localSet(k);
        c.br(0);
      }
      c.end().end();
      c.block();
      {
        c.localGet(k).localGet(i).i32GeU().brIf(0);
        c.localGet(P.x).localGet(k).i32Const(8).i32Mul().i32Add();
        c.localGet(P.x).localGet(k).i32Const(8).i32Mul().i32Add().f64LoadAt(0);
        c.localGet(row).localGet(k).i32Const(8).i32Mul().i32Add().f64LoadAt(0).localGet(xi).f64Mul();
        c.op(OP.f64Sub).f64StoreAt(0);
      }
      c.end();
    }
    c.end();
    c.localGet(i).i32Const(1).op(OP.i32Sub).localSet(i);
    c.br(0);
  }
  c.end().end();
  return buildModule([I32, I32, I32, I32], [[i32Count, I32], [v128Count, V128], [f64Count, F64]], c);
}
