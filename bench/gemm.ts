// The dense f64 GEMM (lib/algorithms/wasmGemm.ts) on its own: multiply-adds
// per second of matmulMat, C = A B, at a few shapes, median of --repeats,
// on --threads GEMM threads (default 1: the kernel itself, without the
// pool). One JSON line per shape, with the load average: compare builds in
// the same session (e.g. before and after a kernel change, interleaved).
//
//   npm run bench -- gemm [--shapes 256x256x1024,512x512x512,800x800x800] [--repeats 7] [--threads 1]

import * as os from "node:os";
import { mat, matmulMat } from "../lib/algorithms/matrix";
import { setGemmThreads } from "../lib/algorithms/wasmGemm";
import { arg } from "./common/args";
import { median } from "./common/stats";

const shapes = arg("shapes", "256x256x1024,512x512x512,800x800x800").split(",").map((s) => s.split("x").map(Number));
const repeats = Number(arg("repeats", "7"));
const threads = Number(arg("threads", "1"));
setGemmThreads(threads);

for (const [n, k, m] of shapes) {
  // shapes: A [n, k], B [k, m]
  const a = mat(n, k, Float64Array.from({ length: n * k }, (_, i) => Math.sin(i)));
  const b = mat(k, m, Float64Array.from({ length: k * m }, (_, i) => Math.cos(i)));
  matmulMat(a, b); // warm-up: compile, grow the arena
  const seconds: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    matmulMat(a, b);
    seconds.push((performance.now() - t) / 1000);
  }
  const s = median(seconds);
  console.log(JSON.stringify({ bench: "gemm", shape: `${n}x${k}x${m}`, threads, repeats, medianSeconds: s, gigaMultiplyAddsPerSecond: (n * k * m) / s / 1e9, loadAverage1m: os.loadavg()[0] }));
}
