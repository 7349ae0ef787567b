// Kernel matrices and diagonals against GPyTorch 1.12 (test/fixtures/reference/
// kernel_values.json): every kernel, K(x1, x2), K(x1, x1) and the diag path,
// on the fused f64 executor (rel. err < 1e-5) and the float32 tfjs executor
// (< 1e-4). Parameters are loaded from GPyTorch's own raw state_dict values.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as gp from "../lib";
import { camelPath } from "../lib/module/Module";

interface Spec {
  type: string;
  lengthscale?: number[];
  nu?: 0.5 | 1.5 | 2.5;
  alpha?: number;
  period_length?: number[];
  variance?: number;
  power?: number;
  offset?: number;
  outputscale?: number;
  base?: Spec;
  kernels?: Spec[];
}
interface Case {
  name: string;
  kernel: Spec;
  params: Record<string, { raw: unknown; value?: unknown }>;
  K_x1_x2: number[][];
  K_x1_x1: number[][];
  diag_x1_x1: number[];
}
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "../../test/fixtures/reference/kernel_values.json"), "utf8")) as { x1: number[][]; x2: number[][]; kernels: Case[] };

function build(s: Spec): gp.kernels.Kernel {
  const ard = s.lengthscale && s.lengthscale.length > 1 ? { ardNumDims: s.lengthscale.length } : {};
  switch (s.type) {
    case "RBFKernel":
      return new gp.kernels.RBFKernel(ard);
    case "MaternKernel":
      return new gp.kernels.MaternKernel({ ...ard, nu: s.nu });
    case "RQKernel":
      return new gp.kernels.RQKernel(ard);
    case "PeriodicKernel":
      return new gp.kernels.PeriodicKernel(ard);
    case "LinearKernel":
      return new gp.kernels.LinearKernel();
    case "PolynomialKernel":
      return new gp.kernels.PolynomialKernel({ power: s.power as number });
    case "ScaleKernel":
      return new gp.kernels.ScaleKernel(build(s.base as Spec));
    case "AdditiveKernel":
      return new gp.kernels.AdditiveKernel(...(s.kernels as Spec[]).map(build));
    case "ProductKernel":
      return new gp.kernels.ProductKernel(...(s.kernels as Spec[]).map(build));
  }
  throw new Error(`unknown kernel ${s.type}`);
}

function maxRelErr(actual: ArrayLike<number>, expected: number[]): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), 1e-3));
  return worst;
}

for (const [executor, tol] of [["fused", 1e-5], ["tfjs", 1e-4]] as const) {
  for (const c of ref.kernels) {
    test(`${c.name}: full and diag match GPyTorch on the ${executor} executor (rel < ${tol})`, () => {
      const k = build(c.kernel);
      // GPyTorch's raw state_dict entries, snake_case keys as exported.
      const dict: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(c.params)) dict[key] = v.raw;
      k.loadStateDict(dict);
      const reduction = { executor };
      const K12 = k.call(ref.x1, ref.x2, { reduction });
      assert.deepEqual(K12.shape, [7, 5]);
      const dense12 = (K12 as gp.operators.LinearOperator).toDenseF64().data;
      assert.ok(maxRelErr(dense12, c.K_x1_x2.flat()) < tol, `K(x1, x2) rel err ${maxRelErr(dense12, c.K_x1_x2.flat())}`);
      const K11 = k.call(ref.x1, undefined, { reduction }) as gp.operators.LinearOperator;
      assert.ok(maxRelErr(K11.toDenseF64().data, c.K_x1_x1.flat()) < tol);
      const diag = k.call(ref.x1, ref.x1, { diag: true, reduction });
      assert.deepEqual(diag.shape, [7]);
      assert.ok(maxRelErr(diag.dataSync(), c.diag_x1_x1) < Math.max(tol, 1e-6), `diag rel err ${maxRelErr(diag.dataSync(), c.diag_x1_x1)}`);
      assert.ok(maxRelErr(K11.diagonalF64(), c.diag_x1_x1) < tol);
    });
  }
}

test("constrained values round-trip: initialize by value gives GPyTorch's raw values", () => {
  for (const c of ref.kernels) {
    const k = build(c.kernel);
    for (const [key, v] of Object.entries(c.params)) {
      if (v.value === undefined) continue;
      const valuePath = key.replace(/(^|\.)raw_/, "$1");
      k.initialize({ [valuePath]: v.value as number });
    }
    const state = k.stateDict();
    for (const [key, v] of Object.entries(c.params)) {
      const mine = state[camelPath(key)];
      const a = [mine].flat(3) as number[], b = [v.raw].flat(3) as number[];
      a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-9, `${c.name} ${key}: ${x} vs ${b[i]}`));
    }
  }
});

test("CosineKernel (not in the reference file) against its closed form cos(pi ||x - x'|| / p), both executors", () => {
  const k = new gp.kernels.CosineKernel().initialize({ periodLength: 1.7 });
  for (const [executor, tol] of [["fused", 1e-12], ["tfjs", 1e-4]] as const) {
    const K = (k.call(ref.x1, ref.x2, { reduction: { executor } }) as gp.operators.LinearOperator).toDenseF64();
    ref.x1.forEach((a, i) =>
      ref.x2.forEach((b, j) => {
        const r = Math.sqrt(a.reduce((s, v, q) => s + (v - b[q]) ** 2, 0));
        assert.ok(Math.abs(K.data[i * 5 + j] - Math.cos((Math.PI * r) / 1.7)) < tol);
      }),
    );
  }
});
