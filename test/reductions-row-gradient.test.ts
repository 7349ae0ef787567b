// The fused backward pass (engine's pairwiseBilinearRowGradient, kernels'
// backwardWithInputGradient): the hyperparameter gradient and the input
// gradient of sum_ij G_ij k(z_i, x_j) from one WebAssembly pass. Checked
// against the reference (the generated JavaScript bilinear pass and the
// derivative formula's rows, GPLAB_FUSED_WASM=0) for kernels of every
// statistic and composition (sums, products, shared distances, tables), on
// one and two threads and odd sizes, and the input gradient against central
// differences of the JavaScript path's kernel values.

import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import * as gp from "../lib";
import { backwardWithInputGradient, inputGradient } from "../lib/kernels/inputGradient";
import { KernelOperator } from "../lib/kernels/KernelOperator";
import { pairwiseBilinearRowGradient } from "../lib/reductions/engine";
import { rowGradientLayout } from "../lib/reductions/formula";
import { rng } from "./helpers/reference";

const K = gp.kernels;
const { mat } = gp.algorithms;

/** Runs f on the JavaScript reference path (generated JS loops, no WebAssembly). */
function onJavaScript<T>(f: () => T): T {
  const before = process.env.GPLAB_FUSED_WASM;
  process.env.GPLAB_FUSED_WASM = "0";
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env.GPLAB_FUSED_WASM;
    else process.env.GPLAB_FUSED_WASM = before;
  }
}

/** Kernels on d = 3 inputs (or `d`); `tasks`: column 2 holds task indices (0..2). */
const kernels: { name: string; make: () => gp.kernels.Kernel; tasks?: boolean; d?: number }[] = [
  { name: "Scale(RBF)", make: () => new K.ScaleKernel(new K.RBFKernel()) },
  { name: "RBF ARD", make: () => new K.RBFKernel({ ardNumDims: 3 }) },
  { name: "Matern 5/2", make: () => new K.MaternKernel({ nu: 2.5 }) },
  { name: "Matern 1/2", make: () => new K.MaternKernel({ nu: 0.5 }) },
  { name: "RQ", make: () => new K.RQKernel() },
  { name: "Periodic ARD", make: () => new K.PeriodicKernel({ ardNumDims: 3 }) },
  { name: "Linear", make: () => new K.LinearKernel() },
  // One lengthscale each on the same inputs: the Matern factor's distance follows the RBF's.
  { name: "Scale(RBF) + Scale(Matern 5/2)", make: () => new K.ScaleKernel(new K.RBFKernel()).add(new K.ScaleKernel(new K.MaternKernel({ nu: 2.5 }))) },
  { name: "RBF * Periodic", make: () => new K.RBFKernel().mul(new K.PeriodicKernel()) },
  {
    name: "Scale(RBF[0,2]) * Periodic[1] + Polynomial[1,2]",
    make: () => new K.ScaleKernel(new K.RBFKernel({ activeDims: [0, 2] })).mul(new K.PeriodicKernel({ activeDims: [1] })).add(new K.PolynomialKernel({ power: 2, activeDims: [1, 2] })),
  },
  { name: "RBF[0,1] * Index[2]", make: () => new K.RBFKernel({ activeDims: [0, 1] }).mul(new K.IndexKernel({ numTasks: 3, rank: 1, activeDims: [2] })), tasks: true },
  // Wide features: the kernel with fewer chains.
  { name: "Scale(Matern 3/2 ARD), d = 10", make: () => new K.ScaleKernel(new K.MaternKernel({ nu: 1.5, ardNumDims: 10 })), d: 10 },
];

function inputs(n: number, rand: () => number, tasks: boolean, d = 3): gp.algorithms.Mat {
  return mat(n, d, Float64Array.from({ length: n * d }, (_, e) => (tasks && e % d === 2 ? Math.floor(rand() * 3) : rand() * 2.5)));
}

/** Parameters moved off their defaults (deterministically), so every derivative is exercised. */
function perturb(k: gp.kernels.Kernel, rand: () => number): void {
  for (const [name, p] of k.namedParameters()) for (let i = 0; i < p.size; i++) p.raw[i] = 0.4 * (rand() - 0.5) + (/Lengthscale|Period/.test(name) ? 0.4 : 0);
}

