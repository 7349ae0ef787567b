// The formula compiler's WebAssembly SIMD target against its readable
// reference (generated JavaScript, GPLAB_FUSED_WASM=0) for every built-in
// kernel and the compositions users build, for every reduction (K @ V with
// 1..16 right-hand sides, symmetric K(x, x) @ V, rows, entries / diagonal,
// column-block sums, the bilinear derivative with low-rank and dense
// weights), at odd sizes, on 1 and 2 threads; the reference itself against
// closed forms written here; the vector exp / log / sin / cos against Math.*.
// Everything WebAssembly runs twice: with fused multiply-adds (relaxed SIMD,
// the default where Node validates it) and with GPLAB_WASM_FMA=0.

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as gp from "../lib";
import { pairwiseBilinear, pairwiseColumnBlockSums, pairwiseEntries, pairwiseMatmul, pairwiseRows } from "../lib/reductions/engine";
import { generateFused } from "../lib/reductions/fusedCodegen";
import { Code, F64, I32, Simd, V128, buildModule } from "../lib/reductions/wasm/binary";
import { wasmFmaAvailable, wasmFmaEnabled } from "../lib/reductions/wasm/relaxedSimd";
import { emitExp, emitExp2, emitLog, emitLog2, emitSinCos } from "../lib/reductions/wasm/vectorMath";
import { relErr, rng } from "./helpers/reference";

const { onReport } = gp.reductions;
type Formula = gp.reductions.Formula;
type Mat = gp.algorithms.Mat;
const K = gp.kernels;

/** Runs fn with the WebAssembly kernels off: the generated-JavaScript reference. */
function reference<R>(fn: () => R): R {
  const before = process.env.GPLAB_FUSED_WASM;
  process.env.GPLAB_FUSED_WASM = "0";
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.GPLAB_FUSED_WASM;
    else process.env.GPLAB_FUSED_WASM = before;
  }
}

/** Runs fn with the fused multiply-add kernels on (the default) or off (GPLAB_WASM_FMA=0). */
function withFma<R>(on: boolean, fn: () => R): R {
  const before = process.env.GPLAB_WASM_FMA;
  if (on) delete process.env.GPLAB_WASM_FMA;
  else process.env.GPLAB_WASM_FMA = "0";
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.GPLAB_WASM_FMA;
    else process.env.GPLAB_WASM_FMA = before;
  }
}
const FMA_MODES = [true, false];
const fmaLabel = (on: boolean) => (on ? "" : ", GPLAB_WASM_FMA=0");

/** relaxed_madd's opcode bytes (0xfd, LEB128 0x107) in a module. */
function hasRelaxedMadd(bytes: Uint8Array): boolean {
  for (let i = 0; i + 2 < bytes.length; i++) if (bytes[i] === 0xfd && bytes[i + 1] === 0x87 && bytes[i + 2] === 0x02) return true;
  return false;
}

/** The WebAssembly modules inside a generated fused-executor source (base64 strings). */
function modulesIn(source: string): Uint8Array[] {
  return [...source.matchAll(/"([A-Za-z0-9+/]{64,}={0,2})"/g)].map((m) => Uint8Array.from(Buffer.from(m[1], "base64")));
}

/** Runs fn and returns its result with the code every reduction inside it reported. */
function withCodes<R>(fn: () => R): { value: R; codes: string[] } {
  const codes: string[] = [];
  const off = onReport((r) => codes.push(String(r.code)));
  try {
    return { value: fn(), codes };
  } finally {
    off();
  }
}

function points(n: number, d: number, rand: () => number, spread = 3): Mat {
  return gp.algorithms.mat(n, d, Float64Array.from({ length: n * d }, () => rand() * spread));
}

function randomArray(n: number, rand: () => number): Float64Array {
  return Float64Array.from({ length: n }, () => rand() * 2 - 1);
}

