// Where the benchmarks find GPyTorch to measure beside (run from source; see
// "GPyTorch beside gplab" in bench/README.md). It is a measuring stick, not a dependency.

import * as path from "node:path";

/** The environment for /usr/bin/python3 with GPyTorch 1.12 from source (GPLAB_PEERS, default /work/peers). */
export function peerEnv(): NodeJS.ProcessEnv {
  const root = process.env.GPLAB_PEERS ?? "/work/peers";
  const extra = ["gpytorch", "linear_operator", "jaxtyping", "site"].map((p) => path.join(root, p)).join(":");
  return { ...process.env, PYTHONPATH: process.env.PYTHONPATH ? `${extra}:${process.env.PYTHONPATH}` : extra };
}

/** bench/peers/gpytorch_dense.py in the source tree (the benchmarks run from dist/bench). */
export const GPYTORCH_DENSE = path.join(__dirname, "..", "..", "..", "bench", "peers", "gpytorch_dense.py");
