// The bug gplab exists to make impossible: a kernel's diag path returning
// n x n. For every kernel and every two-kernel Additive / Product / Scale
// composition, k.call(x, x, { diag: true }) must equal the dense diagonal,
// have shape [n], and evaluate only n pairs: every reduction reports what it
// ran (reductions.onReport), and we also run it at n = 200,000, where n x n
// f64 would need 320 GB.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";

const K = gp.kernels;
type Make = () => gp.kernels.Kernel;

const base: Record<string, Make> = {
  rbf: () => new K.RBFKernel({ ardNumDims: 2 }).initialize({ lengthscale: [0.7, 1.3] }),
  matern12: () => new K.MaternKernel({ nu: 0.5 }).initialize({ lengthscale: 0.8 }),
  matern32: () => new K.MaternKernel({ nu: 1.5, ardNumDims: 2 }).initialize({ lengthscale: [0.6, 1.1] }),
  matern52: () => new K.MaternKernel({ nu: 2.5 }),
  rq: () => new K.RQKernel().initialize({ lengthscale: 0.9, alpha: 0.7 }),
  periodic: () => new K.PeriodicKernel({ ardNumDims: 2 }).initialize({ lengthscale: [0.7, 1.2], periodLength: [1.5, 2.5] }),
  linear: () => new K.LinearKernel().initialize({ variance: 0.6 }),
  polynomial: () => new K.PolynomialKernel({ power: 2 }).initialize({ offset: 0.5 }),
  cosine: () => new K.CosineKernel().initialize({ periodLength: 1.7 }),
  activeDims: () => new K.RBFKernel({ activeDims: [1] }).initialize({ lengthscale: 0.5 }),
  spectralMixture: () => new K.SpectralMixtureKernel({ numMixtures: 3, ardNumDims: 2 }).initialize({ mixtureMeans: [0.3, 0.1, 0.5, 0.2, 0.05, 0.4], mixtureScales: [0.4, 0.2, 0.9, 0.3, 0.6, 0.1] }),
};

function compositions(): [string, Make][] {
  const names = Object.keys(base);
  const out: [string, Make][] = [];
  for (const a of names) {
    out.push([a, base[a]]);
    out.push([`Scale(${a})`, () => new K.ScaleKernel(base[a]()).initialize({ outputscale: 1.7 })]);
  }
  for (let i = 0; i < names.length; i++) {
    for (let j = i; j < names.length; j++) {
      const a = base[names[i]], b = base[names[j]];
      out.push([`${names[i]} + ${names[j]}`, () => a().add(b())]);
      out.push([`${names[i]} * ${names[j]}`, () => a().mul(b())]);
    }
  }
  return out;
}

function inputs(n: number, d: number, seed: number): number[][] {
  const r = new gp.RandomSource(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => 2 * r.normal()));
}

/** Runs fn and returns the reductions it performed. */
function recordReductions<T>(fn: () => T): { result: T; reports: gp.reductions.ReductionReport[] } {
  const reports: gp.reductions.ReductionReport[] = [];
  const stop = gp.reductions.onReport((r) => reports.push(r));
  try {
    return { result: fn(), reports };
  } finally {
    stop();
  }
}

function assertOnlyDiagonalWork(reports: gp.reductions.ReductionReport[], n: number, what: string): void {
  assert.ok(reports.length > 0, `${what}: no reduction ran`);
  for (const r of reports) {
    assert.equal(r.operation, "entries", `${what}: diag ran a ${r.operation} reduction`);
    // n pairs at most: one where every diagonal pair's distance is exactly 0 (stationary kernels).
    assert.ok(r.pairs >= 1 && r.pairs <= n, `${what}: diag evaluated ${r.pairs} pairs for n = ${n}`);
  }
}

const x = inputs(30, 2, 7);