/** Every built-in kernel, alone and in the compositions of issue 13's table. */
function kernelCases(): { name: string; make: () => gp.kernels.Kernel; d: number }[] {
  const scaled = <T extends gp.kernels.Kernel>(k: T, s: number) => {
    const sk = new K.ScaleKernel(k);
    sk.outputscale = s;
    return sk;
  };
  const rbf = (l: number | number[] = 0.8) => {
    const k = new K.RBFKernel({ ardNumDims: Array.isArray(l) ? l.length : undefined });
    k.lengthscale = l;
    return k;
  };
  const matern = (nu: 0.5 | 1.5 | 2.5, l = 0.9) => {
    const k = new K.MaternKernel({ nu });
    k.lengthscale = l;
    return k;
  };
  const periodic = () => {
    const k = new K.PeriodicKernel();
    k.lengthscale = 0.7;
    k.periodLength = 1.3;
    return k;
  };
  const rq = () => {
    const k = new K.RQKernel();
    k.lengthscale = 0.6;
    k.alpha = 0.8;
    return k;
  };
  const cases = [
    { name: "RBF (ARD, d = 3)", make: () => rbf([0.5, 0.9, 1.4]), d: 3 },
    { name: "Matern 1/2", make: () => matern(0.5), d: 3 },
    { name: "Matern 3/2", make: () => matern(1.5), d: 3 },
    { name: "Matern 5/2", make: () => matern(2.5), d: 3 },
    { name: "RQ", make: rq, d: 3 },
    { name: "Periodic", make: periodic, d: 3 },
    { name: "Cosine", make: () => new K.CosineKernel(), d: 2 },
    { name: "Linear", make: () => new K.LinearKernel(), d: 3 },
    { name: "Polynomial (power 3)", make: () => new K.PolynomialKernel({ power: 3, offset: 0.4 }), d: 2 },
    { name: "Scale(RBF) + Scale(Matern 5/2)", make: () => scaled(rbf(), 1.3).add(scaled(matern(2.5, 1.1), 0.6)), d: 3 },
    { name: "RBF * Periodic", make: () => rbf().mul(periodic()), d: 3 },
    // Value kernels merge the three exponentials into one (exp(a) exp(b) = exp(a + b)), Matern's polynomial kept apart.
    { name: "Matern 5/2 * RBF * Periodic", make: () => matern(2.5).mul(rbf(1.2)).mul(periodic()), d: 3 },
    { name: "Scale(RQ * Linear) + Periodic (d = 5)", make: () => scaled(rq().mul(new K.LinearKernel()), 0.7).add(periodic()), d: 5 },
  ];
  if ("SpectralMixtureKernel" in K) {
    const SM = (K as unknown as { SpectralMixtureKernel: new (o: object) => gp.kernels.Kernel }).SpectralMixtureKernel;
    cases.push({ name: "SpectralMixture (3 mixtures)", make: () => new SM({ numMixtures: 3, ardNumDims: 2 }), d: 2 });
  }
  return cases;
}

function formulaOf(kernel: gp.kernels.Kernel, x1: Mat, x2: Mat): Formula {
  return (kernel.operatorF64(x1, x2) as unknown as { formula: Formula }).formula;
}

/** Compares a WebAssembly result with the reference and checks that WebAssembly ran. */
function agree(what: string, fast: { value: Float64Array; codes: string[] }, ref: Float64Array, tol = 1e-12): void {
  assert.ok(fast.codes.length > 0 && fast.codes.every((c) => c === "wasm-simd"), `${what}: ran ${fast.codes.join(",")}`);
  const err = relErr(fast.value, ref);
  assert.ok(err < tol, `${what}: relative error ${err}`);
}

