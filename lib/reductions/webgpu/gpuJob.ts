// One compute dispatch described in plain data, so the main thread can hand
// it to the worker that owns the WebGPU device (syncBridge.ts): the WGSL
// source, its buffers by binding, the workgroup grid and where the output
// goes. Arrays live in shared memory; a buffer with a `key` stays resident
// on the device and is reused by later jobs with the same key.

/** One binding of a job's bind group. */
export type GpuBinding =
  /** Read-only storage (f32 or u32); `key` keeps it resident across jobs. */
  | { binding: number; kind: "storage"; data: Float32Array | Uint32Array; key?: string }
  | { binding: number; kind: "uniform"; data: Uint32Array }
  /** The f32 output buffer of `length` values, copied back into the job's `out`. */
  | { binding: number; kind: "output"; length: number };

export interface GpuJob {
  source: string;
  entryPoint: string;
  bindings: GpuBinding[];
  /** Workgroups along x and y. */
  dispatch: [number, number];
}

/** A job as the bridge posts it: the job plus the shared result and status words. */
export interface BridgeJob {
  job: GpuJob;
  /** shape: the output binding's length, on a SharedArrayBuffer. */
  out: Float32Array;
  /** Int32Array [1] on a SharedArrayBuffer: 0 running, 1 done, 2 failed. */
  control: Int32Array;
  /** UTF-8 error message when control is 2. */
  errorText: Uint8Array;
}
