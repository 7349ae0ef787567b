// Wraps a WebAssembly SIMD kernel as fused-executor source: a function
// (r0, r1, A) like the generated JavaScript loops, so the worker pool runs it
// unchanged. Each thread compiles its own instance and memory; per job it
// copies Y^T and V^T in once, then per tile the x rows in and the results out.

import type { Formula } from "../formula";
import { COLUMN_STEP, type StationaryProfileName, WASM_STATIONARY_PROFILES, stationaryMatmulModule } from "./stationaryMatmul";

const MAX_DIMS = 16;
const MAX_RHS = 16;

let simdSupported: boolean | null = null;

/** The WebAssembly global (Node has it; TypeScript's ES2022 lib does not declare it). */
const wasmApi = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

/** Whether this Node's WebAssembly has the SIMD instructions the kernels use. */
export function wasmSimdSupported(): boolean {
  if (simdSupported === null) {
    try {
      simdSupported = wasmApi.validate(stationaryMatmulModule("rbf", 1, 1));
    } catch {
      simdSupported = false;
    }
  }
  return simdSupported as boolean;
}

/** The kernel that serves this formula's K @ V, or null to use generated JavaScript. */
export function wasmMatmulSource(formula: Formula, rhsCount: number): string | null {
  if (process.env.GPLAB_FUSED_WASM === "0" || !wasmSimdSupported()) return null;
  if (formula.factors.length !== 1 || formula.terms.length !== 1 || formula.terms[0].factors.length !== 1) return null;
  const f = formula.factors[0];
  if (f.statistic !== "sqdist" || !WASM_STATIONARY_PROFILES.includes(f.profile.name)) return null;
  if (f.dims > MAX_DIMS || rhsCount > MAX_RHS) return null;
  const bytes = stationaryMatmulModule(f.profile.name as StationaryProfileName, f.dims, rhsCount);
  const base64 = Buffer.from(bytes).toString("base64");
  const D = f.dims, T = rhsCount;
  return `
const wasmModule = new WebAssembly.Module(Buffer.from("${base64}", "base64"));
let mem = null, inst = null, job = null, yOff = 0, vOff = 0, xOff = 0, outOff = 0, mPad = 0, capacityRows = 0;
function ensure(bytes) {
  const pages = Math.ceil(bytes / 65536);
  if (!mem) {
    mem = new WebAssembly.Memory({ initial: pages });
    inst = new WebAssembly.Instance(wasmModule, { env: { mem } });
  } else if (mem.buffer.byteLength < bytes) mem.grow(pages - mem.buffer.byteLength / 65536);
}
return function fused(r0, r1, A) {
  const rows = r1 - r0;
  if (job !== A || rows > capacityRows) {
    const m = A.m;
    mPad = Math.ceil(m / ${COLUMN_STEP}) * ${COLUMN_STEP};
    capacityRows = Math.max(rows, A.tileRows | 0);
    yOff = 0; vOff = ${D} * mPad * 8; xOff = vOff + ${T} * mPad * 8; outOff = xOff + capacityRows * ${D} * 8;
    ensure(outOff + capacityRows * ${T} * 8);
    const f = new Float64Array(mem.buffer);
    const Y = A.Y0, V = A.V;
    for (let k = 0; k < ${D}; k++) {
      const base = yOff / 8 + k * mPad;
      for (let j = 0; j < m; j++) f[base + j] = Y[j * ${D} + k];
      for (let j = m; j < mPad; j++) f[base + j] = 0;
    }
    for (let t = 0; t < ${T}; t++) {
      const base = vOff / 8 + t * mPad;
      for (let j = 0; j < m; j++) f[base + j] = V[j * ${T} + t];
      for (let j = m; j < mPad; j++) f[base + j] = 0;
    }
    job = A;
  }
  const f = new Float64Array(mem.buffer);
  f.set(A.X0.subarray(r0 * ${D}, r1 * ${D}), xOff / 8);
  inst.exports.run(yOff, vOff, xOff, outOff, rows, mPad, A.P[0]);
  A.OUT.set(f.subarray(outOff / 8, outOff / 8 + rows * ${T}), r0 * ${T});
};`;
}
