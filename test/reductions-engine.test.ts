// The reduction engine: every statistic / profile / composition evaluated by
// both executors agrees with a naive f64 loop written here; derivative
// accumulators agree with central finite differences; interrupts stop a
// long reduction between tiles.

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as gp from "../lib";
import { pairwiseBilinear, pairwiseColumnBlockSums, pairwiseEntries, pairwiseMatmul, pairwiseRows } from "../lib/reductions/engine";
import { gradientLayout } from "../lib/reductions/formula";
import { relErr, rng } from "./helpers/reference";

const { profiles } = gp.reductions;
type Formula = gp.reductions.Formula;
type Factor = gp.reductions.Factor;

function randomArray(n: number, rand: () => number, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

/** Independent scalar evaluation of one factor (the math of profiles.ts, written out again). */
function factorValue(f: Factor, i: number, j: number): number {
  const D = f.dims;
  let s = 0;
  if (f.statistic === "table") s = (f.table as Float64Array)[f.x[i] * (f.tableSize as number) + f.y[j]];
  else {
    for (let k = 0; k < D; k++) {
      const a = f.x[i * D + k], b = f.y[j * D + k];
      if (f.statistic === "dot") s += a * b;
      else if (f.statistic === "sqdist") s += (a - b) ** 2;
      else s += (f.weights as Float64Array)[k] * Math.sin(a - b) ** 2;
    }
  }
  const r = Math.sqrt(s);
  switch (f.profile.name) {
    case "rbf": return Math.exp(-s / 2);
    case "matern12": return Math.exp(-r);
    case "matern32": return (1 + Math.sqrt(3) * r) * Math.exp(-Math.sqrt(3) * r);
    case "matern52": return (1 + Math.sqrt(5) * r + (5 / 3) * s) * Math.exp(-Math.sqrt(5) * r);
    case "rq": return (1 + s / (2 * f.params[0])) ** -f.params[0];
    case "periodic": return Math.exp(-2 * s);
    case "cosine": return Math.cos(Math.PI * r);
    case "identity": return s;
    default:
      if (f.profile.name.startsWith("poly")) return (s + f.params[0]) ** Number(f.profile.name.slice(4));
      throw new Error(`no reference for ${f.profile.name}`);
  }
}

function naiveEntry(formula: Formula, i: number, j: number): number {
  const vals = formula.factors.map((f) => factorValue(f, i, j));
  return formula.terms.reduce((s, t) => s + t.coef * t.factors.reduce((p, fi) => p * vals[fi], 1), 0);
}

function naiveMatmul(formula: Formula, V: Float64Array, T: number): Float64Array {
  const out = new Float64Array(formula.n * T);
  for (let i = 0; i < formula.n; i++) for (let j = 0; j < formula.m; j++) {
    const k = naiveEntry(formula, i, j);
    for (let t = 0; t < T; t++) out[i * T + t] += k * V[j * T + t];
  }
  return out;
}

function factor(statistic: gp.reductions.Statistic, profile: gp.reductions.Profile, n: number, m: number, dims: number, rand: () => number, params: number[] = []): Factor {
  const f: Factor = {
    statistic, dims, profile, params: Float64Array.from(params),
    x: randomArray(n * dims, rand), y: randomArray(m * dims, rand),
    ...(statistic === "sinsq" ? { weights: Float64Array.from({ length: dims }, () => 0.5 + rand()) } : {}),
  };
  return f;
}

function tableFactor(n: number, m: number, size: number, rand: () => number): Factor {
  const table = new Float64Array(size * size);
  for (let a = 0; a < size; a++) for (let b = 0; b <= a; b++) table[a * size + b] = table[b * size + a] = rand() + (a === b ? 1 : 0);
  return {
    statistic: "table", dims: 1, profile: profiles.identityProfile, params: new Float64Array(0), table, tableSize: size,
    x: Float64Array.from({ length: n }, () => Math.floor(rand() * size)), y: Float64Array.from({ length: m }, () => Math.floor(rand() * size)),
  };
}

function formulas(n: number, m: number): Formula[] {
  const rand = rng(42);
  const single = (name: string, f: Factor, coef = 1.7): Formula => ({ name, n, m, factors: [f], terms: [{ coef, factors: [0] }] });
  return [
    single("RBF d=3", factor("sqdist", profiles.rbfProfile, n, m, 3, rand)),
    single("RBF d=20 (looped dims)", factor("sqdist", profiles.rbfProfile, n, m, 20, rand, [])),
    single("Matern 1/2", factor("sqdist", profiles.matern12Profile, n, m, 2, rand)),
    single("Matern 3/2", factor("sqdist", profiles.matern32Profile, n, m, 2, rand)),
    single("Matern 5/2", factor("sqdist", profiles.matern52Profile, n, m, 2, rand)),
    single("RQ", factor("sqdist", profiles.rationalQuadraticProfile, n, m, 2, rand, [0.8])),
    single("Periodic", factor("sinsq", profiles.periodicProfile, n, m, 2, rand)),
    single("Cosine", factor("sqdist", profiles.cosineProfile, n, m, 2, rand)),
    single("Linear", factor("dot", profiles.identityProfile, n, m, 3, rand)),
    single("Polynomial 3", factor("dot", profiles.polynomialProfile(3), n, m, 3, rand, [0.5])),
    single("Index table", tableFactor(n, m, 4, rand)),
    {
      name: "(RBF + Periodic) * Linear distributed",
      n, m,
      factors: [factor("sqdist", profiles.rbfProfile, n, m, 2, rand), factor("sinsq", profiles.periodicProfile, n, m, 1, rand), factor("dot", profiles.identityProfile, n, m, 2, rand)],
      terms: [{ coef: 0.7, factors: [0, 2] }, { coef: 1.3, factors: [1, 2] }],
    },
    {
      name: "RBF * Index (Hadamard multitask)",
      n, m,
      factors: [factor("sqdist", profiles.rbfProfile, n, m, 2, rand), tableFactor(n, m, 3, rand)],
      terms: [{ coef: 1, factors: [0, 1] }],
    },
  ];
}

describe("executors agree with a naive f64 loop", () => {
  // 600 x 500 = 3e5 pairs: above the parallel threshold, so workers run too.
  const n = 600, m = 500, T = 3;
  const rand = rng(7);
  const V = randomArray(m * T, rand);
  for (const f of formulas(n, m)) {
    it(f.name, () => {
      const ref = naiveMatmul(f, V, T);
      const fused = pairwiseMatmul(f, V, T, { executor: "fused" });
      assert.ok(relErr(fused, ref) < 1e-12, `fused matmul ${relErr(fused, ref)}`);
      const single = pairwiseMatmul(f, V, T, { executor: "fused", threads: 1 });
      assert.ok(relErr(single, ref) < 1e-12, "one thread");
      const tfjs = pairwiseMatmul(f, V, T, { executor: "tfjs" });
      assert.ok(relErr(tfjs, ref) < 1e-4, `tfjs matmul (float32) ${relErr(tfjs, ref)}`);
      const idx = Int32Array.from([0, 5, n - 1]);
      const jdx = Int32Array.from([3, 0, m - 1]);
      const entriesRef = Array.from(idx, (i, p) => naiveEntry(f, i, jdx[p]));
      assert.ok(relErr(pairwiseEntries(f, idx, jdx, { executor: "fused" }), entriesRef) < 1e-12);
      assert.ok(relErr(pairwiseEntries(f, idx, jdx, { executor: "tfjs" }), entriesRef) < 1e-4);
      const rowsRef: number[] = [];
      for (const i of idx) for (let j = 0; j < m; j++) rowsRef.push(naiveEntry(f, i, j));
      assert.ok(relErr(pairwiseRows(f, idx, { executor: "fused" }), rowsRef) < 1e-12);
      assert.ok(relErr(pairwiseRows(f, idx, { executor: "tfjs" }), rowsRef) < 1e-4);
    });
  }
  it("many right-hand sides (t = 20, looped accumulators) and one thread agree", () => {
    const f = formulas(n, m)[0];
    const W = randomArray(m * 20, rand);
    const ref = naiveMatmul(f, W, 20);
    assert.ok(relErr(pairwiseMatmul(f, W, 20, { executor: "fused" }), ref) < 1e-12);
    assert.ok(relErr(pairwiseMatmul(f, W, 20, { executor: "fused", threads: 1 }), ref) < 1e-12);
  });
  it("the WebAssembly SIMD kernels (RBF, Matern) agree with generated JavaScript and with the naive loop", () => {
    const rand2 = rng(8);
    for (const profile of [profiles.rbfProfile, profiles.matern12Profile, profiles.matern32Profile, profiles.matern52Profile]) {
      // m odd exercises the padded column and, above 512, the column blocks; t = 5 the unrolled accumulators.
      const f: Formula = { name: profile.name, n: 301, m: 1299, factors: [factor("sqdist", profile, 301, 1299, 3, rand2)], terms: [{ coef: 2.5, factors: [0] }] };
      const W = randomArray(1299 * 5, rand2);
      const ref = naiveMatmul(f, W, 5);
      const wasm = pairwiseMatmul(f, W, 5, { executor: "fused" });
      assert.equal(gp.reductions.lastReport()?.code, "wasm-simd", `${profile.name} took the SIMD kernel`);
      process.env.GPLAB_FUSED_WASM = "0";
      try {
        const js = pairwiseMatmul(f, W, 5, { executor: "fused" });
        assert.equal(gp.reductions.lastReport()?.code, "js");
        assert.ok(relErr(js, ref) < 1e-12);
      } finally {
        delete process.env.GPLAB_FUSED_WASM;
      }
      assert.ok(relErr(wasm, ref) < 1e-12, `${profile.name}: wasm ${relErr(wasm, ref)}`);
    }
  });
  it("rows of the stationary kernels come from the WebAssembly kernel and match the naive loop", () => {
    const rand4 = rng(10);
    for (const profile of [profiles.rbfProfile, profiles.matern12Profile, profiles.matern32Profile, profiles.matern52Profile]) {
      const f: Formula = { name: profile.name, n: 90, m: 1299, factors: [factor("sqdist", profile, 90, 1299, 3, rand4)], terms: [{ coef: 1.7, factors: [0] }] };
      const idx = Int32Array.from([5, 0, 89, 5, 41]);
      const ref: number[] = [];
      for (const i of idx) for (let j = 0; j < f.m; j++) ref.push(naiveEntry(f, i, j));
      const got = pairwiseRows(f, idx, { executor: "fused" });
      assert.equal(gp.reductions.lastReport()?.code, "wasm-simd", `${profile.name} took the SIMD kernel`);
      assert.ok(relErr(got, ref) < 1e-12, `${profile.name}: ${relErr(got, ref)}`);
      // Enough rows for several tiles on two threads.
      const many = Int32Array.from({ length: 600 }, (_, a) => (a * 7) % 90);
      const manyRef = pairwiseRows(f, many, { executor: "fused", threads: 1 });
      assert.deepEqual(pairwiseRows(f, many, { executor: "fused", threads: 2 }), manyRef);
      for (const a of [0, 299, 599]) assert.ok(Math.abs(manyRef[a * f.m + 17] - naiveEntry(f, many[a], 17)) < 1e-12);
    }
  });
  it("symmetric K(x, x) @ V evaluates each pair once and still matches the naive loop", () => {
    const rand3 = rng(9);
    for (const n of [5, 203, 1001]) {
      const f0 = factor("sqdist", profiles.matern52Profile, n, n, 3, rand3);
      const f: Formula = { name: "sym", n, m: n, factors: [{ ...f0, y: f0.x }], terms: [{ coef: 1.3, factors: [0] }] };
      for (const T of [1, 5]) {
        const W = randomArray(n * T, rand3);
        const ref = naiveMatmul(f, W, T);
        for (const threads of [1, 2]) {
          const got = pairwiseMatmul(f, W, T, { executor: "fused", symmetric: true, threads });
          assert.ok(relErr(got, ref) < 1e-12, `n=${n} T=${T} threads=${threads}: ${relErr(got, ref)}`);
        }
      }
    }
  });
  it("column-block sums equal K @ (block indicators), on both executors", () => {
    const f = formulas(n, m)[11];
    const starts = Int32Array.from([0, 7, 7, 250, m]);
    const B = new Float64Array(m * 4);
    for (let c = 0; c < 4; c++) for (let j = starts[c]; j < starts[c + 1]; j++) B[j * 4 + c] = 1;
    const ref = naiveMatmul(f, B, 4);
    assert.ok(relErr(pairwiseColumnBlockSums(f, starts, { executor: "fused" }), ref) < 1e-12);
    assert.ok(relErr(pairwiseColumnBlockSums(f, starts, { executor: "tfjs" }), ref) < 1e-4);
    assert.throws(() => pairwiseColumnBlockSums(f, Int32Array.from([0, 10]), {}), /from 0 to 500/);
  });
  it("reports which executor ran", () => {
    const f = formulas(n, m)[0];
    pairwiseMatmul(f, V, T, { executor: "tfjs" });
    assert.equal(gp.reductions.lastReport()?.executor, "tfjs");
    pairwiseMatmul(f, V, T, { executor: "fused" });
    const r = gp.reductions.lastReport();
    assert.equal(r?.executor, "fused");
    assert.equal(r?.pairs, n * m);
    assert.ok((r?.threads ?? 0) >= 1);
  });
});

/** sum_ij M_ij k_ij computed naively, for finite differences. */
function bilinearValue(f: Formula, M: Float64Array): number {
  let s = 0;
  for (let i = 0; i < f.n; i++) for (let j = 0; j < f.m; j++) s += M[i * f.m + j] * naiveEntry(f, i, j);
  return s;
}

/** Rebuilds a formula with one number perturbed, addressed like a gradient slot. */
function perturb(f: Formula, slot: { kind: string; fi: number; k: number }, h: number): Formula {
  const factors = f.factors.map((fa, fi) => {
    if (fi !== slot.fi) return fa;
    const c = { ...fa, x: fa.x.slice(), y: fa.y.slice(), params: fa.params.slice(), weights: fa.weights?.slice(), table: fa.table?.slice() };
    if (slot.kind === "scale") {
      // Scaling dim k of both inputs by (1 + h) is what d/da_k at a = 1 measures.
      for (let i = 0; i < f.n; i++) c.x[i * fa.dims + slot.k] *= 1 + h;
      for (let j = 0; j < f.m; j++) c.y[j * fa.dims + slot.k] *= 1 + h;
    } else if (slot.kind === "weight") (c.weights as Float64Array)[slot.k] += h;
    else if (slot.kind === "param") c.params[slot.k] += h;
    else if (slot.kind === "table") (c.table as Float64Array)[slot.k] += h;
    return c;
  });
  const terms = slot.kind === "coef" ? f.terms.map((t, ti) => (ti === slot.k ? { ...t, coef: t.coef + h } : t)) : f.terms;
  return { ...f, factors, terms };
}

describe("bilinear derivative accumulators match finite differences", () => {
  const n = 30, m = 25;
  const rand = rng(3);
  const M = randomArray(n * m, rand);
  for (const f of formulas(n, m)) {
    it(f.name, () => {
      const layout = gradientLayout(f);
      const fused = pairwiseBilinear(f, { kind: "dense", M }, { executor: "fused" });
      const tfjs = pairwiseBilinear(f, { kind: "dense", M }, { executor: "tfjs" });
      const h = 1e-6;
      const fd = (slot: { kind: string; fi: number; k: number }) =>
        (bilinearValue(perturb(f, slot, h), M) - bilinearValue(perturb(f, slot, -h), M)) / (2 * h);
      const checks: { at: number; want: number }[] = [];
      f.terms.forEach((_, t) => checks.push({ at: layout.termOffset[t], want: fd({ kind: "coef", fi: -1, k: t }) }));
      f.factors.forEach((fa, fi) => {
        const s = layout.factorSlots[fi];
        for (let k = 0; k < fa.dims && s.perDim >= 0; k++) {
          // d/da_k = 2 * perDim for sqdist (u -> a u doubles the squared term), 1 * perDim for sinsq.
          const factor = fa.statistic === "sqdist" ? 0.5 : 1;
          checks.push({ at: s.perDim + k, want: factor * fd({ kind: "scale", fi, k }) });
        }
        for (let k = 0; k < fa.dims && s.perDimWeight >= 0; k++) checks.push({ at: s.perDimWeight + k, want: fd({ kind: "weight", fi, k }) });
        for (let q = 0; q < fa.profile.numParams; q++) checks.push({ at: s.params + q, want: fd({ kind: "param", fi, k: q }) });
        for (let k = 0; s.table >= 0 && k < (fa.tableSize as number) ** 2; k++) checks.push({ at: s.table + k, want: fd({ kind: "table", fi, k }) });
      });
      const scale = Math.max(1, ...checks.map((c) => Math.abs(c.want)));
      for (const c of checks) {
        assert.ok(Math.abs(fused[c.at] - c.want) < 1e-6 * scale, `fused slot ${c.at}: ${fused[c.at]} vs FD ${c.want}`);
        assert.ok(Math.abs(tfjs[c.at] - c.want) < 2e-3 * scale, `tfjs slot ${c.at}: ${tfjs[c.at]} vs FD ${c.want}`);
      }
    });
  }
  it("low-rank weights U W^T equal the same dense M (and never form it)", () => {
    const f = formulas(n, m)[0];
    const T = 4;
    const U = randomArray(n * T, rand), W = randomArray(m * T, rand);
    const Md = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let t = 0; t < T; t++) Md[i * m + j] += U[i * T + t] * W[j * T + t];
    const dense = pairwiseBilinear(f, { kind: "dense", M: Md });
    const low = pairwiseBilinear(f, { kind: "lowRank", U, W, T });
    assert.ok(relErr(low, dense) < 1e-12);
  });
});

