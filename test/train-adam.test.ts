// gp.train.fit against GPyTorch's own training runs
// (test/fixtures/reference/exact_gp_trained.json): 100 Adam steps, lr 0.1,
// from GPyTorch's default initialisation (every raw parameter 0). Same
// schedule as the reference: torch's Adam (betas 0.9/0.999, eps 1e-8, bias
// correction), loss = -MLL/n recorded before each step, final MLL evaluated
// after the 100th step. No schedule differences to document; the whole loss
// trace is checked, not just the end. Also: L-BFGS, progress events,
// cancellation, the live chart hook.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as gp from "../lib";
import { camelPath } from "../lib/module/Module";

interface Params {
  [key: string]: { raw: unknown };
}
interface Dataset {
  name: string;
  d: number;
  x: number[][];
  y: number[];
  x_test: number[][];
  f_test_noise_free: number[];
  gpytorch_adam: { loss_trace: number[]; final_mll_per_n: number; final_params: Params; test_rmse_vs_noise_free_f: number };
  gpytorch_model_lbfgs_optimum: { mll_per_n: number };
}
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "../../test/fixtures/reference/exact_gp_trained.json"), "utf8")) as { datasets: Dataset[] };

function makeModel(ds: Dataset) {
  const likelihood = new gp.likelihoods.GaussianLikelihood();
  const model = new gp.models.ExactGP(ds.x, ds.y, likelihood, {
    meanModule: new gp.means.ConstantMean(),
    covarModule: new gp.kernels.ScaleKernel(new gp.kernels.RBFKernel(ds.d > 1 ? { ardNumDims: ds.d } : {})),
  });
  return { model, mll: new gp.mlls.ExactMarginalLogLikelihood(likelihood, model) };
}

for (const ds of ref.datasets) {
  test(`${ds.name}: 100 Adam steps track GPyTorch's loss trace and final MLL / parameters`, async () => {
    const { model, mll } = makeModel(ds);
    // GPyTorch's defaults: all raw parameters 0.
    for (const p of model.parameters()) assert.ok(p.raw.every((v) => v === 0));
    const run = await gp.train.fit(model, mll, { iterations: 100, lr: 0.1 });
    assert.equal(run.losses.length, 100);
    const trace = ds.gpytorch_adam.loss_trace;
    run.losses.forEach((l, i) => assert.ok(Math.abs(l - trace[i]) < 1e-8, `loss[${i}] ${l} vs ${trace[i]}`));
    // The issue asks for 1e-2; f64 end to end gives far better.
    assert.ok(Math.abs(-run.finalLoss - ds.gpytorch_adam.final_mll_per_n) < 1e-8, `final MLL ${-run.finalLoss} vs ${ds.gpytorch_adam.final_mll_per_n}`);
    const state = model.stateDict();
    for (const [key, v] of Object.entries(ds.gpytorch_adam.final_params)) {
      const mine = [state[camelPath(key)]].flat(3) as number[];
      const theirs = [v.raw].flat(3) as number[];
      mine.forEach((m, i) => assert.ok(Math.abs(m - theirs[i]) < 1e-6, `${key}: ${m} vs ${theirs[i]}`));
    }
    const pred = await model.predict(ds.x_test);
    const rmse = Math.sqrt(ds.f_test_noise_free.reduce((s, f, i) => s + (pred.meanF64[i] - f) ** 2, 0) / ds.f_test_noise_free.length);
    assert.ok(Math.abs(rmse - ds.gpytorch_adam.test_rmse_vs_noise_free_f) < 1e-6, `rmse ${rmse}`);
    assert.ok(run.done && !run.cancelled);
    const dd = run.displayData();
    assert.equal(dd.kind, "fitRun");
    assert.equal(dd.losses.length, 100);
    assert.ok("covarModule.outputscale" in dd.hyperparameters);
  });
}

test("L-BFGS reaches the model's optimum (GPyTorch model + scipy L-BFGS-B)", async () => {
  const ds = ref.datasets[0];
  const { model, mll } = makeModel(ds);
  const run = await gp.train.fit(model, mll, { iterations: 30, optimizer: "lbfgs" });
  assert.ok(-run.finalLoss > ds.gpytorch_model_lbfgs_optimum.mll_per_n - 1e-5, `L-BFGS MLL ${-run.finalLoss} vs optimum ${ds.gpytorch_model_lbfgs_optimum.mll_per_n}`);
  // Monotone: each accepted step satisfies the Armijo condition.
  for (let i = 1; i < run.losses.length; i++) assert.ok(run.losses[i] <= run.losses[i - 1] + 1e-12);
});

test("progress events, cancellation through an AbortSignal, and the live chart hook", async () => {
  const ds = ref.datasets[0];
  const { model, mll } = makeModel(ds);
  const controller = new AbortController();
  const events: gp.train.FitProgress[] = [];
  let shown = 0, updates = 0;
  gp.setLiveDisplay({ show: () => (shown++, { update: () => void updates++ }) });
  try {
    const run = await gp.train.fit(model, mll, {
      iterations: 50,
      onProgress: (e) => {
        events.push(e);
        if (e.iteration === 2) controller.abort();
      },
      signal: controller.signal,
    });
    assert.equal(run.history.length, 3);
    assert.ok(run.cancelled && !run.done);
    assert.deepEqual(events.map((e) => e.iteration), [0, 1, 2]);
    for (const e of events) {
      assert.ok(Number.isFinite(e.loss) && e.seconds >= 0);
      assert.equal(e.hyperparameters["likelihood.noiseCovar.noise"].length, 1);
    }
    assert.ok(Math.abs(events[0].loss - ds.gpytorch_adam.loss_trace[0]) < 1e-10);
    assert.ok(shown >= 1, "fit drew no live chart though a live display was installed");
  } finally {
    gp.setLiveDisplay(null);
  }
});
