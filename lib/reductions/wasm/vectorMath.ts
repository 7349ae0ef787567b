// f64x2 elementary functions for the WebAssembly SIMD kernels: exp, log,
// sin / cos. Each works lane-wise on a v128 local and writes another; the
// caller hands in scratch locals. Accuracy (checked against Math.* in
// test/reductions-wasm.test.ts): exp 2.3e-17 |x| / ln 2 + 4e-16 relative
// (2.4e-14 at |x| = 709, 1e-15 for |x| < 20; 0 below -708.74): its range
// reduction is one fused step, a product fewer (the kernels' throughput is
// bound by products) for error only where exp is far from 1. log ~2 ulp for normal positive
// inputs, sin / cos ~1 ulp for |x| < 1e6 (Cody-Waite range reduction by
// pi / 2). Algorithms: after the range reduction a rational function for
// exp (fitted here: scripts/fit-exp-rational.py), fdlibm's polynomials for
// log (by Estrin's scheme), sin and cos (Horner), written out for two lanes.
// With c.fma the polynomial steps and the range reductions are fused
// multiply-adds (relaxed SIMD).

import { type Code, Simd } from "./binary";

const LOG2E = Math.LOG2E;
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
/**
 * exp's input clamp. At EXP_LO = -1023 ln 2 (-709.09), k = -1023, whose 2^k
 * is built as the bits (k + 1023) << 52 = +0: the result is exactly 0 there,
 * with no mask. Below -708.74 (where k rounds to -1023) exp is 0; above,
 * down to the smallest normal, it is exp(x). At EXP_MAX 2^k is still finite.
 */
const EXP_LO = -1023 * Math.LN2;
const EXP_MAX = 709;

/** 1.5 * 2^52: x + ROUND_MAGIC rounds x to an integer held in the low mantissa bits. */
const ROUND_MAGIC = 6755399441055744;
/** ROUND_MAGIC + 1023: the low bits of x + this hold k + 1023, the biased exponent of 2^k. */
const ROUND_MAGIC_BIASED = ROUND_MAGIC + 1023;
/**
 * exp(r) on |r| <= ln 2 / 2 as the rational (E + r O) / (E - r O), with
 * E = 1 + e1 r^2 + e2 r^4 and O = 1/2 + o1 r^2 + o2 r^4: exp(r) exp(-r) = 1
 * holds by construction, so only E / O ~ r coth(r / 2) is fitted (Lawson
 * iteration in 60-digit arithmetic, scripts/fit-exp-rational.py: the relative
 * error of exp equioscillates, 8.4e-19; in doubles 3.5e-16, mean 6e-17). At r = 0 it is 1 / 1, exactly 1.
 * Against the degree-10 polynomial it replaced (4.8e-16 in doubles, 10 fused steps) it
 * takes 6 multiply-class instructions and one division: the kernels are
 * bound by the two multiply pipes, and the division runs on the divide /
 * square-root unit beside them; E and O are independent, a shorter chain.
 * Degree (2, 1), a product fewer, is 1.1e-14: too far (a 1.7e-14 exp moved
 * an SVGP ELBO with an ill-conditioned K_ZZ by 1e-9 against GPyTorch).
 */
const EXP_E = [1, 0.11110779925952044, 0.0009917323544683546];
const EXP_O = [0.5, 0.013887232963095773, 3.304120798370079e-5];

/**
 * Whether emitExp can fold `scale` into its constants exactly: +-2^j with
 * |j| <= 8 (the profiles' exp(-s / 2), exp(-a), exp(-2 s)). Multiplying a
 * double by a power of two is exact away from overflow and underflow, which
 * the range of j keeps the constants (down to EXP_O[2] 2^-40) clear of.
 */
export function isExactExpScale(scale: number): boolean {
  const j = Math.log2(Math.abs(scale));
  return Number.isInteger(j) && Math.abs(j) <= 8;
}