describe("WebAssembly bilinear kernel (low-rank weights, stationary kernels)", () => {
  const stationary = [profiles.rbfProfile, profiles.matern12Profile, profiles.matern32Profile, profiles.matern52Profile];
  /** Dense M = U W^T through the generated-JavaScript dense path (checked against finite differences above). */
  function denseReference(f: Formula, U: Float64Array, W: Float64Array, T: number): Float64Array {
    const Md = new Float64Array(f.n * f.m);
    for (let i = 0; i < f.n; i++) for (let j = 0; j < f.m; j++) for (let t = 0; t < T; t++) Md[i * f.m + j] += U[i * T + t] * W[j * T + t];
    return pairwiseBilinear(f, { kind: "dense", M: Md }, { executor: "fused" });
  }
  it("x != y: every profile, odd m (padded columns), T = 1, 11, 16", () => {
    const rand = rng(21);
    for (const profile of stationary) {
      for (const T of [1, 11, 16]) {
        const f: Formula = { name: profile.name, n: 37, m: 29, factors: [factor("sqdist", profile, 37, 29, 3, rand)], terms: [{ coef: 1.7, factors: [0] }] };
        const U = randomArray(37 * T, rand), W = randomArray(29 * T, rand);
        const got = pairwiseBilinear(f, { kind: "lowRank", U, W, T }, { executor: "fused" });
        assert.equal(gp.reductions.lastReport()?.code, "wasm-simd", `${profile.name} T=${T} took the SIMD kernel`);
        assert.ok(relErr(got, denseReference(f, U, W, T)) < 1e-12, `${profile.name} T=${T}: ${relErr(got, denseReference(f, U, W, T))}`);
      }
    }
  });
  it("K(x, x) visits each pair once (w_ij + w_ji), with repeated points (r = 0 off the diagonal), 1 and 2 threads", () => {
    const rand = rng(22);
    for (const profile of stationary) {
      for (const n of [5, 203, 1001]) {
        const f0 = factor("sqdist", profile, n, n, 2, rand);
        // Rows 1 and 3 equal row 0: Matern 1/2's dk/ds is singular at r = 0, where its weight du^2 is 0.
        for (const r of [1, 3]) if (r < n) f0.x.set(f0.x.subarray(0, 2), r * 2);
        const f: Formula = { name: profile.name, n, m: n, factors: [{ ...f0, y: f0.x }], terms: [{ coef: 0.8, factors: [0] }] };
        const T = 11;
        const U = randomArray(n * T, rand), W = randomArray(n * T, rand);
        const ref = n <= 203 ? denseReference(f, U, W, T) : null;
        const results = [1, 2].map((threads) => pairwiseBilinear(f, { kind: "lowRank", U, W, T }, { executor: "fused", symmetric: true, threads }));
        assert.ok(results.every((g) => g.every(Number.isFinite)), `${profile.name} n=${n}: finite`);
        if (ref) assert.ok(relErr(results[0], ref) < 1e-12, `${profile.name} n=${n}: ${relErr(results[0], ref)}`);
        assert.ok(relErr(results[1], results[0]) < 1e-12, `${profile.name} n=${n}: threads agree`);
        const plain = pairwiseBilinear(f, { kind: "lowRank", U, W, T }, { executor: "fused", symmetric: false });
        assert.ok(relErr(results[0], plain) < 1e-12, `${profile.name} n=${n}: symmetric = ordered pairs`);
      }
    }
  });
});

