// Fused multiply-add for the WebAssembly kernels: relaxed SIMD's
// f64x2.relaxed_madd. Node 22+ validates it by default; Node 20's V8 has it
// behind --experimental-wasm-relaxed-simd, which this file sets at run time
// when it is missing (V8 flags are process-wide: the fused worker threads,
// which compile the same bytes, see it too, even ones already started).
// Detected once per process; GPLAB_WASM_FMA=0 keeps the multiply-and-add
// code (read on every call, so the kernel cache keys on it).

import * as v8 from "node:v8";
import { Code, I32, Simd, buildModule } from "./binary";

const wasmApi = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

/** A module whose one function computes relaxed_madd(1, 1, 1) and drops it. */
function probeModule(): Uint8Array {
  const c = new Code();
  c.f64x2Const(1).f64x2Const(1).f64x2Const(1).simd(Simd.f64x2RelaxedMadd).drop();
  return buildModule([I32], [], c);
}

let available: boolean | null = null;

/** Whether this process's WebAssembly takes f64x2.relaxed_madd (turning V8's flag on where that is what it needs). */
export function wasmFmaAvailable(): boolean {
  if (available === null) {
    const bytes = probeModule();
    available = wasmApi.validate(bytes);
    if (!available) {
      try {
        v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
        available = wasmApi.validate(bytes);
      } catch {
        available = false;
      }
    }
  }
  return available;
}

/** Whether the kernels are generated with fused multiply-adds: available, and not turned off with GPLAB_WASM_FMA=0. */
export function wasmFmaEnabled(): boolean {
  return process.env.GPLAB_WASM_FMA !== "0" && wasmFmaAvailable();
}