/**
 * out = exp(scale x) lane-wise; x and `scratch` are clobbered. `nonPositive`:
 * the caller knows scale x <= 0 (exp(-s / 2)), so the upper clamp is left
 * out. `scale` (see isExactExpScale) costs nothing: exp(-0.5 s) without the
 * product -0.5 s.
 *
 * Written for V8's code generator, which runs it once per pair: pmax / pmin
 * (one maxpd each; max and min carry an 8-instruction NaN fix-up), and k
 * found by the round-to-integer magic number, whose bits also give 2^k with
 * one shift (no nearest, truncation and widening). 2^k multiplies the
 * rational, so the underflow to 0 below EXP_LO needs no mask (and the
 * input need not stay live to the end). NaN stays NaN: pmax keeps it, and
 * NaN times 2^k is NaN.
 */
export function emitExp(c: Code, x: number, out: number, scratch: number, nonPositive = false, scale = 1): void {
  if (!isExactExpScale(scale)) throw new RangeError(`emitExp: scale ${scale} is not a power of two (up to 2^8) or its negative`);
  // Computes exp(scale x) with the scale folded into the constants: every
  // constant below times a power of two is exact, so this is the same
  // arithmetic as exp(y) on y = scale x, rounded the same way, minus the
  // product (or negation) that would form y.
  const [lo, hi] = scale > 0 ? [EXP_LO / scale, EXP_MAX / scale] : [EXP_MAX / scale, EXP_LO / scale];
  // Clamp scale x to [EXP_LO, EXP_MAX] (x to [lo, hi]); pmax / pmin keep NaN.
  c.localGet(x);
  if (scale > 0 || !nonPositive) c.f64x2Const(lo).simd(Simd.f64x2Pmax);
  if (scale < 0 || !nonPositive) c.f64x2Const(hi).simd(Simd.f64x2Pmin);
  c.localSet(x);
  // n = scale x / ln 2 + biased magic: k + 1023 sits in n's low bits, and k = n - biased magic.
  c.localGet(x).f64x2Const(LOG2E * scale).mulAdd(() => c.f64x2Const(ROUND_MAGIC_BIASED)).localSet(scratch);
  // r = x - k ln 2 (stored in x)
  const k = () => c.localGet(scratch).f64x2Const(ROUND_MAGIC_BIASED).simd(Simd.f64x2Sub);
  if (c.fma) {
    // One fused step, rounded once: its error is k (LN2 - ln 2), 2.3e-17 |k|
    // (at most 2.4e-14 at |x| = 709, 1e-15 for |x| < 20), a product fewer
    // than Cody-Waite's two-part constant.
    k();
    c.f64x2Const(Math.LN2 / scale).negMulAdd(() => c.localGet(x));
    c.localSet(x);
  } else {
    // x - k ln2_hi is exact (ln2_hi has trailing zeros), then - k ln2_lo.
    c.localGet(x);
    k();
    c.f64x2Const(LN2_HI / scale).simd(Simd.f64x2Mul).simd(Simd.f64x2Sub);
    k();
    c.f64x2Const(LN2_LO / scale).simd(Simd.f64x2Mul).simd(Simd.f64x2Sub).localSet(x);
  }
  // x now holds r / scale. z = x^2 into out; r O into x; E into out (Horner, two
  // fused steps each; coefficients times powers of scale, so in r's terms
  // E = 1 + e1 r^2 + e2 r^4 and r O = r (o0 + o1 r^2 + o2 r^4)).
  const s2 = scale * scale;
  c.localGet(x).localGet(x).simd(Simd.f64x2Mul).localSet(out);
  c.localGet(out).localGet(out).f64x2Const(EXP_O[2] * scale * s2 * s2).mulAdd(() => c.f64x2Const(EXP_O[1] * scale * s2)).mulAdd(() => c.f64x2Const(EXP_O[0] * scale));
  c.localGet(x).simd(Simd.f64x2Mul).localSet(x);
  c.localGet(out).localGet(out).f64x2Const(EXP_E[2] * s2 * s2).mulAdd(() => c.f64x2Const(EXP_E[1] * s2)).mulAdd(() => c.f64x2Const(EXP_E[0])).localSet(out);
  // (E + r O) / (E - r O): two adds and a division, no product.
  c.localGet(out).localGet(x).simd(Simd.f64x2Add).localGet(out).localGet(x).simd(Simd.f64x2Sub).simd(Simd.f64x2Div);
  // times 2^k, 2^k from n's bits shifted left by 52: (k + 1023) << 52 (magic's
  // own mantissa bit shifts out). At k = -1023 that is +0.
  c.localGet(scratch).i32Const(52).simd(Simd.i64x2Shl).simd(Simd.f64x2Mul).localSet(out);
}

