"""GPyTorch's default cold prediction, the peer figure of `npm run bench -- predict`.

Reads the problem the TypeScript bench wrote (float64 files: x [n, d], y [n],
xt [t, d], and the hyperparameters as JSON), builds GPyTorch's exact GP with
the same model (constant mean, ScaleKernel(RBF ARD), Gaussian likelihood),
and times, per run, a fresh model put in eval mode followed by
`model(xt)` and its mean and variance -- GPyTorch's defaults: no
fast_pred_var, so above max_cholesky_size (800) the predictive covariance
goes through its CG solves. Prints one JSON line with the median, min and
max seconds and the predictions of the last run (for the error columns).

usage: python3 gpytorch_predict.py DIR REPEATS
"""

import json
import sys
import time

import numpy as np
import torch
import gpytorch


def main() -> None:
    folder, repeats = sys.argv[1], int(sys.argv[2])
    with open(f"{folder}/setup.json") as f:
        setup = json.load(f)
    torch.set_num_threads(int(setup["threads"]))
    n, t, d = setup["n"], setup["t"], setup["d"]
    x = torch.from_numpy(np.fromfile(f"{folder}/x.f64", dtype=np.float64).reshape(n, d))
    y = torch.from_numpy(np.fromfile(f"{folder}/y.f64", dtype=np.float64))
    xt = torch.from_numpy(np.fromfile(f"{folder}/xt.f64", dtype=np.float64).reshape(t, d))

    class Model(gpytorch.models.ExactGP):
        def __init__(self, likelihood):
            super().__init__(x, y, likelihood)
            self.mean_module = gpytorch.means.ConstantMean()
            self.covar_module = gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel(ard_num_dims=d))

        def forward(self, inputs):
            return gpytorch.distributions.MultivariateNormal(self.mean_module(inputs), self.covar_module(inputs))

    times = []
    mean = variance = None
    for _ in range(repeats):
        likelihood = gpytorch.likelihoods.GaussianLikelihood().double()
        model = Model(likelihood).double()
        model.initialize(**{
            "likelihood.noise": setup["noise"],
            "covar_module.outputscale": setup["outputscale"],
            "covar_module.base_kernel.lengthscale": torch.full((1, d), setup["lengthscale"], dtype=torch.float64),
        })
        model.eval()
        likelihood.eval()
        start = time.perf_counter()
        with torch.no_grad():
            f = model(xt)
            mean = f.mean.numpy().copy()
            variance = f.variance.numpy().copy()
        times.append(time.perf_counter() - start)
    print(json.dumps({
        "gpytorch": gpytorch.__version__,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "medianSeconds": float(np.median(times)),
        "minSeconds": min(times),
        "maxSeconds": max(times),
        "mean": mean.tolist(),
        "variance": variance.tolist(),
    }))


if __name__ == "__main__":
    main()
