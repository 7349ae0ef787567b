// Fused multiply-add in the WebAssembly GEMM (relaxed SIMD; on Node 20 V8's
// flag is turned on at run time by lib/reductions/wasm/wasmFma.ts). Both the
// fused kernel and the separate multiply-and-add one (GPLAB_WASM_FMA=0, in a
// child process: the choice is made once per process) agree with a plain
// f64 loop written here.

import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { mat, matmulMat } from "../lib/algorithms/matrix";
import { gemmUsesFma, setGemmThreads } from "../lib/algorithms/wasmGemm";
import { wasmFmaAvailable } from "../lib/reductions/wasm/wasmFma";

/** Odd shapes: fringe rows and columns around the 4 x 4 register tiles, and k past one chunk. */
const SHAPES: Array<[number, number, number]> = [[37, 53, 41], [130, 515, 67], [256, 256, 259]];

function operands(n: number, k: number, m: number) {
  const a = mat(n, k, Float64Array.from({ length: n * k }, (_, i) => Math.sin(0.37 * i)));
  const b = mat(k, m, Float64Array.from({ length: k * m }, (_, i) => Math.cos(0.91 * i)));
  return { a, b };
}

/** max |C - A B| / max |A B| against the textbook triple loop. */
function errorAgainstLoop(n: number, k: number, m: number): number {
  const { a, b } = operands(n, k, m);
  const c = matmulMat(a, b);
  let worst = 0, scale = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a.data[i * k + p] * b.data[p * m + j];
      worst = Math.max(worst, Math.abs(c.data[i * m + j] - s));
      scale = Math.max(scale, Math.abs(s));
    }
  }
  return worst / scale;
}

if (process.env.GPLAB_FMA_TEST_CHILD) {
  // The child: report whether its kernel fused, and its errors.
  setGemmThreads(1);
  console.log(JSON.stringify({ fma: gemmUsesFma(), errors: SHAPES.map((s) => errorAgainstLoop(...s)) }));
} else {
  describe("WebAssembly GEMM with and without fused multiply-add", () => {
    it("relaxed SIMD is available here (Node 20 behind V8's flag, which gplab turns on), and the GEMM uses it", () => {
      if (process.env.GPLAB_WASM_FMA === "0") return;
      assert.equal(wasmFmaAvailable(), true);
      assert.equal(gemmUsesFma(), true);
    });

    it("both kernels agree with the f64 triple loop to 1e-14 relative, on one thread and on two", () => {
      for (const threads of [1, 2]) {
        const previous = setGemmThreads(threads);
        try {
          for (const s of SHAPES) assert.ok(errorAgainstLoop(...s) < 1e-14, `${s.join(" x ")} on ${threads} threads (fma ${gemmUsesFma()})`);
        } finally {
          setGemmThreads(previous);
        }
      }
      const child = spawnSync(process.execPath, [__filename], { env: { ...process.env, GPLAB_FMA_TEST_CHILD: "1", GPLAB_WASM_FMA: "0" }, encoding: "utf8", timeout: 60_000 });
      const report = JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}");
      assert.equal(report.fma, false, "GPLAB_WASM_FMA=0 turns fused multiply-add off");
      report.errors.forEach((e: number, i: number) => assert.ok(e < 1e-14, `${SHAPES[i].join(" x ")} without FMA: ${e}`));
    });
  });
}