const LG = [
  6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, 2.222219843214978396e-01,
  1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01,
];
const TWO52 = 4503599627370496;

/** 0x3ff0000000000000 - bits(sqrt(1/2)): added to x's bits, it carries into the exponent exactly when x's mantissa is >= sqrt 2. */
const LOG_SPLIT = 0x3ff0000000000000n - 0x3fe6a09e667f3bcdn;
const ONE_BITS = 0x3ff0000000000000n;

/**
 * out = log(x) lane-wise: log(0) = -Infinity, log(x < 0) = NaN, as Math.log
 * (subnormal inputs lose accuracy). x is kept; s1..s4 are clobbered.
 */
export function emitLog(c: Code, x: number, out: number, s: [number, number, number, number]): void {
  const [e, , z, t] = s;
  emitLogParts(c, x, s, LG);
  c.localGet(z).simd(Simd.f64x2Mul).localSet(z);
  // log(1 + f) = 2 atanh(s) = 2s + s R: log = e ln2_hi + (s R + (e ln2_lo + 2s)). Without
  // fdlibm's f - hfsq split (two products fewer; the products are what the
  // kernels' throughput is bound by): 2 ulp near 1 instead of 1, 1e-16 absolute.
  c.localGet(e).f64x2Const(LN2_HI);
  c.mulAdd(() => {
    c.localGet(t).localGet(z);
    c.mulAdd(() => c.localGet(e).f64x2Const(LN2_LO).mulAdd(() => c.localGet(t).localGet(t).simd(Simd.f64x2Add)));
  });
  c.localSet(out);
  logSpecialCases(c, x, out);
}

/** LG times log2(e): log2(1 + f) = 2 log2(e) s + s R log2(e). */
const LG_LOG2 = LG.map((v) => v * LOG2E);

/**
 * out = log2(x) lane-wise, the special cases of emitLog (0 -> -Infinity,
 * negatives NaN). With x = 2^e m: e + s (2 log2(e) + z P(z)), P's
 * coefficients times log2(e): two fused steps after the polynomial, where
 * log's ln 2 split takes three and two more operations. Error: that of log
 * plus the final rounding, 1 ulp of e + log2(m) (pow's exp2 of p log2 x
 * then has the error of exp of p ln x). x is kept; s1..s4 are clobbered.
 */
export function emitLog2(c: Code, x: number, out: number, s: [number, number, number, number]): void {
  const [e, , z, t] = s;
  emitLogParts(c, x, s, LG_LOG2);
  c.localGet(z).mulAdd(() => c.f64x2Const(2 * LOG2E));
  c.localGet(t).mulAdd(() => c.localGet(e)).localSet(out);
  logSpecialCases(c, x, out);
}

/**
 * The shared start of log and log2: x = 2^e (1 + f), m = 1 + f in
 * [sqrt(1/2), sqrt 2); leaves e (as f64) in s[0], s = f / (2 + f) in s[3],
 * z = s^2 in s[2], and pushes P(z) = c0 + c1 z + ... + c6 z^6 for the
 * coefficients `coef` (s[1] is clobbered).
 */
