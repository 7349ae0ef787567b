// Batches of GPs: kernels and means built with batchShape [b] hold GPyTorch-
// shaped parameters ([b, 1, d] lengthscales, [b] outputscales / constants);
// member q evaluates exactly like a kernel built on its own with slice q's
// values, and its gradients land in slice q of the batched parameter.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as gp from "../lib";
import { KernelOperator } from "../lib/kernels/KernelOperator";
import { rng } from "./helpers/reference";

const { mat } = gp.algorithms;

test("batched kernels: member q equals an unbatched kernel with slice q's values (RBF ARD, Matern, RQ, Periodic, Linear, Scale, sums)", () => {
  const r = rng(1);
  const x = mat(9, 2, Float64Array.from({ length: 18 }, () => r() * 3));
  const y = mat(5, 2, Float64Array.from({ length: 10 }, () => r() * 3));
  const makers: ((o: { batchShape?: number[] }) => gp.kernels.Kernel)[] = [
    (o) => new gp.kernels.RBFKernel({ ardNumDims: 2, ...o }),
    (o) => new gp.kernels.MaternKernel({ nu: 1.5, ...o }),
    (o) => new gp.kernels.RQKernel({ ...o }),
    (o) => new gp.kernels.PeriodicKernel({ ...o }),
    (o) => new gp.kernels.LinearKernel({ ...o }),
    (o) => new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel(o), o).add(new gp.kernels.LinearKernel(o)),
  ];
  for (const make of makers) {
    const batched = make({ batchShape: [3] });
    for (const [, p] of batched.namedParameters()) {
      assert.equal(p.shape[0], 3);
      for (let i = 0; i < p.size; i++) p.raw[i] = r() - 0.5;
    }
    for (let q = 0; q < 3; q++) {
      const single = make({});
      const bp = new Map(batched.namedParameters());
      for (const [name, p] of single.namedParameters()) {
        const src = bp.get(name) as gp.models.Parameter;
        assert.deepEqual(src.shape.slice(1), [...p.shape], name);
        p.setRaw(src.raw.slice(q * p.size, (q + 1) * p.size));
      }
      const member = batched.batchMember(q);
      const a = member.operatorF64(x, y).toDenseF64().data;
      const b = single.operatorF64(x, y).toDenseF64().data;
      assert.deepEqual(Array.from(a), Array.from(b), `${batched.name} member ${q}`);
      assert.deepEqual(Array.from(member.diagF64(x, x)), Array.from(single.diagF64(x, x)));
      // Gradients through a member land in slice q only.
      batched.zeroGrad();
      (member.operatorF64(x, y) as KernelOperator).backward({ kind: "dense", M: new Float64Array(45).fill(1) });
      for (const [name, p] of batched.namedParameters()) {
        const inner = p.size / 3;
        for (let i = 0; i < p.size; i++) if (Math.floor(i / inner) !== q) assert.equal(p.grad[i], 0, `${name}[${i}]`);
      }
    }
  }
});

test("GPyTorch shapes in the state dict; initialize sets per-member values; means batch too", () => {
  const k = new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel({ batchShape: [3] }), { batchShape: [3] });
  const sd = k.stateDict();
  assert.deepEqual(sd["baseKernel.rawLengthscale"], [[[0]], [[0]], [[0]]]);
  assert.deepEqual(sd.rawOutputscale, [0, 0, 0]);
  k.initialize({ outputscale: [1, 2, 3] });
  assert.deepEqual([0, 1, 2].map((q) => +(k.batchMember(q) as gp.kernels.ScaleKernel).outputscale.toFixed(12)), [1, 2, 3]);
  const m = new gp.means.ConstantMean({ batchShape: [2] });
  m.initialize({ constant: [0.5, -1] });
  assert.deepEqual(Array.from((m.batchMember(1) as gp.means.ConstantMean).forwardF64(mat(2, 1))), [-1, -1]);
  assert.throws(() => m.forwardF64(mat(2, 1)), /batch of 2 means/);
  // Unbatched modules are shared by every member.
  const plain = new gp.kernels.RBFKernel();
  assert.equal(plain.batchMember(2), plain);
});