describe("interrupts and bad input", () => {
  it("a requested interrupt stops a long reduction between tiles and the engine stays usable", () => {
    const n = 20000;
    const rand = rng(1);
    const f: Formula = { name: "RBF", n, m: n, factors: [factor("sqdist", profiles.rbfProfile, n, n, 3, rand)], terms: [{ coef: 1, factors: [0] }] };
    const V = randomArray(n, rand);
    // A second thread sets the shared flag 100 ms in, like a notebook kernel would.
    const { Worker } = require("node:worker_threads") as typeof import("node:worker_threads");
    const w = new Worker("const { workerData } = require('node:worker_threads'); setTimeout(() => { Atomics.store(workerData, 0, 1); }, 100);", { eval: true, workerData: gp.reductions.interruptFlag });
    const start = performance.now();
    assert.throws(() => pairwiseMatmul(f, V, 1, { executor: "fused" }), (e: Error) => e.name === "InterruptedError");
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 1500, `stopped after ${elapsed} ms (the full product takes several seconds)`);
    void w.terminate();
    assert.equal(gp.reductions.interruptRequested(), false, "the request is consumed");
    const small: Formula = { ...f, n: 10, m: 10, factors: [{ ...f.factors[0], x: f.factors[0].x.subarray(0, 30), y: f.factors[0].y.subarray(0, 30) }] };
    const ok = pairwiseMatmul(small, V.subarray(0, 10), 1);
    assert.equal(ok.length, 10);
  });
  it("tfjs tiles check the flag too", () => {
    const rand = rng(2);
    const n = 3000;
    const f: Formula = { name: "RBF", n, m: n, factors: [factor("sqdist", profiles.rbfProfile, n, n, 3, rand)], terms: [{ coef: 1, factors: [0] }] };
    gp.reductions.requestInterrupt();
    assert.throws(() => pairwiseMatmul(f, randomArray(n, rand), 1, { executor: "tfjs" }), /interrupted during matmul/);
  });
  it("mismatched shapes name the sizes", () => {
    const rand = rng(4);
    const f: Formula = { name: "RBF", n: 5, m: 4, factors: [factor("sqdist", profiles.rbfProfile, 5, 4, 2, rand)], terms: [{ coef: 1, factors: [0] }] };
    assert.throws(() => pairwiseMatmul(f, new Float64Array(5), 1), /K is 5 x 4 but V has 5 rows \(expected 4\)/);
    assert.throws(() => pairwiseEntries(f, Int32Array.of(7), Int32Array.of(0)), /row index 7 is out of range \[0, 5\)/);
    const broken = { ...f, factors: [{ ...f.factors[0], x: new Float64Array(3) }] };
    assert.throws(() => pairwiseMatmul(broken, new Float64Array(4), 1), /factor 0 has 1.5 x-rows/);
  });
  it("unknown executor or backend names are refused with the valid choices", async () => {
    assert.throws(() => gp.backend.setExecutor("gpu" as "tfjs"), /use "fused", "tfjs" or "webgpu"/);
    await assert.rejects(gp.backend.use("cuda" as "cpu"), /use one of tensorflow, webgpu, wasm, cpu/);
    await assert.rejects(gp.backend.use("tensorflow"), /needs @tensorflow\/tfjs-node-gpu or @tensorflow\/tfjs-node/);
  });
});
