// K @ v on a GPU through WebGPU (Dawn for Node): the fused WGSL stationary
// kernel. Checks it first (small cases against the f64 fused CPU executor,
// sampled rows of every timed size against an f64 loop, the engine's routing
// on the tfjs webgpu backend), then times N = 1e4..1e6, d = 3, f32: the
// compute pass alone (inputs resident on the GPU), upload + compute +
// readback, and the synchronous bridge the engine uses. Medians after a
// warm-up. Prints one JSON line per measurement; bench/gpu/run.sh drives it.
//
//   node dist/bench/gpu/webgpuMatvec.js [--sizes 1e4,1e5,1e6] [--repeats 5] [--dump DIR]

import * as fs from "node:fs";
import * as path from "node:path";
import * as gp from "../../lib";
import { pairwiseEntries, pairwiseMatmul } from "../../lib/reductions/engine";
import { dawnFlags } from "../../lib/backend/dawn";
import { WebgpuStationary } from "../../lib/reductions/webgpu/stationaryExecutor";
import {
  DEFAULT_TUNING,
  type StationaryTuning,
  type WebgpuProfile,
  finishRows,
  packStationary,
  planStationary,
} from "../../lib/reductions/webgpu/stationaryPlan";
import { webgpuMatmulSync } from "../../lib/reductions/webgpu/syncBridge";
import { median } from "../common/stats";

type Formula = gp.reductions.Formula;
const D = 3;
const PROFILES: Record<WebgpuProfile, gp.reductions.Profile> = {
  rbf: gp.reductions.profiles.rbfProfile,
  matern12: gp.reductions.profiles.matern12Profile,
  matern32: gp.reductions.profiles.matern32Profile,
  matern52: gp.reductions.profiles.matern52Profile,
};

function arg(name: string, fallback: string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
}

/** Uniform points in [0, 5)^3 and v in [-0.5, 0.5), as bench/matvec.ts draws them. */
function inputs(n: number, t: number, seed: number): { x: Float64Array; v: Float64Array } {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const x = Float64Array.from({ length: n * D }, () => next() * 5);
  const v = Float64Array.from({ length: n * t }, () => next() - 0.5);
  return { x, v };
}

/** K(x, x) with lengthscale 1 and outputscale 1. */
function formula(profile: WebgpuProfile, x: Float64Array, n: number, y = x, m = n): Formula {
  return { name: profile, n, m, factors: [{ statistic: "sqdist", dims: D, x, y, profile: PROFILES[profile], params: new Float64Array(0) }], terms: [{ coef: 1, factors: [0] }] };
}


function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

/** Rows `rows` of K @ V in f64, straight from the definition. */
function rowsF64(f: Formula, V: Float64Array, T: number, rows: number[]): Float64Array {
  const { x, y } = f.factors[0];
  const out = new Float64Array(rows.length * T);
  rows.forEach((i, a) => {
    for (let j = 0; j < f.m; j++) {
      const d0 = x[i * 3] - y[j * 3], d1 = x[i * 3 + 1] - y[j * 3 + 1], d2 = x[i * 3 + 2] - y[j * 3 + 2];
      const s = d0 * d0 + d1 * d1 + d2 * d2, r = Math.sqrt(s);
      let k: number;
      switch (f.factors[0].profile.name) {
        case "rbf": k = Math.exp(-s / 2); break;
        case "matern12": k = Math.exp(-r); break;
        case "matern32": k = (1 + Math.sqrt(3) * r) * Math.exp(-Math.sqrt(3) * r); break;
        default: k = (1 + Math.sqrt(5) * r + (5 / 3) * s) * Math.exp(-Math.sqrt(5) * r);
      }
      for (let t = 0; t < T; t++) out[a * T + t] += k * V[j * T + t];
    }
  });
  return out;
}

const emit = (o: object) => console.log(JSON.stringify({ bench: "webgpu-matvec", ...o }));

async function correctness(dev: WebgpuStationary): Promise<boolean> {
  let ok = true;
  for (const profile of Object.keys(PROFILES) as WebgpuProfile[]) {
    for (const [n, m, T] of [[2000, 3000, 1], [777, 2049, 16], [5, 4000, 3]]) {
      const a = inputs(n, 1, 7 + n), b = inputs(m, T, 11 + m);
      const f = formula(profile, a.x, n, b.x, m);
      const err = relErr(await dev.matmul(f, b.v, T), pairwiseMatmul(f, b.v, T, { executor: "fused" }));
      ok &&= err < 1e-5;
      emit({ case: "check-matmul", profile, n, m, t: T, relErrVsFusedF64: err, pass: err < 1e-5 });
    }
    const a = inputs(3000, 1, 5);
    const y = a.x.map((v, i) => v + (i % 3) * 0.1);
    const f = formula(profile, a.x, 3000, y, 3000);
    const idx = Int32Array.from({ length: 3000 }, (_, i) => i);
    const err = relErr(await dev.diagonal(f), pairwiseEntries(f, idx, idx, { executor: "fused" }));
    ok &&= err < 1e-5;
    emit({ case: "check-diagonal", profile, n: 3000, relErrVsFusedF64: err, pass: err < 1e-5 });
  }
  // The engine's own path: tfjs webgpu backend, K @ V routed to the WGSL kernel.
  try {
    await gp.backend.use("webgpu");
    const { x, v } = inputs(1500, 2, 3);
    const f = formula("rbf", x, 1500);
    const got = pairwiseMatmul(f, v, 2);
    const code = gp.reductions.lastReport()?.code;
    await gp.backend.use("cpu");
    const err = relErr(got, pairwiseMatmul(f, v, 2, { executor: "fused" }));
    ok &&= err < 1e-5 && code === "wgsl";
    emit({ case: "check-engine-webgpu-backend", code, relErrVsFusedF64: err, pass: err < 1e-5 && code === "wgsl" });
  } catch (err) {
    ok = false;
    emit({ case: "check-engine-webgpu-backend", error: (err as Error).message, pass: false });
  }
  return ok;
}