describe("WebAssembly formula compiler against the generated-JavaScript reference", () => {
  // 601 x 503 pairs: above the parallel threshold, so two threads run too; odd sizes pad columns.
  const n = 601, m = 503;
  for (const kc of kernelCases()) for (const fma of FMA_MODES) {
    it(`${kc.name}${fmaLabel(fma)}`, () => withFma(fma, () => {
      const rand = rng(11);
      const x1 = points(n, kc.d, rand), x2 = points(m, kc.d, rand);
      const kernel = kc.make();
      const f = formulaOf(kernel, x1, x2);
      const fSym = formulaOf(kernel, x1, x1);
      for (const threads of [1, 2]) {
        const opts = { executor: "fused" as const, threads };
        for (const T of [1, 3, 16]) {
          const V = randomArray(m * T, rand);
          agree(`K @ V, t = ${T}, ${threads} threads`, withCodes(() => pairwiseMatmul(f, V, T, opts)), reference(() => pairwiseMatmul(f, V, T, opts)));
          const Vs = randomArray(n * T, rand);
          agree(`symmetric K @ V, t = ${T}, ${threads} threads`, withCodes(() => pairwiseMatmul(fSym, Vs, T, { ...opts, symmetric: true })), reference(() => pairwiseMatmul(fSym, Vs, T, opts)));
        }
        const rows = Int32Array.from([0, 7, 300, n - 1, 7]);
        agree(`rows, ${threads} threads`, withCodes(() => pairwiseRows(f, rows, opts)), reference(() => pairwiseRows(f, rows, opts)));
        const all = Int32Array.from({ length: n }, (_, i) => i);
        agree(`diagonal, ${threads} threads`, withCodes(() => pairwiseEntries(fSym, all, all, opts)), reference(() => pairwiseEntries(fSym, all, all, opts)));
        const cols = Int32Array.from({ length: n }, (_, i) => (i * 7) % m);
        agree(`entries, ${threads} threads`, withCodes(() => pairwiseEntries(f, all, cols, opts)), reference(() => pairwiseEntries(f, all, cols, opts)));
        const starts = Int32Array.from([0, 1, 100, 101, 377, m]);
        agree(`column-block sums, ${threads} threads`, withCodes(() => pairwiseColumnBlockSums(f, starts, opts)), reference(() => pairwiseColumnBlockSums(f, starts, opts)));
        // Gradient pass: low-rank weights (plain and K(x, x)) and dense weights.
        const Tw = 11;
        const U = randomArray(n * Tw, rand), W = randomArray(m * Tw, rand), W2 = randomArray(n * Tw, rand);
        agree(`bilinear low-rank, ${threads} threads`, withCodes(() => pairwiseBilinear(f, { kind: "lowRank", U, W, T: Tw }, opts)), reference(() => pairwiseBilinear(f, { kind: "lowRank", U, W, T: Tw }, opts)), 1e-11);
        agree(
          `bilinear low-rank K(x, x), ${threads} threads`,
          withCodes(() => pairwiseBilinear(fSym, { kind: "lowRank", U, W: W2, T: Tw }, { ...opts, symmetric: true })),
          reference(() => pairwiseBilinear(fSym, { kind: "lowRank", U, W: W2, T: Tw }, opts)),
          1e-11,
        );
        const M = randomArray(n * m, rand);
        agree(`bilinear dense, ${threads} threads`, withCodes(() => pairwiseBilinear(f, { kind: "dense", M }, opts)), reference(() => pairwiseBilinear(f, { kind: "dense", M }, opts)), 1e-11);
        // K(x, x) with dense (here not symmetric) weights: each pair once, weight M_ij + M_ji.
        const Ms = randomArray(n * n, rand);
        agree(
          `bilinear dense K(x, x), ${threads} threads`,
          withCodes(() => pairwiseBilinear(fSym, { kind: "dense", M: Ms }, { ...opts, symmetric: true })),
          reference(() => pairwiseBilinear(fSym, { kind: "dense", M: Ms }, opts)),
          1e-11,
        );
      }
    }));
  }

  it("fused multiply-add: on by default where Node takes relaxed SIMD (Node 20 behind V8's flag, which is set), in every kernel; none with GPLAB_WASM_FMA=0", () => {
    // Node 20's V8 has relaxed SIMD behind --experimental-wasm-relaxed-simd, Node 22+ on by default.
    if (Number(process.versions.node.split(".")[0]) >= 20) assert.equal(wasmFmaAvailable(), true);
    const rand = rng(4);
    for (const kc of kernelCases()) {
      const x = points(40, kc.d, rand);
      const f = formulaOf(kc.make(), x, x);
      for (const kind of ["matmul", "matmulSymmetric", "bilinearLowRankSymmetric", "block"] as const) {
        for (const fma of FMA_MODES) {
          const gen = withFma(fma, () => generateFused(f, kind, kind.startsWith("bilinear") ? 11 : 1));
          const modules = modulesIn(gen.source);
          assert.equal(gen.code, "wasm-simd", `${kc.name} ${kind}`);
          assert.ok(modules.length >= 1, `${kc.name} ${kind}: no module in the source`);
          const expectFused = fma && wasmFmaAvailable();
          assert.equal(withFma(fma, wasmFmaEnabled), expectFused);
          for (const bytes of modules) assert.equal(hasRelaxedMadd(bytes), expectFused, `${kc.name} ${kind}${fmaLabel(fma)}: relaxed_madd ${expectFused ? "missing" : "present"}`);
        }
      }
    }
  });

  for (const fma of FMA_MODES) it(`the index (table) statistic, alone and times RBF (Hadamard multitask)${fmaLabel(fma)}`, () => withFma(fma, () => {
    const rand = rng(5);
    const size = 4;
    const table = new Float64Array(size * size);
    for (let a = 0; a < size; a++) for (let b = 0; b <= a; b++) table[a * size + b] = table[b * size + a] = rand() + (a === b ? 1 : 0);
    const idx = (count: number) => Float64Array.from({ length: count }, () => Math.floor(rand() * size));
    const ix = idx(n), iy = idx(m);
    const tableFactor = { statistic: "table" as const, dims: 1, profile: gp.reductions.profiles.identityProfile, params: new Float64Array(0), table, tableSize: size, x: ix, y: iy };
    const rbf = { statistic: "sqdist" as const, dims: 2, profile: gp.reductions.profiles.rbfProfile, params: new Float64Array(0), x: randomArray(n * 2, rand), y: randomArray(m * 2, rand) };
    const f: Formula = { name: "RBF * Index", n, m, factors: [rbf, tableFactor], terms: [{ coef: 1.4, factors: [0, 1] }, { coef: 0.3, factors: [1] }] };
    const V = randomArray(m * 2, rand);
    agree("K @ V", withCodes(() => pairwiseMatmul(f, V, 2)), reference(() => pairwiseMatmul(f, V, 2)));
    const U = randomArray(n * 3, rand), W = randomArray(m * 3, rand);
    agree("bilinear (table slots scattered)", withCodes(() => pairwiseBilinear(f, { kind: "lowRank", U, W, T: 3 })), reference(() => pairwiseBilinear(f, { kind: "lowRank", U, W, T: 3 })), 1e-11);
  }));

  it("a user profile written in the same JavaScript compiles too; one outside the language falls back to JavaScript and says so", () => {
    const rand = rng(9);
    // k(s) = (1 + s)^-1.5 * cos(s) + (s > 0.5 ? log(1 + s) : s^3), parameter p scales s.
    const userProfile: gp.reductions.Profile = {
      name: "user-test", numParams: 1,
      prelude: (v) => `const ${v.tmp}u = ${v.p[0]} * ${v.s};`,
      value: (v) => `Math.pow(1 + ${v.tmp}u, -1.5) * Math.cos(${v.tmp}u) + (${v.tmp}u > 0.5 ? Math.log(1 + ${v.tmp}u) : Math.pow(${v.tmp}u, 3))`,
      dValue: (v) => `${v.p[0]} * Math.exp(-${v.tmp}u)`,
      dParams: (v) => [`Math.sin(${v.tmp}u) / (1 + Math.abs(${v.p[0]}))`],
      tf: (tf, s) => s,
    };
    const mk = (profile: gp.reductions.Profile): Formula => ({
      name: profile.name, n, m, terms: [{ coef: 0.9, factors: [0] }],
      factors: [{ statistic: "sqdist", dims: 3, profile, params: Float64Array.of(0.7), x: randomArray(n * 3, rand), y: randomArray(m * 3, rand) }],
    });
    const f = mk(userProfile);
    const V = randomArray(m, rand);
    agree("user profile K @ V", withCodes(() => pairwiseMatmul(f, V, 1)), reference(() => pairwiseMatmul(f, V, 1)));
    const U = randomArray(n * 2, rand), W = randomArray(m * 2, rand);
    agree("user profile gradient", withCodes(() => pairwiseBilinear(f, { kind: "lowRank", U, W, T: 2 })), reference(() => pairwiseBilinear(f, { kind: "lowRank", U, W, T: 2 })), 1e-11);
    // Math.tanh is not in the compiler's language: generated JavaScript runs, and the report says "js".
    const outside = mk({ ...userProfile, name: "user-tanh", value: (v) => `Math.tanh(${v.s})` });
    const run = withCodes(() => pairwiseMatmul(outside, V, 1));
    assert.deepEqual(run.codes, ["js"]);
    const expected = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += (outside.factors[0].x[i * 3 + k] - outside.factors[0].y[j * 3 + k]) ** 2;
        expected[i] += 0.9 * Math.tanh(s) * V[j];
      }
    }
    assert.ok(relErr(run.value, expected) < 1e-12);
  });
});

