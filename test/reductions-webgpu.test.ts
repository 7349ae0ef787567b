// The WebGPU stationary K @ V kernel. Everywhere: its tile/split plan, its
// WGSL text, and a step-for-step f32 emulation of its algorithm against the
// f64 fused CPU executor. With a WebGPU adapter (optional packages "webgpu"
// and "@tensorflow/tfjs-backend-webgpu", a real GPU): the shader itself and
// the engine's routing; without one those tests skip and say why (in CI they fail).

import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as gp from "../lib";
import { pairwiseEntries, pairwiseMatmul } from "../lib/reductions/engine";
import { WebgpuStationary, withoutRobustness } from "../lib/reductions/webgpu/stationaryExecutor";
import {
  WEBGPU_PROFILES,
  type WebgpuProfile,
  finishRows,
  packStationary,
  planStationary,
  webgpuMatmulEligible,
} from "../lib/reductions/webgpu/stationaryPlan";
import { stationaryDiagonalWgsl, stationaryMatmulWgsl } from "../lib/reductions/webgpu/stationaryWgsl";
import { emulateMatmul } from "../lib/reductions/webgpu/tiledReference";
import { relErr, rng } from "./helpers/reference";
import { exitAfterLastTest, reranUnderSwiftShader, skipWithoutWebgpu } from "./helpers/swiftshader";

const { profiles } = gp.reductions;
type Formula = gp.reductions.Formula;

const PROFILE_OBJECTS: Record<WebgpuProfile, gp.reductions.Profile> = {
  rbf: profiles.rbfProfile,
  matern12: profiles.matern12Profile,
  matern32: profiles.matern32Profile,
  matern52: profiles.matern52Profile,
};

/** c * k(|x - y|^2) on random points in [-scale, scale]^D (already divided by a lengthscale). */
function stationary(profile: WebgpuProfile, n: number, m: number, D: number, seed: number, scale = 1.5): Formula {
  const rand = rng(seed);
  const pts = (len: number) => Float64Array.from({ length: len * D }, () => (rand() * 2 - 1) * scale);
  return {
    name: profile,
    n,
    m,
    factors: [{ statistic: "sqdist", dims: D, x: pts(n), y: pts(m), profile: PROFILE_OBJECTS[profile], params: new Float64Array(0) }],
    terms: [{ coef: 1.7, factors: [0] }],
  };
}

function randomV(m: number, T: number, seed: number): Float64Array {
  const rand = rng(seed);
  return Float64Array.from({ length: m * T }, () => rand() * 2 - 1);
}

// In CI (and wherever Debian's chromium is installed) the file re-runs itself with the SwiftShader adapter.
if (!reranUnderSwiftShader(__filename)) registerTests();

