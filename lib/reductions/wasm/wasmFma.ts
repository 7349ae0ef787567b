// Whether WebAssembly relaxed SIMD's fused multiply-add (f64x2.relaxed_madd)
// can be compiled here. Node 22+ has relaxed SIMD on by default; Node 20's
// V8 has it behind --experimental-wasm-relaxed-simd, which can be turned on
// at run time, before the first module that uses it is compiled (V8 flags
// are per process, so worker threads see it too). GPLAB_WASM_FMA=0 keeps
// the separate multiply and add everywhere.
//
// On x86 with FMA3 and on ARM64, V8 compiles relaxed_madd to one fused
// instruction (one rounding); elsewhere it may be a multiply and an add, so
// results can differ in the last bits between machines, never by more.

import * as v8 from "node:v8";

/** (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f64x2.relaxed_madd) */
const PROBE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x87, 0x02, 0x0b,
]);

/** The WebAssembly global (lib has no DOM typings). */
const wasmApi = (globalThis as { WebAssembly?: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

let available: boolean | undefined;

/** True when modules may use f64x2.relaxed_madd (decided once per process). */
export function wasmFmaAvailable(): boolean {
  if (available !== undefined) return available;
  if (process.env.GPLAB_WASM_FMA === "0" || !wasmApi) return (available = false);
  if (!wasmApi.validate(PROBE)) {
    try {
      v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
    } catch {
      // A V8 without the flag: no relaxed SIMD.
    }
  }
  return (available = wasmApi.validate(PROBE));
}
