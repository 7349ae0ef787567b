"""GPyTorch (float64) side of the small-exact and svgp-step benchmarks, run
by them in the same process tree so both are measured the same minute.
torch.set_num_threads(2) unless --threads says otherwise. Prints one JSON
line per case on stdout.

  small-exact: --data FILE (JSON: trainX, trainY, testX, iterations, repeats,
      lr, label): ExactGP with ConstantMean + ScaleKernel(RBF, ARD), Gaussian
      likelihood, GPyTorch's default initial values, Adam; seconds per
      iteration (median of the timed iterations after one warm-up fit) and per
      fit, then the predictive mean and variance of f at testX after the fit.
  svgp-step: --inducing M --n N --d D --batch B --steps S --warmup W: SVGP
      (whitened VariationalStrategy, Cholesky variational distribution,
      learned inducing locations, VariationalELBO, Adam lr 0.01), seconds per
      step (zero_grad, ELBO, backward, Adam step), median (and fastest) over S
      steps after W.
"""

import argparse
import json
import statistics
import sys
import time

import torch
import gpytorch


def small_exact(path):
    with open(path) as f:
        spec = json.load(f)
    x = torch.tensor(spec["trainX"], dtype=torch.float64)
    y = torch.tensor(spec["trainY"], dtype=torch.float64)
    xt = torch.tensor(spec["testX"], dtype=torch.float64)
    d = x.shape[1]

    class Model(gpytorch.models.ExactGP):
        def __init__(self, lik):
            super().__init__(x, y, lik)
            self.mean_module = gpytorch.means.ConstantMean()
            self.covar_module = gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel(ard_num_dims=d))

        def forward(self, z):
            return gpytorch.distributions.MultivariateNormal(self.mean_module(z), self.covar_module(z))

    def fit(iterations):
        lik = gpytorch.likelihoods.GaussianLikelihood().double()
        model = Model(lik).double()
        model.train()
        lik.train()
        mll = gpytorch.mlls.ExactMarginalLogLikelihood(lik, model)
        opt = torch.optim.Adam(model.parameters(), lr=spec["lr"])
        times, cpu = [], []
        t_fit = time.perf_counter()
        for _ in range(iterations):
            t0, c0 = time.perf_counter(), time.process_time()
            opt.zero_grad()
            loss = -mll(model(x), y)
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        return model, lik, times, cpu, time.perf_counter() - t_fit, loss.item()

    iterations = spec["iterations"]
    fit(min(iterations, 5))  # warm-up
    fits, iteration_times, iteration_cpu = [], [], []
    for _ in range(spec["repeats"]):
        model, lik, times, cpu, seconds, loss = fit(iterations)
        fits.append(seconds)
        iteration_times.extend(times)
        iteration_cpu.extend(cpu)
    model.eval()
    lik.eval()
    with torch.no_grad():
        f = model(xt)
        mean, var = f.mean, f.variance
    print(json.dumps({
        "peer": "gpytorch", "version": gpytorch.__version__, "torch": torch.__version__, "dtype": "float64",
        "threads": torch.get_num_threads(), "label": spec["label"], "n": x.shape[0], "d": d, "iterations": iterations,
        "medianSecondsPerIteration": statistics.median(iteration_times), "medianSecondsPerFit": statistics.median(fits),
        "medianCpuSecondsPerIteration": statistics.median(iteration_cpu),
        "lastIterationLoss": loss, "mean": mean.tolist(), "variance": var.tolist(),
    }))


def svgp_step(args):
    torch.manual_seed(2024)
    n, d, M = args.n, args.d, args.inducing
    gen = torch.Generator().manual_seed(7)
    x = 10 * torch.rand(n, d, generator=gen, dtype=torch.float64)
    y = sum(torch.sin((c + 1) * x[:, c]) / (c + 1) for c in range(d)) + 0.2 * torch.randn(n, generator=gen, dtype=torch.float64)
    # As the library's bench: a grid for d = 1, the first M data points otherwise.
    z = torch.linspace(0, 10, M, dtype=torch.float64).unsqueeze(-1) if d == 1 else x[:M].clone()

    class Model(gpytorch.models.ApproximateGP):
        def __init__(self):
            dist = gpytorch.variational.CholeskyVariationalDistribution(M)
            strat = gpytorch.variational.VariationalStrategy(self, z, dist, learn_inducing_locations=True)
            super().__init__(strat)
            self.mean_module = gpytorch.means.ConstantMean()
            self.covar_module = gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel())

        def forward(self, q):
            return gpytorch.distributions.MultivariateNormal(self.mean_module(q), self.covar_module(q))

    model = Model().double()
    lik = gpytorch.likelihoods.GaussianLikelihood().double()
    model.train()
    lik.train()
    elbo = gpytorch.mlls.VariationalELBO(lik, model, num_data=n)
    opt = torch.optim.Adam(list(model.parameters()) + list(lik.parameters()), lr=0.01)
    order = torch.randperm(n, generator=gen)
    times = []
    for k in range(args.warmup + args.steps):
        s = (k * args.batch) % (n - args.batch)
        idx = order[s:s + args.batch]
        bx, by = x[idx], y[idx]
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = -elbo(model(bx), by)
        loss.backward()
        opt.step()
        if k >= args.warmup:
            times.append(time.perf_counter() - t0)
    print(json.dumps({
        "peer": "gpytorch", "version": gpytorch.__version__, "torch": torch.__version__, "dtype": "float64",
        "threads": torch.get_num_threads(), "n": n, "d": d, "inducing": M, "batch": args.batch, "steps": args.steps,
        "medianSecondsPerStep": statistics.median(times), "minSecondsPerStep": min(times),
    }))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bench", choices=["small-exact", "svgp-step"])
    p.add_argument("--data")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--inducing", type=int, default=256)
    p.add_argument("--n", type=int, default=100000)
    p.add_argument("--d", type=int, default=3)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.bench == "small-exact":
        small_exact(args.data)
    else:
        svgp_step(args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