function emitLogParts(c: Code, x: number, s: [number, number, number, number], coef: readonly number[]): void {
  const [e, f, z, t] = s;
  // x = 2^k m with m in [sqrt(1/2), sqrt 2): t = bits(x) + LOG_SPLIT has k + 1023 in its exponent field.
  c.localGet(x).i64x2Const(LOG_SPLIT).simd(Simd.i64x2Add).localSet(t);
  // e = k as f64 (via the 2^52 trick).
  c.localGet(t).i32Const(52).simd(Simd.i64x2ShrU).i64x2Const(0x4330000000000000n).simd(Simd.v128Or);
  c.f64x2Const(TWO52 + 1023).simd(Simd.f64x2Sub).localSet(e);
  // m = bits(x) - (k + 1023) << 52 + bits(1); f = m - 1 in [-0.29, 0.41].
  c.localGet(x).localGet(t).i64x2Const(0xfff0000000000000n).simd(Simd.v128And).simd(Simd.i64x2Sub);
  c.i64x2Const(ONE_BITS).simd(Simd.i64x2Add).f64x2Const(1).simd(Simd.f64x2Sub).localSet(f);
  // s = f / (2 + f) into t; z = s^2.
  c.localGet(f).localGet(f).f64x2Const(2).simd(Simd.f64x2Add).simd(Simd.f64x2Div).localSet(t);
  c.localGet(t).localGet(t).simd(Simd.f64x2Mul).localSet(z);
  // Estrin's scheme: (c0 + z c1) + z^2 (c2 + z c3) + z^4 ((c4 + z c5) + z^2 c6),
  // three fused steps deep instead of Horner's six (pow's exp(b log a) is a
  // dependent chain), for one product more. f holds z^2.
  const z2 = f;
  c.localGet(z).localGet(z).simd(Simd.f64x2Mul).localSet(z2);
  c.localGet(z2).localGet(z2).simd(Simd.f64x2Mul);
  c.localGet(z2).f64x2Const(coef[6]).mulAdd(() => c.localGet(z).f64x2Const(coef[5]).mulAdd(() => c.f64x2Const(coef[4])));
  c.mulAdd(() => {
    c.localGet(z2);
    c.localGet(z).f64x2Const(coef[3]).mulAdd(() => c.f64x2Const(coef[2]));
    c.mulAdd(() => c.localGet(z).f64x2Const(coef[1]).mulAdd(() => c.f64x2Const(coef[0])));
  });
}

/** out = -Infinity where x = 0, NaN where x < 0 (and NaN stays NaN), out elsewhere. */
function logSpecialCases(c: Code, x: number, out: number): void {
  c.localGet(out);
  c.f64x2Const(-Infinity).f64x2Const(NaN).localGet(x).f64x2Const(0).simd(Simd.f64x2Eq).simd(Simd.v128Bitselect);
  c.localGet(x).f64x2Const(0).simd(Simd.f64x2Gt).simd(Simd.v128Bitselect).localSet(out);
}

/** The rational of EXP_E / EXP_O in t = r / ln 2: E(ln2^2 t^2), ln 2 O(ln2^2 t^2). */
const EXP2_E = [1, EXP_E[1] * Math.LN2 ** 2, EXP_E[2] * Math.LN2 ** 4];
const EXP2_O = [EXP_O[0] * Math.LN2, EXP_O[1] * Math.LN2 ** 3, EXP_O[2] * Math.LN2 ** 5];
/** 2^y's input clamp, exp's [EXP_LO, EXP_MAX] in base 2 (the same flush to 0 below k = -1023). */
const EXP2_LO = -1023;
const EXP2_MAX = EXP_MAX * LOG2E;

/**
 * out = 2^y lane-wise (pow's exp2(p log2 x)); y and `scratch` are clobbered.
 * The range reduction needs no product: k = nearest(y) by the magic number,
 * t = y - k exactly (Sterbenz), |t| <= 1/2; then exp's rational with its
 * coefficients times powers of ln 2 (rounded once each: ~1e-17 absolute).
 * Clamps, underflow to 0 and NaN as emitExp.
 */
