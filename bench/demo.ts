// The library in one minute: a lazy 100,000 x 100,000 RBF covariance, its
// exact diagonal (100,000 kernel evaluations) and one product K @ v
// (10^10 kernel evaluations in tiles), next to what a dense matrix would
// have needed.   npm run demo [-- N]

import * as gp from "../lib";
import { sharedF64 } from "../lib/reductions/fusedExecutor";

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100_000);
  const info = await gp.backend.ready();
  console.log(gp.backend.summary());
  const d = 3, lengthscale = 0.5;
  gp.setSeed(1);
  const rand = new gp.RandomSource(1);
  const x = sharedF64(n * d);
  for (let i = 0; i < n * d; i++) x[i] = rand.uniform() / lengthscale;
  const K = new gp.operators.KernelLinearOperator(
    {
      name: "RBF", n, m: n,
      factors: [{ statistic: "sqdist", dims: d, x, y: x, profile: gp.reductions.profiles.rbfProfile, params: new Float64Array(0) }],
      terms: [{ coef: 2, factors: [0] }],
    },
    { symmetric: true },
  ).addDiagonal(0.1);
  console.log(`operator: ${K.toString()}`);
  console.log(`a dense float64 copy would need ${gp.algorithms.formatBytes(n * n * 8)}; toDense refuses:`);
  try {
    K.toDenseF64();
  } catch (err) {
    console.log(`  ${(err as Error).name}: ${(err as Error).message.slice(0, 120)}...`);
  }
  let t = performance.now();
  const diag = K.diagonalF64();
  console.log(`diagonal: ${diag.length.toLocaleString("en-US")} values, all ${diag[0]} (= outputscale + noise), in ${(performance.now() - t).toFixed(1)} ms`);
  const v = gp.algorithms.mat(n, 1, Float64Array.from({ length: n }, () => rand.normal()));
  t = performance.now();
  const kv = K.matmulF64(v);
  const seconds = (performance.now() - t) / 1000;
  const report = gp.reductions.lastReport();
  console.log(
    `K @ v: ${(n * n / 1e9).toFixed(1)} billion kernel pairs in ${seconds.toFixed(1)} s on the ${report?.executor} executor ` +
      `(${report?.threads} threads, ${((n * n) / seconds / 1e6).toFixed(0)} M pairs/s); (K v)[0..2] = ${Array.from(kv.data.slice(0, 3), (a) => a.toFixed(4)).join(", ")}`,
  );
  console.log(`peak memory of this process: ${gp.algorithms.formatBytes(process.resourceUsage().maxRSS * 1024)} (backend ${info.backend})`);
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
