"""GPyTorch baseline for bench/gpu/gpSteps.ts on the same GPU (run.sh PART=gp).

Exact GP training iterations (MLL + backward) at N = 1e4, 1e5, 1e6, d = 3,
ScaleKernel(RBF with ARD), Gaussian likelihood, constant mean, float32 (as
the WGSL kernels), GPyTorch's defaults (CG above 800 points, 10 probes); and
an SVGP step (ELBO + backward, batch 1,024, M inducing points, whitened
Cholesky variational distribution) at N = 100,000. Same data recipe as
gpSteps.ts. A size that does not fit (the dense 1e6 x 1e6 K is 4 TB in f32)
prints its error instead of a time. One JSON line per measurement.

    python3 bench/gpu/torch_gp.py [--exact 1e4,1e5,1e6] [--svgp-m 1024] [--repeats 3]
"""

import argparse
import json
import statistics
import time

import torch

D = 3


def emit(**row):
    print(json.dumps({"bench": "gpu-gp-torch", **row}), flush=True)


def data(n, seed, device):
    g = torch.Generator().manual_seed(seed)
    x = 4 * torch.rand(n, D, generator=g, dtype=torch.float64)
    y = torch.sin(x[:, 0]) + 0.5 * torch.cos(2 * x[:, 1]) + 0.1 * torch.randn(n, generator=g, dtype=torch.float64)
    return x.float().to(device), y.float().to(device)


def exact(n, repeats, device):
    import gpytorch

    x, y = data(n, 7, device)

    class Model(gpytorch.models.ExactGP):
        def __init__(self, lik):
            super().__init__(x, y, lik)
            self.mean = gpytorch.means.ConstantMean()
            self.covar = gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel(ard_num_dims=D))

        def forward(self, inp):
            return gpytorch.distributions.MultivariateNormal(self.mean(inp), self.covar(inp))

    lik = gpytorch.likelihoods.GaussianLikelihood().to(device)
    model = Model(lik).to(device)
    lik.noise = 0.05
    model.train()
    lik.train()
    mll = gpytorch.mlls.ExactMarginalLogLikelihood(lik, model)
    times = []
    for it in range(repeats + 1):
        torch.cuda.synchronize()
        start = time.perf_counter()
        model.zero_grad()
        loss = -mll(model(x), y)
        loss.backward()
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        emit(case="exact-gp-iteration", n=n, iteration=it, warmup=it == 0, seconds=seconds, mllPerN=-loss.item(),
             peakGpuBytes=torch.cuda.max_memory_allocated())
        if it > 0:
            times.append(seconds)
    emit(case="exact-gp", n=n, repeats=len(times), medianSeconds=statistics.median(times))


def svgp(m, steps, device):
    import gpytorch

    n, batch = 100_000, 1024
    x, y = data(n, 9, device)

    class Model(gpytorch.models.ApproximateGP):
        def __init__(self, z):
            dist = gpytorch.variational.CholeskyVariationalDistribution(z.shape[0])
            strat = gpytorch.variational.VariationalStrategy(self, z, dist, learn_inducing_locations=True)
            super().__init__(strat)
            self.mean = gpytorch.means.ConstantMean()
            self.covar = gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel(ard_num_dims=D))

        def forward(self, inp):
            return gpytorch.distributions.MultivariateNormal(self.mean(inp), self.covar(inp))

    model = Model(x[:m].clone()).to(device)
    lik = gpytorch.likelihoods.GaussianLikelihood().to(device)
    elbo = gpytorch.mlls.VariationalELBO(lik, model, num_data=n)
    times = []
    for s in range(steps + 2):
        b0 = (s * batch) % (n - batch)
        bx, by = x[b0 : b0 + batch], y[b0 : b0 + batch]
        torch.cuda.synchronize()
        start = time.perf_counter()
        model.zero_grad()
        lik.zero_grad()
        loss = -elbo(model(bx), by)
        loss.backward()
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        emit(case="svgp-step", M=m, batch=batch, step=s, warmup=s < 2, seconds=seconds, elbo=-loss.item())
        if s >= 2:
            times.append(seconds)
    emit(case="svgp-step-summary", M=m, batch=batch, medianSeconds=statistics.median(times))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exact", default="1e4,1e5,1e6")
    p.add_argument("--svgp-m", default="1024")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    device = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    emit(case="device", name=torch.cuda.get_device_name(0), torch=torch.__version__)
    try:
        import gpytorch

        emit(case="gpytorch", version=gpytorch.__version__)
    except ImportError as err:
        emit(case="gpytorch", error=str(err))
        return
    for m in [int(float(v)) for v in a.svgp_m.split(",") if v]:
        try:
            svgp(m, 5, device)
        except Exception as err:  # report and go on: OOM is a result here
            emit(case="svgp-step-summary", M=m, error=f"{type(err).__name__}: {str(err)[:300]}")
        torch.cuda.empty_cache()
    for n in [int(float(v)) for v in a.exact.split(",") if v]:
        try:
            exact(n, 1 if n >= 1e6 else a.repeats, device)
        except Exception as err:
            emit(case="exact-gp", n=n, error=f"{type(err).__name__}: {str(err)[:300]}")
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