export function emitExp2(c: Code, y: number, out: number, scratch: number): void {
  c.localGet(y).f64x2Const(EXP2_LO).simd(Simd.f64x2Pmax).f64x2Const(EXP2_MAX).simd(Simd.f64x2Pmin).localSet(y);
  c.localGet(y).f64x2Const(ROUND_MAGIC_BIASED).simd(Simd.f64x2Add).localSet(scratch);
  c.localGet(y).localGet(scratch).f64x2Const(ROUND_MAGIC_BIASED).simd(Simd.f64x2Sub).simd(Simd.f64x2Sub).localSet(y);
  c.localGet(y).localGet(y).simd(Simd.f64x2Mul).localSet(out);
  c.localGet(out).localGet(out).f64x2Const(EXP2_O[2]).mulAdd(() => c.f64x2Const(EXP2_O[1])).mulAdd(() => c.f64x2Const(EXP2_O[0]));
  c.localGet(y).simd(Simd.f64x2Mul).localSet(y);
  c.localGet(out).localGet(out).f64x2Const(EXP2_E[2]).mulAdd(() => c.f64x2Const(EXP2_E[1])).mulAdd(() => c.f64x2Const(EXP2_E[0])).localSet(out);
  c.localGet(out).localGet(y).simd(Simd.f64x2Add).localGet(out).localGet(y).simd(Simd.f64x2Sub).simd(Simd.f64x2Div);
  c.localGet(scratch).i32Const(52).simd(Simd.i64x2Shl).simd(Simd.f64x2Mul).localSet(out);
}

const PIO2_1 = 1.57079632673412561417e+00;
const PIO2_1T = 6.07710050650619224932e-11;
const S = [-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04, 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10];
const C = [4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05, -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11];

/**
 * sin(x) into sinOut and / or cos(x) into cosOut (pass -1 to skip one), lane-wise.
 * x is kept; the four scratch locals are clobbered.
 */
export function emitSinCos(c: Code, x: number, sinOut: number, cosOut: number, s: [number, number, number, number]): void {
  const [k, r, sr, cr] = s;
  // k = nearest(x 2 / pi); r = x - k pi/2 (two-part constant)
  c.localGet(x).f64x2Const(2 / Math.PI).simd(Simd.f64x2Mul).simd(Simd.f64x2Nearest).localSet(k);
  c.localGet(x).localGet(k).f64x2Const(PIO2_1).simd(Simd.f64x2Mul).simd(Simd.f64x2Sub);
  c.localGet(k).f64x2Const(PIO2_1T).simd(Simd.f64x2Mul).simd(Simd.f64x2Sub).localSet(r);
  // z = r^2 in cr for now; sin r = r + r z S(z)
  c.localGet(r).localGet(r).simd(Simd.f64x2Mul).localSet(cr);
  c.f64x2Const(S[5]);
  for (let q = 4; q >= 0; q--) c.localGet(cr).mulAdd(() => c.f64x2Const(S[q]));
  c.localGet(cr).simd(Simd.f64x2Mul).localGet(r).mulAdd(() => c.localGet(r)).localSet(sr);
  // cos r = 1 - z / 2 + z^2 C(z)  (r is free now: holds z)
  c.localGet(cr).localSet(r);
  c.f64x2Const(C[5]);
  for (let q = 4; q >= 0; q--) c.localGet(r).mulAdd(() => c.f64x2Const(C[q]));
  c.localGet(r).simd(Simd.f64x2Mul).localGet(r).simd(Simd.f64x2Mul);
  c.f64x2Const(1).localGet(r).f64x2Const(0.5).simd(Simd.f64x2Mul).simd(Simd.f64x2Sub).simd(Simd.f64x2Add).localSet(cr);
  // quadrant q = k mod 4 as integer lanes (k now holds the integer bits).
  c.localGet(k).f64x2Const(ROUND_MAGIC).simd(Simd.f64x2Add).localSet(k);
  const select = (out: number, shift: number) => {
    // q' = q + shift; odd q' swaps sin and cos, q' & 2 flips the sign.
    c.localGet(k);
    if (shift) c.i64x2Const(BigInt(shift)).simd(Simd.i64x2Add);
    c.localSet(out);
    c.localGet(cr).localGet(sr);
    c.localGet(out).i64x2Const(1n).simd(Simd.v128And).i64x2Const(1n).simd(Simd.i64x2Eq);
    c.simd(Simd.v128Bitselect);
    c.localGet(out).i64x2Const(2n).simd(Simd.v128And).i32Const(62).simd(Simd.i64x2Shl);
    c.simd(Simd.v128Xor).localSet(out);
  };
  if (sinOut >= 0) select(sinOut, 0);
  if (cosOut >= 0) select(cosOut, 1);
}