describe("the reference itself against closed forms (issue 13's kernels)", () => {
  it("Scale(RBF) + Scale(Matern 5/2), RBF * Periodic, RQ, Periodic: K @ v equals a dense f64 loop", () => {
    const rand = rng(3);
    const n = 157, m = 131, d = 3;
    const x1 = points(n, d, rand), x2 = points(m, d, rand);
    const v = randomArray(m, rand);
    const dist2 = (i: number, j: number, l: number) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += ((x1.data[i * d + k] - x2.data[j * d + k]) / l) ** 2;
      return s;
    };
    const sinsq = (i: number, j: number, period: number, l: number) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += Math.sin((Math.PI * (x1.data[i * d + k] - x2.data[j * d + k])) / period) ** 2 / l;
      return s;
    };
    const matern52 = (r: number) => (1 + Math.sqrt(5) * r + (5 / 3) * r * r) * Math.exp(-Math.sqrt(5) * r);
    const closed: Record<string, (i: number, j: number) => number> = {
      "Scale(RBF) + Scale(Matern 5/2)": (i, j) => 1.3 * Math.exp(-dist2(i, j, 0.8) / 2) + 0.6 * matern52(Math.sqrt(dist2(i, j, 1.1))),
      "RBF * Periodic": (i, j) => Math.exp(-dist2(i, j, 0.8) / 2) * Math.exp(-2 * sinsq(i, j, 1.3, 0.7)),
      RQ: (i, j) => (1 + dist2(i, j, 0.6) / (2 * 0.8)) ** -0.8,
      Periodic: (i, j) => Math.exp(-2 * sinsq(i, j, 1.3, 0.7)),
    };
    for (const kc of kernelCases().filter((c) => c.name in closed)) {
      const f = formulaOf(kc.make(), x1, x2);
      const expected = new Float64Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) expected[i] += closed[kc.name](i, j) * v[j];
      const ref = reference(() => pairwiseMatmul(f, v, 1));
      assert.ok(relErr(ref, expected) < 1e-12, `${kc.name} reference: ${relErr(ref, expected)}`);
      assert.ok(relErr(pairwiseMatmul(f, v, 1), expected) < 1e-12, `${kc.name} WebAssembly`);
    }
  });
});