function registerTests(): void {
  exitAfterLastTest();
  describe("WebGPU K @ V: plan and WGSL (no GPU needed)", () => {
    it("the webgpu executor without the webgpu backend names the fix", () => {
      const f = stationary("rbf", 10, 10, 3, 2);
      assert.throws(() => pairwiseMatmul(f, randomV(10, 1, 3), 1, { executor: "webgpu" }), /needs the webgpu backend: await gp.backend.use\("webgpu"\)/);
      assert.throws(() => gp.backend.setExecutor("cuda" as "fused"), /use "fused", "tfjs" or "webgpu"/);
    });

    it("turns Dawn's bounds clamps off without dropping the user's flags", () => {
      assert.deepEqual(withoutRobustness([]), ["enable-dawn-features=disable_robustness"]);
      assert.deepEqual(withoutRobustness(["backend=vulkan", "enable-dawn-features=dump_shaders"]), ["backend=vulkan", "enable-dawn-features=dump_shaders,disable_robustness"]);
    });

    it("covers single stationary sqdist factors with 1..16 right-hand sides only", () => {
      const f = stationary("rbf", 10, 10, 3, 1);
      assert.ok(webgpuMatmulEligible(f, 1) && webgpuMatmulEligible(f, 16));
      assert.ok(!webgpuMatmulEligible(f, 17) && !webgpuMatmulEligible(f, 0));
      assert.ok(!webgpuMatmulEligible({ ...f, factors: [{ ...f.factors[0], profile: profiles.periodicProfile }] }, 1));
      assert.ok(!webgpuMatmulEligible({ ...f, terms: [{ coef: 1, factors: [0] }, { coef: 1, factors: [0] }] }, 1));
    });

    it("tiles fit 16 KiB of workgroup memory and the splits cover every tile once", () => {
      for (const [n, m, D, T] of [[10, 10, 1, 1], [1000, 100000, 3, 16], [1e6, 1e6, 3, 1], [300, 517, 16, 16], [70000, 5, 2, 2]]) {
        // The plan reads sizes only, so the points can stay tiny.
        const plan = planStationary({ ...stationary("rbf", 2, 2, D, 1), n, m }, T);
        assert.ok(plan.tile * plan.colVec4 * 16 <= 16384 && plan.tile % plan.unroll === 0, `tile ${plan.tile}`);
        assert.ok(plan.tiles * plan.tile >= m && (plan.tiles - 1) * plan.tile < m);
        assert.ok(plan.splits * plan.tilesPerSplit >= plan.tiles && (plan.splits - 1) * plan.tilesPerSplit < plan.tiles, JSON.stringify(plan));
        assert.ok(plan.rowsPad >= n && plan.rowsPad - n < plan.groupRows);
      }
    });

    it("generates one kernel per (profile, D, T) with a workgroup tile and no n x m buffer", () => {
      for (const profile of WEBGPU_PROFILES) {
        const plan = planStationary(stationary(profile, 40, 40, 5, 2), 7, { rowsPerInvocation: 2, unroll: 4 });
        const src = stationaryMatmulWgsl(plan);
        assert.match(src, new RegExp(`var<workgroup> tile: array<vec4<f32>, ${plan.tile * plan.colVec4}>`));
        assert.match(src, /fn matmul\(/);
        assert.equal((src.match(/@binding\(/g) ?? []).length, 4);
        assert.equal((src.match(/workgroupBarrier\(\)/g) ?? []).length, 2);
        assert.equal((src.match(/OUT\[o\d \+ \d+u\] = a\d_\d+;/g) ?? []).length, 14);
        assert.equal((src.match(/let c0 = tile/g) ?? []).length, 4);
        assert.match(src, /exp2\(/);
        assert.match(stationaryDiagonalWgsl(plan), /fn diagonal\(/);
      }
    });

    for (const profile of WEBGPU_PROFILES) {
      it(`f32 emulation of the tiled algorithm matches the f64 fused executor (${profile})`, () => {
        // Odd sizes: partial last tile, padded rows; small n: several column splits.
        for (const [n, m, D, T] of [[37, 517, 3, 1], [300, 700, 3, 16], [5, 1000, 5, 4], [64, 129, 1, 2]]) {
          const f = stationary(profile, n, m, D, 10 + n);
          const V = randomV(m, T, 20 + m);
          const plan = planStationary(f, T);
          const got = finishRows(emulateMatmul(plan, packStationary(f, V, plan)), plan);
          const want = pairwiseMatmul(f, V, T, { executor: "fused" });
          const err = relErr(got, want);
          assert.ok(err < 1e-5, `${profile} n=${n} m=${m} D=${D} T=${T} (${plan.splits} splits): rel err ${err}`);
        }
      });
    }
  });

  /** The device, or the reason there is none (missing optional packages, no adapter). */
  const gpu: Promise<WebgpuStationary | string> = WebgpuStationary.create().catch((err: Error) => err.message);

  describe("WebGPU K @ V on a GPU (skips without a WebGPU adapter)", () => {
    // A live device keeps Node running: free ours. tfjs's device on navigator.gpu is never
    // destroyed (exitAfterLastTest ends the process); dropping navigator.gpu would let the
    // collector free the Dawn instance under it, which webgpu@0.6.2 does not survive.
    after(async () => {
      const dev = await gpu;
      if (typeof dev !== "string") dev.destroy();
    });

    for (const profile of WEBGPU_PROFILES) {
      it(`the WGSL kernel agrees with the fused executor to 1e-5 (${profile})`, async (t) => {
        const dev = await gpu;
        if (typeof dev === "string") return skipWithoutWebgpu(t, dev);
        // Sized for SwiftShader (a CPU renderer, seconds per compiled kernel): one shape and tuning per
        // profile, together covering partial tiles, padded rows, several splits and every tuning knob.
        const cases: Record<WebgpuProfile, { n: number; m: number; D: number; T: number; tuning?: { rowsPerInvocation: number; unroll: number } }> = {
          rbf: { n: 300, m: 517, D: 3, T: 1 },
          matern12: { n: 257, m: 700, D: 3, T: 16, tuning: { rowsPerInvocation: 1, unroll: 4 } },
          matern32: { n: 5, m: 1500, D: 5, T: 3, tuning: { rowsPerInvocation: 4, unroll: 16 } },
          matern52: { n: 600, m: 333, D: 2, T: 2, tuning: { rowsPerInvocation: 2, unroll: 2 } },
        };
        const { n, m, D, T, tuning } = cases[profile];
        const f = stationary(profile, n, m, D, 30 + n);
        const V = randomV(m, T, 40 + m);
        const want = pairwiseMatmul(f, V, T, { executor: "fused" });
        const err = relErr(await dev.matmul(f, V, T, tuning), want);
        assert.ok(err < 1e-5, `${profile} n=${n} m=${m} D=${D} T=${T} ${JSON.stringify(tuning)}: rel err ${err}`);
        // y near x, so the diagonal is not the constant k(0).
        const sq = stationary(profile, 500, 500, 3, 50);
        const near: Formula = { ...sq, factors: [{ ...sq.factors[0], y: sq.factors[0].x.map((v, i) => v + (i % 3) * 0.1) }] };
        const idx = Int32Array.from({ length: 500 }, (_, i) => i);
        const diagErr = relErr(await dev.diagonal(near), pairwiseEntries(near, idx, idx, { executor: "fused" }));
        assert.ok(diagErr < 1e-5, `diagonal rel err ${diagErr}`);
      });
    }

    it("a software adapter needs GPLAB_WEBGPU_ADAPTER=swiftshader: without it use(\"webgpu\") says so and ready() stays on the CPU", async (t) => {
      const dev = await gpu;
      if (typeof dev === "string") return skipWithoutWebgpu(t, dev);
      if (!/swiftshader/i.test(dev.gpu.description + dev.gpu.architecture)) return t.skip("the adapter here is a hardware one");
      // A fresh process without the opt-in, same Vulkan environment.
      const script = `const gp = require(${JSON.stringify(path.join(__dirname, "../lib"))});
        (async () => {
          const auto = await gp.backend.ready();
          let refused = "";
          try { await gp.backend.use("webgpu"); } catch (err) { refused = err.message; }
          console.log(JSON.stringify({ backend: auto.backend, refused }));
          process.exit(0);
        })();`;
      const env = { ...process.env };
      delete env.GPLAB_WEBGPU_ADAPTER;
      delete env.GPLAB_BACKEND;
      const child = spawnSync(process.execPath, ["-e", script], { env, encoding: "utf8", timeout: 60_000 });
      const out = JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}");
      assert.notEqual(out.backend, "webgpu", "ready() did not pick the software adapter");
      assert.match(out.refused, /software renderer .*GPLAB_WEBGPU_ADAPTER=swiftshader/);
      const bad = spawnSync(process.execPath, ["-e", script], { env: { ...env, GPLAB_WEBGPU_ADAPTER: "fastest" }, encoding: "utf8", timeout: 60_000 });
      assert.match(JSON.parse(bad.stdout.trim().split("\n").pop() ?? "{}").refused, /GPLAB_WEBGPU_ADAPTER="fastest" is not understood/);
    });

    it("on the webgpu backend the default executor sends every reduction to WGSL, and a user's own profile to the CPU loops", async (t) => {
      const dev = await gpu;
      if (typeof dev === "string") return skipWithoutWebgpu(t, dev);
      await gp.backend.use("webgpu");
      try {
        assert.equal(gp.backend.info().executor, "webgpu");
        assert.match(gp.backend.info().adapter ?? "", /\S/, "the adapter is named");
        const f = stationary("matern52", 300, 250, 3, 62);
        for (const T of [1, 20]) {
          const V = randomV(250, T, 63);
          const out = pairwiseMatmul(f, V, T);
          assert.equal(gp.reductions.lastReport()?.code, "wgsl", `T = ${T}`);
          assert.ok(relErr(out, pairwiseMatmul(f, V, T, { executor: "fused" })) < 1e-5, `T = ${T}`);
        }
        const idx = Int32Array.from({ length: 50 }, (_, i) => i * 3);
        const entries = pairwiseEntries(f, idx, idx);
        assert.equal(gp.reductions.lastReport()?.executor, "webgpu");
        assert.equal(gp.reductions.lastReport()?.code, "wgsl");
        assert.ok(relErr(entries, pairwiseEntries(f, idx, idx, { executor: "fused" })) < 1e-6);
        // A profile the WGSL target does not know (a user's formula) stays on the CPU.
        const cauchy: gp.reductions.Profile = { ...profiles.rbfProfile, name: "userCauchy", prelude: () => "", value: (v) => `1 / (1 + ${v.s})` };
        const custom: Formula = { ...f, factors: [{ ...f.factors[0], profile: cauchy }] };
        pairwiseMatmul(custom, randomV(250, 2, 64), 2);
        assert.equal(gp.reductions.lastReport()?.executor, "fused", "no WGSL for a user profile: CPU loops");
      } finally {
        await gp.backend.use("cpu");
      }
    });
  });
}