async function time(run: () => Promise<unknown> | unknown, repeats: number): Promise<number[]> {
  await run(); // warm-up: pipeline compile, allocations
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    await run();
    times.push((performance.now() - start) / 1000);
  }
  return times;
}

interface Case {
  label: string;
  profile: WebgpuProfile;
  n: number;
  T: number;
  repeats: number;
  /** Also time upload + readback and the engine's synchronous bridge. */
  full?: boolean;
  tuning?: StationaryTuning;
  /** Write inputs and result here for torch_matvec.py --check. */
  dump?: string;
}

async function timeCase(dev: WebgpuStationary, { label, profile, n, T, repeats, full, tuning = DEFAULT_TUNING, dump }: Case): Promise<void> {
  const { x, v } = inputs(n, T, 2024);
  const f = formula(profile, x, n);
  const plan = planStationary(f, T, tuning);
  const prepared = await dev.prepareMatmul(plan, packStationary(f, v, plan));
  const kernel = await time(async () => {
    prepared.submit();
    await prepared.done();
  }, repeats);
  const out = finishRows(await prepared.readPartials(), plan);
  prepared.destroy();
  // Sampled rows, the last (padded workgroup) among them, against f64.
  const rows = [0, 1, n >> 1, n - 2, n - 1, ...Array.from({ length: 11 }, (_, k) => Math.floor(((k + 0.5) / 11) * n))];
  const sampled = Float64Array.from(rows.flatMap((i) => Array.from(out.subarray(i * T, (i + 1) * T))));
  const err = relErr(sampled, rowsF64(f, v, T, rows));
  const row: Record<string, unknown> = {
    case: label, profile, n, d: D, t: T, f32: true, rowsPerInvocation: plan.rowsPerInvocation, unroll: plan.unroll,
    rowGroups: plan.rowGroups, splits: plan.splits, tile: plan.tile,
    repeats, kernelMedianSeconds: median(kernel), kernelMinSeconds: Math.min(...kernel), kernelMaxSeconds: Math.max(...kernel),
    pairsPerSecond: (n * n) / median(kernel), sampledRowsRelErrVsF64: err,
  };
  if (full) {
    // Pack + upload + compute + readback + f64 finish, then the engine's synchronous bridge.
    const e2e = await time(() => dev.matmul(f, v, T), repeats);
    const bridge = await time(() => webgpuMatmulSync(f, v, T), Math.min(repeats, 3));
    Object.assign(row, { endToEndMedianSeconds: median(e2e), bridgeMedianSeconds: median(bridge) });
  }
  emit(row);
  if (dump) {
    // Inputs and result for the PyTorch script's cross-check.
    fs.mkdirSync(dump, { recursive: true });
    fs.writeFileSync(path.join(dump, `x_${n}.f64`), x);
    fs.writeFileSync(path.join(dump, `v_${n}_${T}.f64`), v);
    fs.writeFileSync(path.join(dump, `out_${n}_${T}.f64`), out);
  }
}

async function main(): Promise<void> {
  const sizes = arg("sizes", "1e4,1e5,1e6").split(",").map(Number);
  const repeats = Number(arg("repeats", "5"));
  const dump = process.argv.includes("--dump") ? arg("dump", "") : undefined;
  const dev = await WebgpuStationary.create();
  emit({ case: "device", adapter: dev.gpu, limits: { maxStorageBufferBindingSize: dev.device.limits.maxStorageBufferBindingSize, maxComputeWorkgroupStorageSize: dev.device.limits.maxComputeWorkgroupStorageSize } });
  const ok = await correctness(dev);
  for (const n of sizes) {
    await timeCase(dev, { label: "rbf", profile: "rbf", n, T: 1, repeats, full: true, dump: n === sizes[0] ? dump : undefined });
    await timeCase(dev, { label: "rbf-16rhs", profile: "rbf", n, T: 16, repeats, full: n <= 1e5 });
  }
  const nMax = sizes[sizes.length - 1];
  await timeCase(dev, { label: "matern52", profile: "matern52", n: nMax, T: 1, repeats });
  // Rows per invocation and unroll: the choices behind DEFAULT_TUNING.
  for (const [rowsPerInvocation, unroll] of [[1, 4], [1, 8], [2, 4], [2, 16], [4, 8]]) {
    await timeCase(dev, { label: "rbf-tuning", profile: "rbf", n: nMax, T: 1, repeats: 3, tuning: { rowsPerInvocation, unroll } });
  }
  await timeCase(dev, { label: "rbf-16rhs-tuning", profile: "rbf", n: nMax, T: 16, repeats: 3, tuning: { rowsPerInvocation: 1, unroll: 8 } });
  dev.destroy();
  // With Dawn's bounds clamps (its default): the first kernel measured had them.
  const robust = await WebgpuStationary.create(dawnFlags());
  for (const n of sizes) await timeCase(robust, { label: "rbf-robust", profile: "rbf", n, T: 1, repeats });
  await timeCase(robust, { label: "rbf-robust", profile: "rbf", n: nMax, T: 1, repeats: 3, tuning: { rowsPerInvocation: 1, unroll: 4 } });
  robust.destroy();
  // Dawn would keep Node alive; everything is printed.
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