describe("vector exp, log, sin, cos against Math", () => {
  /** A module applying `emit` to n f64 values in memory, two per step. */
  function apply(emit: (c: Code, x: number, out: number, scratch: number[]) => void, input: Float64Array, fma: boolean): Float64Array {
    const c = new Code(fma);
    // params: ptr, count (bytes); locals: j (i32), x, out, 4 scratch (v128)
    const [ptr, end, j, x, out] = [0, 1, 2, 3, 4];
    const scratch = [5, 6, 7, 8];
    c.i32Const(0).localSet(j);
    c.block().loop();
    c.localGet(j).localGet(end).i32GeU().brIf(1);
    c.localGet(ptr).localGet(j).i32Add().v128Load().localSet(x);
    emit(c, x, out, scratch);
    c.localGet(ptr).localGet(j).i32Add().localGet(out).v128Store();
    c.localGet(j).i32Const(16).i32Add().localSet(j);
    c.br(0).end().end();
    const bytes = buildModule([I32, I32], [[1, I32], [6, V128]], c);
    assert.equal(hasRelaxedMadd(bytes), fma, "the module has relaxed_madd exactly when asked for");
    const WA = (globalThis as unknown as { WebAssembly: { Memory: new (o: object) => { buffer: ArrayBuffer }; Instance: new (m: unknown, i: object) => { exports: { run(p: number, e: number): void } }; Module: new (b: Uint8Array) => unknown } }).WebAssembly;
    const mem = new WA.Memory({ initial: Math.ceil((input.length * 8 + 16) / 65536) });
    const inst = new WA.Instance(new WA.Module(bytes), { env: { mem } });
    const data = new Float64Array(mem.buffer, 0, input.length);
    data.set(input);
    inst.exports.run(0, input.length * 8);
    return Float64Array.from(data);
  }
  const grid = (lo: number, hi: number, count: number) => Float64Array.from({ length: count }, (_, i) => lo + ((hi - lo) * i) / (count - 1));
  const ulpErr = (got: Float64Array, input: Float64Array, f: (v: number) => number, absFloor = 0) => {
    let worst = 0;
    input.forEach((v, i) => {
      const want = f(v);
      const err = Math.abs(got[i] - want) / Math.max(Math.abs(want), absFloor, 1e-300);
      worst = Math.max(worst, err);
    });
    return worst;
  };
  void F64;
  void Simd;
  // The fused variants need relaxed SIMD (on Node 20+: asserted in the compiler's suite above).
  const vectorModes = wasmFmaAvailable() ? FMA_MODES : [false];

  // The budget (vectorMath.ts): 4e-16 from the rational form, plus 2.3e-17 |k| from the one-step
  // range reduction with FMA (|k| <= 1023): largest far from 0, where exp is far from 1.
  for (const fma of vectorModes) it(`exp on [-708, 709] to 3e-14 relative and on [-20, 20] to 2e-15; below -708.74 it underflows to 0 (as far-apart RBF pairs must); NaN stays NaN${fma ? ", fused multiply-add" : ""}`, () => {
    const input = Float64Array.from([...grid(-700, 700, 20002), ...grid(-708.7, -700, 1001), ...grid(700, 709, 1001), ...grid(-0.35, 0.35, 2001)]);
    const got = apply((c, x, out, s) => emitExp(c, x, out, s[0]), input, fma);
    assert.ok(ulpErr(got, input, Math.exp) < 3e-14, `exp ${ulpErr(got, input, Math.exp)}`);
    const near = grid(-20, 20, 40001);
    assert.ok(ulpErr(apply((c, x, out, s) => emitExp(c, x, out, s[0]), near, fma), near, Math.exp) < 2e-15, "exp near 0");
    assert.equal(apply((c, x, out, s) => emitExp(c, x, out, s[0]), Float64Array.of(0, 0), fma)[0], 1, "exp(0) = 1 exactly");
    for (const nonPositive of [true, false]) {
      const tiny = apply((c, x, out, s) => emitExp(c, x, out, s[0], nonPositive), Float64Array.of(-1e300, -Infinity, -1e4, -800, -709.5, -708.8, NaN, -708.5), fma);
      assert.deepEqual(Array.from(tiny.subarray(0, 6)), [0, 0, 0, 0, 0, 0]);
      assert.ok(Number.isNaN(tiny[6]));
      assert.ok(Math.abs(tiny[7] / Math.exp(-708.5) - 1) < 3e-14, `exp(-708.5) = ${tiny[7]}`);
    }
  });
  // Profiles' exp(-0.5 s), exp(-a), exp(-2 s) fold the power-of-two scale into exp's constants.
  for (const fma of vectorModes) it(`exp(scale x) with scale = +-2^j folded in: the tolerances above on scale x, the same clamps, underflow and NaN${fma ? ", fused multiply-add" : ""}`, () => {
    for (const scale of [-0.5, -1, -2, 0.25, 4]) {
      const input = Float64Array.from([...grid(-700, 700, 4002), ...grid(-708.7, -700, 201), ...grid(700, 709, 201), ...grid(-0.35, 0.35, 401)].map((v) => v / scale));
      const got = apply((c, x, out, s) => emitExp(c, x, out, s[0], false, scale), input, fma);
      assert.ok(ulpErr(got, input, (v) => Math.exp(scale * v)) < 3e-14, `scale ${scale}: ${ulpErr(got, input, (v) => Math.exp(scale * v))}`);
      const near = grid(-20, 20, 4001).map((v) => v / scale);
      assert.ok(ulpErr(apply((c, x, out, s) => emitExp(c, x, out, s[0], false, scale), near, fma), near, (v) => Math.exp(scale * v)) < 2e-15, `scale ${scale} near 0`);
      assert.equal(apply((c, x, out, s) => emitExp(c, x, out, s[0], false, scale), Float64Array.of(0, 0), fma)[0], 1);
      for (const nonPositive of [true, false]) {
        const far = Float64Array.of(-1e300, -Infinity, -1e4, -800, -709.5, -708.8, NaN, -708.5).map((v) => v / scale);
        const tiny = apply((c, x, out, s) => emitExp(c, x, out, s[0], nonPositive, scale), far, fma);
        assert.deepEqual(Array.from(tiny.subarray(0, 6)), [0, 0, 0, 0, 0, 0], `scale ${scale}`);
        assert.ok(Number.isNaN(tiny[6]));
        assert.ok(Math.abs(tiny[7] / Math.exp(-708.5) - 1) < 3e-14);
      }
      // Above the clamp: finite, exp(709).
      const big = apply((c, x, out, s) => emitExp(c, x, out, s[0], false, scale), Float64Array.of(1e300, Infinity).map((v) => v / scale), fma);
      assert.ok(Math.abs(big[0] / Math.exp(709) - 1) < 3e-14 && big[0] === big[1], `scale ${scale}: ${big[0]}`);
    }
    assert.throws(() => emitExp(new Code(fma), 0, 1, 2, false, 3), /not a power of two/);
  });
  for (const fma of vectorModes) it(`log on (0, 1e300] to 1e-15 relative (absolute near 1); log 0 = -Infinity, log of negatives NaN${fma ? ", fused multiply-add" : ""}`, () => {
    const input = Float64Array.from([...grid(1e-6, 3, 10000), ...Array.from({ length: 2000 }, (_, i) => 10 ** (-300 + 0.3 * i))]);
    const got = apply((c, x, out, s) => emitLog(c, x, out, [s[0], s[1], s[2], s[3]]), input, fma);
    assert.ok(ulpErr(got, input, Math.log, 1) < 1e-15, `log ${ulpErr(got, input, Math.log, 1)}`);
    const special = apply((c, x, out, s) => emitLog(c, x, out, [s[0], s[1], s[2], s[3]]), Float64Array.of(0, -1), fma);
    assert.equal(special[0], -Infinity);
    assert.ok(Number.isNaN(special[1]));
  });
  // pow(a, b) for a non-constant b runs as 2^(b log2 a) (profileExpression.ts).
  for (const fma of vectorModes) it(`log2 on (0, 1e300] to 1e-15 relative (absolute near 1), special cases as log; 2^y on [-1022, 1022] to 1e-15 (its range reduction is exact), 2^0 = 1, flush to 0 below -1022.5, NaN stays NaN${fma ? ", fused multiply-add" : ""}`, () => {
    const input = Float64Array.from([...grid(1e-6, 3, 10000), ...Array.from({ length: 2000 }, (_, i) => 10 ** (-300 + 0.3 * i)), 1, 2, 0.5, 1024]);
    const lg = apply((c, x, out, s) => emitLog2(c, x, out, [s[0], s[1], s[2], s[3]]), input, fma);
    assert.ok(ulpErr(lg, input, Math.log2, 1) < 1e-15, `log2 ${ulpErr(lg, input, Math.log2, 1)}`);
    assert.deepEqual(Array.from(lg.subarray(input.length - 4)), [0, 1, -1, 10], "log2 of powers of two is exact");
    const special = apply((c, x, out, s) => emitLog2(c, x, out, [s[0], s[1], s[2], s[3]]), Float64Array.of(0, -1), fma);
    assert.equal(special[0], -Infinity);
    assert.ok(Number.isNaN(special[1]));
    const ys = Float64Array.from([...grid(-1022, 1022, 20002), ...grid(-0.5, 0.5, 2001)]);
    const e2 = apply((c, x, out, s) => emitExp2(c, x, out, s[0]), ys, fma);
    assert.ok(ulpErr(e2, ys, (v) => 2 ** v) < 1e-15, `exp2 ${ulpErr(e2, ys, (v) => 2 ** v)}`);
    const edge = apply((c, x, out, s) => emitExp2(c, x, out, s[0]), Float64Array.of(0, -1e300, -Infinity, -1023, -1022.6, NaN, 1e300, 3), fma);
    assert.deepEqual(Array.from(edge.subarray(0, 5)), [1, 0, 0, 0, 0]);
    assert.ok(Number.isNaN(edge[5]));
    assert.ok(Number.isFinite(edge[6]) && Math.abs(edge[6] / Math.exp(709) - 1) < 3e-14, `2^1e300 clamps to exp(709): ${edge[6]}`);
    assert.equal(edge[7], 8);
  });
  for (const fma of vectorModes) it(`sin and cos on [-1000, 1000] to 1e-15 absolute${fma ? ", fused multiply-add" : ""}`, () => {
    const input = grid(-1000, 1000, 40002);
    const sin = apply((c, x, out, s) => emitSinCos(c, x, out, -1, [s[0], s[1], s[2], s[3]]), input, fma);
    const cos = apply((c, x, out, s) => emitSinCos(c, x, -1, out, [s[0], s[1], s[2], s[3]]), input, fma);
    assert.ok(ulpErr(sin, input, Math.sin, 1) < 1e-15, `sin ${ulpErr(sin, input, Math.sin, 1)}`);
    assert.ok(ulpErr(cos, input, Math.cos, 1) < 1e-15, `cos ${ulpErr(cos, input, Math.cos, 1)}`);
  });
});
