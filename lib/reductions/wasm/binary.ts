// A minimal WebAssembly binary writer: just what the fused SIMD kernels
// need (one imported memory, one exported function, structured loops,
// scalar and 128-bit SIMD instructions). Emitting bytes directly keeps the
// fast path free of toolchain dependencies.

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;

export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function slebBig(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asIntN(64, value);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function f64Bytes(value: number): number[] {
  return Array.from(new Uint8Array(new Float64Array([value]).buffer));
}

function name(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

/** SIMD opcodes used here (prefix 0xfd, LEB128 sub-opcode). */
export const Simd = {
  load: 0x00,
  store: 0x0b,
  i64x2Splat: 0x12,
  f64x2Splat: 0x14,
  f64x2ExtractLane: 0x21,
  f64x2ReplaceLane: 0x22,
  f64x2Eq: 0x47,
  f64x2Ne: 0x48,
  f64x2Lt: 0x49,
  f64x2Gt: 0x4a,
  f64x2Le: 0x4b,
  f64x2Ge: 0x4c,
  v128Not: 0x4d,
  v128And: 0x4e,
  /** a & ~b */
  v128AndNot: 0x4f,
  v128Or: 0x50,
  v128Xor: 0x51,
  v128Bitselect: 0x52,
  f64x2Floor: 0x75,
  f64x2Nearest: 0x94,
  i64x2ExtendLowI32x4S: 0xc7,
  i64x2Shl: 0xcb,
  i64x2ShrU: 0xcd,
  i64x2Add: 0xce,
  i64x2Sub: 0xd1,
  i64x2Eq: 0xd6,
  f64x2Abs: 0xec,
  f64x2Neg: 0xed,
  f64x2Sqrt: 0xef,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  f64x2Div: 0xf3,
  f64x2Min: 0xf4,
  f64x2Max: 0xf5,
  /** pmin(a, b) = b < a ? b : a (one minpd; no NaN / signed-zero fix-up, unlike min). */
  f64x2Pmin: 0xf6,
  /** pmax(a, b) = a < b ? b : a (one maxpd). */
  f64x2Pmax: 0xf7,
  i32x4TruncSatF64x2SZero: 0xfc,
  /** Relaxed SIMD: a * b + c, fused where the CPU has FMA (one vfmadd on x86 with FMA3). */
  f64x2RelaxedMadd: 0x107,
  /** Relaxed SIMD: c - a * b, fused likewise. */
  f64x2RelaxedNmadd: 0x108,
} as const;

/**
 * Instruction stream of one function body. `fma`: mulAdd / negMulAdd emit
 * relaxed SIMD's f64x2.relaxed_madd / relaxed_nmadd (check
 * wasmFmaEnabled() first: Node 20 validates them only behind a V8 flag);
 * otherwise a multiply and an add.
 */
export class Code {
  readonly bytes: number[] = [];
  constructor(readonly fma = false) {}

  private push(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  localGet(i: number): this {
    return this.push(0x20, ...uleb(i));
  }
  localSet(i: number): this {
    return this.push(0x21, ...uleb(i));
  }
  localTee(i: number): this {
    return this.push(0x22, ...uleb(i));
  }
  i32Const(v: number): this {
    return this.push(0x41, ...sleb(v));
  }
  f64Const(v: number): this {
    return this.push(0x44, ...f64Bytes(v));
  }
  i32Add(): this {
    return this.push(0x6a);
  }
  i32Mul(): this {
    return this.push(0x6c);
  }
  i32GeU(): this {
    return this.push(0x4f);
  }
  i32GtU(): this {
    return this.push(0x4b);
  }
  i32Shl(): this {
    return this.push(0x74);
  }
  /** i32.trunc_f64_s */
  i32TruncF64S(): this {
    return this.push(0xaa);
  }
  /** i32.load, memarg align 2^2, offset 0. */
  i32Load(): this {
    return this.push(0x28, 2, 0);
  }
  i64Const(v: bigint): this {
    return this.push(0x42, ...slebBig(v));
  }
  f64Add(): this {
    return this.push(0xa0);
  }
  f64Mul(): this {
    return this.push(0xa2);
  }
  /** memarg: align 2^3, offset 0. */
  f64Load(): this {
    return this.push(0x2b, 3, 0);
  }
  f64Store(): this {
    return this.push(0x39, 3, 0);
  }
  block(): this {
    return this.push(0x02, 0x40);
  }
  loop(): this {
    return this.push(0x03, 0x40);
  }
  end(): this {
    return this.push(0x0b);
  }
  br(depth: number): this {
    return this.push(0x0c, ...uleb(depth));
  }
  brIf(depth: number): this {
    return this.push(0x0d, ...uleb(depth));
  }
  drop(): this {
    return this.push(0x1a);
  }
  /** Stack [..., a, b] -> [..., a * b + c], c pushed by `addend` (fused with fma). */
  mulAdd(addend: () => void): this {
    if (!this.fma) this.simd(Simd.f64x2Mul);
    addend();
    return this.simd(this.fma ? Simd.f64x2RelaxedMadd : Simd.f64x2Add);
  }
  /** Stack [..., a, b] -> [..., c - a * b], c pushed by `minuend` (fused with fma). */
  negMulAdd(minuend: () => void): this {
    if (this.fma) {
      minuend();
      return this.simd(Simd.f64x2RelaxedNmadd);
    }
    // c - a b: the product is on the stack first, so negate it and add c.
    this.simd(Simd.f64x2Mul).simd(Simd.f64x2Neg);
    minuend();
    return this.simd(Simd.f64x2Add);
  }
  simd(op: number, ...immediates: number[]): this {
    return this.push(0xfd, ...uleb(op), ...immediates);
  }
  v128Load(): this {
    return this.simd(Simd.load, 3, 0);
  }
  v128Store(): this {
    return this.simd(Simd.store, 3, 0);
  }
  /** v128.load with a constant byte offset added to the address. */
  v128LoadOffset(offset: number): this {
    return this.simd(Simd.load, 3, ...uleb(offset));
  }
  v128StoreOffset(offset: number): this {
    return this.simd(Simd.store, 3, ...uleb(offset));
  }
  /** f64.load with a constant byte offset. */
  f64LoadAt(offset: number): this {
    return this.push(0x2b, 3, ...uleb(offset));
  }
  f64StoreAt(offset: number): this {
    return this.push(0x39, 3, ...uleb(offset));
  }
  /** i32.load with a constant byte offset. */
  i32LoadAt(offset: number): this {
    return this.push(0x28, 2, ...uleb(offset));
  }
  f64x2Splat(): this {
    return this.simd(Simd.f64x2Splat);
  }
  /** Pushes a constant i64x2 with both lanes = v. */
  i64x2Const(v: bigint): this {
    return this.i64Const(v).simd(Simd.i64x2Splat);
  }
  /** Pushes a constant f64x2 with both lanes = v. */
  f64x2Const(v: number): this {
    return this.f64Const(v).f64x2Splat();
  }
}

/**
 * A module importing memory "env"."mem" and exporting one function "run".
 * locals: groups of [count, type] after the parameters.
 */
export function buildModule(params: number[], locals: [number, number][], body: Code): Uint8Array {
  const type = section(1, [1, 0x60, ...uleb(params.length), ...params, 0]);
  const imports = section(2, [1, ...name("env"), ...name("mem"), 0x02, 0x00, 1]);
  const funcs = section(3, [1, 0]);
  const exports = section(7, [1, ...name("run"), 0x00, 0]);
  const fn = [...uleb(locals.length), ...locals.flatMap(([count, t]) => [...uleb(count), t]), ...body.bytes, 0x0b];
  const code = section(10, [1, ...uleb(fn.length), ...fn]);
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...imports, ...funcs, ...exports, ...code]);
}
