// The seed scenario (issue 4): GPyTorch's lazy KeOps kernels broke inside an
// LMC multitask SVGP because their forward ignored `diag`. Here an LMC SVGP
// (4 tasks, 3 latent GPs, 64 inducing points) takes training steps on
// N = 100,000 points with minibatches of 1,024: every lazy kernel operator's
// diagonal() returns [batch] per latent, no reduction touches a batch x
// batch (let alone N x N) block, and the child process's peak RSS
// (process.resourceUsage().maxRSS) stays under 1 GB.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";

test("LMC SVGP, N = 100,000, minibatch 1,024: diagonal() per latent is [1024], memory O(batch x M), peak RSS < 1 GB", () => {
  const script = path.join(__dirname, "helpers", "svgpSeedScenario.js");
  const res = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 120_000 });
  assert.equal(res.status, 0, `scenario failed: ${res.stderr}`);
  const out = JSON.parse(res.stdout.trim().split("\n").pop() as string);

  // The training step: one diag call per latent, each on the 1,024 x 1,024 lazy operator, returning [1024].
  assert.equal(out.stepDiag.length, 3, JSON.stringify(out.stepDiag));
  for (const d of out.stepDiag) {
    assert.deepEqual(d.shape, [1024, 1024]);
    assert.equal(d.length, 1024);
  }
  assert.ok(Number.isFinite(out.value));
  // The diagonal's derivative reached the kernel parameters of every latent.
  assert.equal(out.outputscaleGrad.length, 3);
  for (const g of [...out.outputscaleGrad, ...out.lengthscaleGrad]) assert.ok(Number.isFinite(g) && g !== 0);

  // fit: 5 minibatch steps (3 diag calls of 1,024 each), then the whole-data objective in chunks.
  assert.deepEqual(out.fitDiagLengths.slice(0, 15), new Array(15).fill(1024));
  assert.equal(out.fitDiagLengths.slice(15).reduce((s: number, v: number) => s + v, 0), 3 * 100_000);
  assert.equal(out.losses.length, 5);
  assert.deepEqual(out.epochs, [0, 0, 0, 0, 0]);
  assert.ok(Number.isFinite(out.finalLoss));

  // No reduction is batch x batch or larger than the whole-data chunks x M; none is N x N.
  assert.ok(out.maxSide <= 64, `a reduction had both sides > 64: ${out.maxSide}`);
  assert.ok(out.maxPairs <= 64 * 4096, `largest reduction ${out.maxPairs} pairs`);
  assert.ok(out.maxRssMB < 1024, `peak RSS ${out.maxRssMB.toFixed(0)} MB`);
});