/** The kernel's parameter grads after `f` (zeroed before). */
function gradsOf(k: gp.kernels.Kernel, f: () => void): Float64Array[] {
  for (const p of k.parameters()) p.zeroGrad();
  f();
  return k.parameters().map((p) => p.grad.slice());
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: lengths`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol * Math.max(1, scale), `${what}[${i}]: ${got[i]} vs reference ${want[i]}`);
  }
}

/** Fused against the reference for one kernel on z [n, 3], x [m, 3]; inputScale as for K(z, z). */
function checkAgainstReference(spec: (typeof kernels)[number], n: number, m: number, seed: number, threads?: number, sameInputs = false): void {
  const rand = rng(seed);
  const k = spec.make();
  perturb(k, rand);
  const z = inputs(n, rand, spec.tasks === true, spec.d);
  const x = sameInputs ? z : inputs(m, rand, spec.tasks === true, spec.d);
  const G = Float64Array.from({ length: n * x.rows }, () => rand() - 0.5);
  const reduction = threads === undefined ? { executor: "fused" as const } : { executor: "fused" as const, threads };
  const op = () => k.operatorF64(z, x, { reduction }) as KernelOperator;
  const inputScale = sameInputs ? 2 : 1;

  const reports: gp.reductions.ReductionReport[] = [];
  const stop = gp.reductions.onReport((r) => reports.push(r));
  let fusedInput: gp.algorithms.Mat = mat(0, 0);
  const fusedGrads = gradsOf(k, () => (fusedInput = backwardWithInputGradient(op(), k, z, x, G, inputScale)));
  stop();
  // One pass: a WebAssembly bilinear report and no rows of a derivative formula.
  assert.deepEqual(reports.map((r) => `${r.operation}/${r.code}`), ["bilinear/wasm-simd"], `${spec.name}: the fused pass ran alone`);

  let refInput: gp.algorithms.Mat = mat(0, 0);
  const refGrads = onJavaScript(() => gradsOf(k, () => {
    op().backward({ kind: "dense", M: G });
    refInput = inputGradient(k, z, x, G);
  }));
  fusedGrads.forEach((g, i) => assertClose(g, refGrads[i], 1e-11, `${spec.name} parameter ${i}`));
  assertClose(fusedInput.data, refInput.data.map((v) => inputScale * v), 1e-11, `${spec.name} input gradient`);
}

describe("fused backward pass: hyperparameter and input gradients in one pass", () => {
  it("matches the JavaScript reference for every statistic and composition (n, m not multiples of the tile or column step)", () => {
    kernels.forEach((spec, s) => checkAgainstReference(spec, 13, 37, 100 + s));
  });

  it("matches on two threads (tiles split across them) and on one", () => {
    // 300 x 900 pairs: above the size where the fused executor uses threads.
    for (const name of ["Scale(RBF)", "Scale(RBF) + Scale(Matern 5/2)", "Periodic ARD"]) {
      const spec = kernels.find((k) => k.name === name) as (typeof kernels)[number];
      checkAgainstReference(spec, 300, 900, 7, 2);
      checkAgainstReference(spec, 300, 900, 7, 1);
    }
  });

  it("K(z, z) with symmetric weights: both arguments move (inputScale 2)", () => {
    for (const name of ["Scale(RBF)", "RBF * Periodic", "Linear"]) {
      checkAgainstReference(kernels.find((k) => k.name === name) as (typeof kernels)[number], 21, 21, 11, undefined, true);
    }
  });

  it("input gradient matches central differences of the JavaScript path's kernel values", () => {
    for (const name of ["Matern 5/2", "Scale(RBF) + Scale(Matern 5/2)", "RBF * Periodic", "Linear"]) {
      const spec = kernels.find((k) => k.name === name) as (typeof kernels)[number];
      const rand = rng(31);
      const k = spec.make();
      perturb(k, rand);
      const z = inputs(6, rand, false), x = inputs(19, rand, false);
      const G = Float64Array.from({ length: 6 * 19 }, () => rand() - 0.5);
      const g = backwardWithInputGradient(k.operatorF64(z, x, { reduction: { executor: "fused" } }) as KernelOperator, k, z, x, G);
      const total = (zz: gp.algorithms.Mat) =>
        onJavaScript(() => k.operatorF64(zz, x, { reduction: { executor: "fused" } }).rowsF64(Int32Array.from({ length: zz.rows }, (_, i) => i)).data.reduce((t, v, i) => t + G[i] * v, 0));
      for (let e = 0; e < z.data.length; e++) {
        const h = 1e-5;
        const at = (step: number) => {
          const zz = mat(z.rows, z.cols, z.data.slice());
          zz.data[e] += step;
          return total(zz);
        };
        const fd = (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h);
        assert.ok(Math.abs(g.data[e] - fd) < 1e-7 * Math.max(1, Math.abs(fd)), `${name} z[${e}]: ${g.data[e]} vs differences ${fd}`);
      }
    }
  });

  it("has no fused kernel off the fused executor's WebAssembly: null, and the caller's two passes", () => {
    const k = new K.ScaleKernel(new K.RBFKernel());
    const z = inputs(5, rng(3), false), x = inputs(8, rng(4), false);
    const formula = (k.operatorF64(z, x) as KernelOperator).formula;
    const G = new Float64Array(40).fill(0.1);
    assert.equal(onJavaScript(() => pairwiseBilinearRowGradient(formula, G, { executor: "fused" })), null);
    assert.equal(pairwiseBilinearRowGradient(formula, G, { executor: "tfjs" }), null);
    assert.equal(rowGradientLayout(formula).width, 3);
    assert.throws(() => pairwiseBilinearRowGradient(formula, new Float64Array(39), { executor: "fused" }), /weights have 39 entries, expected 5 x 8/);
    assert.throws(() => backwardWithInputGradient(k.operatorF64(z, x) as KernelOperator, k, x, z, G), /operator is 5 x 8 but z has 8 rows/);
  });
});