for (const [name, make] of compositions()) {
  test(`diag of ${name}: equals the dense diagonal, shape [n], at most n pair evaluations`, () => {
    const k = make();
    const dense = (k.call(x) as gp.operators.LinearOperator).toDenseF64();
    const { result: diag, reports } = recordReductions(() => k.call(x, x, { diag: true }));
    assert.deepEqual(diag.shape, [30]);
    const d = diag.dataSync();
    for (let i = 0; i < 30; i++) {
      const expected = dense.data[i * 30 + i];
      assert.ok(Math.abs(d[i] - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${name} diag[${i}] = ${d[i]}, dense ${expected}`);
    }
    assertOnlyDiagonalWork(reports, 30, name);
    // The operator's own diagonal takes the same path.
    const op = k.call(x) as gp.operators.LinearOperator;
    const viaOp = recordReductions(() => op.diagonal());
    assert.deepEqual(viaOp.result.shape, [30]);
    assertOnlyDiagonalWork(viaOp.reports, 30, `${name} operator.diagonal()`);
  });
}

test("diag at n = 200,000 (n x n would be 320 GB) for every composition: shape [n], n pairs, no dense path", () => {
  const n = 200_000;
  const big = inputs(n, 2, 11);
  const dense = { calls: 0 };
  const proto = gp.operators.LinearOperator.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const kproto = gp.operators.KernelLinearOperator.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const spied: [Record<string, (...a: unknown[]) => unknown>, string, (...a: unknown[]) => unknown][] = [];
  for (const [obj, method] of [[proto, "toDenseF64"], [kproto, "rowsF64"], [kproto, "matmulF64"]] as const) {
    const orig = obj[method];
    spied.push([obj, method, orig]);
    obj[method] = function (this: unknown, ...a: unknown[]) {
      dense.calls++;
      return orig.apply(this, a);
    };
  }
  try {
    for (const [name, make] of compositions()) {
      const { result, reports } = recordReductions(() => make().call(big, big, { diag: true }));
      assert.deepEqual(result.shape, [n], name);
      assertOnlyDiagonalWork(reports, n, name);
      result.dispose();
    }
  } finally {
    for (const [obj, method, orig] of spied) obj[method] = orig;
  }
  assert.equal(dense.calls, 0, "a dense / row / matmul path ran during diag");
});

test("IndexKernel and MultitaskKernel diag: table lookups and the Kronecker diagonal", () => {
  const idx = [[0], [2], [1], [2], [0]];
  const ik = new K.IndexKernel({ numTasks: 3, rank: 2 });
  const B = ik.covarMatrixF64();
  const d = ik.call(idx, idx, { diag: true }).dataSync();
  idx.forEach(([t], i) => assert.ok(Math.abs(d[i] - B[t * 3 + t]) < 1e-6));
  // Scale(Index) * Index composition through the table factor.
  const comp = new K.ScaleKernel(ik).mul(new K.IndexKernel({ numTasks: 3 }));
  const dense = (comp.call(idx) as gp.operators.LinearOperator).toDenseF64();
  const dd = comp.call(idx, idx, { diag: true }).dataSync();
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(dd[i] - dense.data[i * 5 + i]) < 1e-6);

  const mt = new K.MultitaskKernel(new K.RBFKernel(), { numTasks: 3, rank: 1 });
  const xs = [[0.1], [0.5], [1.3], [2.0]];
  const full = mt.call(xs) as gp.operators.LinearOperator;
  assert.deepEqual(full.shape, [12, 12]);
  const fd = full.toDenseF64();
  const { result: md, reports } = recordReductions(() => mt.call(xs, xs, { diag: true }));
  assert.deepEqual(md.shape, [12]);
  const mdv = md.dataSync();
  for (let i = 0; i < 12; i++) assert.ok(Math.abs(mdv[i] - fd.data[i * 12 + i]) < 1e-6);
  for (const r of reports) assert.equal(r.operation, "entries");
});

test("a stationary K(x, x) diagonal is one pair evaluation, unless an input is not finite", () => {
  const rbfSum = () => new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel()).add(new gp.kernels.PeriodicKernel());
  const xs = gp.algorithms.mat(40, 2, Float64Array.from(inputs(40, 2, 5).flat()));
  const { result, reports } = recordReductions(() => rbfSum().diagF64(xs, xs));
  assert.deepEqual(reports.map((r) => r.pairs), [1]);
  const want = Math.log(2) + 1; // outputscale softplus(0) = ln 2 times RBF(0) = 1, plus Periodic(0) = 1
  assert.equal(result.length, 40);
  for (const v of result) assert.ok(Math.abs(v - want) < 1e-14, `diag ${v} vs ${want}`);
  // A NaN input: that row's distance is NaN, so every pair is evaluated and only that entry is NaN.
  const bad = gp.algorithms.mat(40, 2, xs.data.slice());
  bad.data[7 * 2 + 1] = NaN;
  const withNaN = recordReductions(() => rbfSum().diagF64(bad, bad));
  assert.deepEqual(withNaN.reports.map((r) => r.pairs), [40]);
  withNaN.result.forEach((v, i) => (i === 7 ? assert.ok(Number.isNaN(v)) : assert.ok(Math.abs(v - want) < 1e-14)));
});
