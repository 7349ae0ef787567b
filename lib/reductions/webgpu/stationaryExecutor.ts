// Runs the WGSL stationary kernels on a WebGPU device (Dawn for Node, the
// optional "webgpu" package). Asynchronous, as WebGPU is: the engine's
// synchronous K @ V reaches it through syncBridge.ts; benchmarks call it
// directly and can time the compute pass apart from upload and readback.

import { type GPU, type GPUAdapterLike, createGpu, dawnFlags, requestGplabAdapter } from "../../backend/dawn";
import type { Formula } from "../formula";
import {
  type PackedStationary,
  type StationaryPlan,
  type StationaryTuning,
  finishRows,
  packStationary,
  partialsLength,
  planStationary,
} from "./stationaryPlan";
import { DIAGONAL_WORKGROUP, PARAM_WORDS, stationaryDiagonalWgsl, stationaryMatmulWgsl } from "./stationaryWgsl";
import type { GpuJob } from "./gpuJob";

/** Bytes of keyed input buffers kept on the device between jobs (X and Y features). */
const RESIDENT_BYTES = 1 << 30;

// WebGPU's IDL types live in @webgpu/types, a dependency of the optional
// package only; the handful of calls below are typed loosely instead.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Device = any;
type Buffer = any;

// GPUBufferUsage / GPUMapMode bits, fixed by the WebGPU specification.
const MAP_READ = 0x1, COPY_SRC = 0x4, COPY_DST = 0x8, UNIFORM = 0x40, STORAGE = 0x80;

export interface GpuDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

/** One uploaded K @ V, ready to dispatch repeatedly (timing) and read back. */
export interface PreparedMatmul {
  readonly plan: StationaryPlan;
  /** Encodes and submits the compute pass only. */
  submit(): void;
  /** Resolves when everything submitted so far has finished on the GPU. */
  done(): Promise<void>;
  /** Copies OUT to the host: [splits, rowsPad, T] f32 partials. */
  readPartials(): Promise<Float32Array>;
  destroy(): void;
}

export class WebgpuStationary {
  private readonly pipelines = new Map<string, any>();
  /** Keyed input buffers, least recently used first. */
  private readonly resident = new Map<string, { buffer: Buffer; bytes: number }>();
  private residentBytes = 0;

  private constructor(
    private dawn: GPU | null,
    readonly device: Device,
    readonly gpu: GpuDescription,
  ) {}

  /**
   * The high-performance adapter's device on a private Dawn instance;
   * rejects with the reason when there is none. flags: Dawn's create()
   * options; default GPLAB_WEBGPU_FLAGS plus robustness off (see
   * withoutRobustness).
   */
  static async create(flags: string[] = withoutRobustness(dawnFlags())): Promise<WebgpuStationary> {
    const gpu = await createGpu(flags);
    const adapter: GPUAdapterLike = await requestGplabAdapter(gpu);
    // Large n needs buffers beyond the 128 MiB default binding size; 256-row
    // workgroups need more than a compatibility-mode adapter grants by default.
    const wanted = ["maxStorageBufferBindingSize", "maxBufferSize", "maxComputeWorkgroupSizeX", "maxComputeInvocationsPerWorkgroup"];
    const requiredLimits = Object.fromEntries(wanted.map((k) => [k, adapter.limits[k]]));
    const device = await adapter.requestDevice({ requiredLimits });
    const info = adapter.info ?? {};
    return new WebgpuStationary(gpu, device, {
      vendor: info.vendor ?? "",
      architecture: info.architecture ?? "",
      device: info.device ?? "",
      description: info.description ?? "",
    });
  }

  /** K @ V through upload, one dispatch and readback. V shape: [m, T]; returns [n, T] f64. */
  async matmul(formula: Formula, V: Float64Array, T: number, tuning?: StationaryTuning): Promise<Float64Array> {
    const plan = planStationary(formula, T, tuning);
    return finishRows(await this.runPacked(plan, packStationary(formula, V, plan)), plan);
  }

  /** The shader's partials for already packed inputs (the worker bridge's entry). */
  async runPacked(plan: StationaryPlan, packed: PackedStationary): Promise<Float32Array> {
    const run = await this.prepareMatmul(plan, packed);
    try {
      run.submit();
      return await run.readPartials();
    } finally {
      run.destroy();
    }
  }

  /** Uploads inputs and builds the pipeline; compile errors reject here. */
  async prepareMatmul(plan: StationaryPlan, packed: PackedStationary): Promise<PreparedMatmul> {
    const maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (plan.rowGroups > maxGroups || plan.splits > maxGroups) {
      throw new Error(`WebGPU K @ V: ${plan.n} rows need ${plan.rowGroups} workgroups, more than this device's ${maxGroups} per dispatch`);
    }
    const pipeline = await this.pipeline(stationaryMatmulWgsl(plan), "matmul");
    const X = this.upload(packed.X, STORAGE);
    const YV = this.upload(packed.YV, STORAGE);
    const OUT = this.device.createBuffer({ size: partialsLength(plan) * 4, usage: STORAGE | COPY_SRC });
    const P = this.upload(paramWords(plan), UNIFORM);
    const bindGroup = this.bind(pipeline, [X, YV, OUT, P]);
    const device = this.device;
    return {
      plan,
      submit: () => {
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(plan.rowGroups, plan.splits);
        pass.end();
        device.queue.submit([enc.finish()]);
      },
      done: () => device.queue.onSubmittedWorkDone(),
      readPartials: () => this.read(OUT, partialsLength(plan)),
      destroy: () => [X, YV, OUT, P].forEach((b) => b.destroy()),
    };
  }

  /** k(x_i, y_i) for a square formula: O(n), never a matrix. shape: [n] */
  async diagonal(formula: Formula): Promise<Float64Array> {
    if (formula.n !== formula.m) throw new Error(`diagonal of a ${formula.n} x ${formula.m} formula`);
    const plan = planStationary(formula, 1);
    const packed = packStationary(formula, new Float64Array(formula.m), plan);
    const pipeline = await this.pipeline(stationaryDiagonalWgsl(plan), "diagonal");
    const bufs = [this.upload(packed.X, STORAGE), this.upload(packed.YV, STORAGE), this.device.createBuffer({ size: plan.rowsPad * 4, usage: STORAGE | COPY_SRC }), this.upload(paramWords(plan), UNIFORM)];
    try {
      const enc = this.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, this.bind(pipeline, bufs));
      pass.dispatchWorkgroups(Math.ceil(plan.n / DIAGONAL_WORKGROUP));
      pass.end();
      this.device.queue.submit([enc.finish()]);
      const k = await this.read(bufs[2], plan.n);
      return Float64Array.from(k, (v) => v * plan.coef);
    } finally {
      bufs.forEach((b) => b.destroy());
    }
  }

  /**
   * Runs one described dispatch (gpuJob.ts) and returns its output buffer.
   * Keyed storage buffers stay on the device for the next job with the key.
   */
  async runJob(job: GpuJob): Promise<Float32Array> {
    const maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (job.dispatch[0] > maxGroups || job.dispatch[1] > maxGroups) {
      throw new Error(`a dispatch of ${job.dispatch.join(" x ")} workgroups exceeds this device's ${maxGroups} per dimension`);
    }
    const pipeline = await this.pipeline(job.source, job.entryPoint);
    const transient: Buffer[] = [];
    let output: { buffer: Buffer; length: number } | null = null;
    const entries = job.bindings.map((b) => {
      let buffer: Buffer;
      if (b.kind === "output") {
        buffer = this.device.createBuffer({ size: Math.max(16, b.length * 4), usage: STORAGE | COPY_SRC });
        output = { buffer, length: b.length };
        transient.push(buffer);
      } else if (b.kind === "storage" && b.key) buffer = this.residentBuffer(b.key, b.data);
      else {
        buffer = this.upload(b.data, b.kind === "uniform" ? UNIFORM : STORAGE);
        transient.push(buffer);
      }
      return { binding: b.binding, resource: { buffer } };
    });
    if (!output) throw new Error("a GPU job needs an output binding");
    const out = output as { buffer: Buffer; length: number };
    try {
      this.device.pushErrorScope("validation");
      const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      const enc = this.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(job.dispatch[0], job.dispatch[1]);
      pass.end();
      this.device.queue.submit([enc.finish()]);
      const err = await this.device.popErrorScope();
      if (err) throw new Error(`WebGPU dispatch: ${err.message}`);
      return await this.read(out.buffer, out.length);
    } finally {
      transient.forEach((b) => b.destroy());
    }
  }

  private residentBuffer(key: string, data: Float32Array | Uint32Array): Buffer {
    const held = this.resident.get(key);
    if (held && held.bytes === data.byteLength) {
      // Most recently used goes last.
      this.resident.delete(key);
      this.resident.set(key, held);
      return held.buffer;
    }
    const buffer = this.upload(data, STORAGE);
    this.resident.set(key, { buffer, bytes: data.byteLength });
    this.residentBytes += data.byteLength;
    for (const [k, v] of this.resident) {
      if (this.residentBytes <= RESIDENT_BYTES || k === key) break;
      // Destroyed after the queue's current work: WebGPU keeps a buffer alive for submitted commands.
      v.buffer.destroy();
      this.resident.delete(k);
      this.residentBytes -= v.bytes;
    }
    return buffer;
  }

  /** Frees the device, which otherwise keeps the process alive (the Dawn instance itself stays: see createGpu). */
  destroy(): void {
    this.device.destroy();
    this.dawn = null;
  }

  private async pipeline(code: string, entryPoint: string): Promise<any> {
    const key = `${entryPoint}\n${code}`;
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    const module = this.device.createShaderModule({ code });
    const compile = await module.getCompilationInfo();
    const errors = compile.messages.filter((m: { type: string }) => m.type === "error");
    if (errors.length) {
      throw new Error(`WGSL did not compile: ${errors.map((m: { lineNum: number; message: string }) => `line ${m.lineNum}: ${m.message}`).join("; ")}`);
    }
    this.device.pushErrorScope("validation");
    const pipeline = await this.device.createComputePipelineAsync({ layout: "auto", compute: { module, entryPoint } });
    const err = await this.device.popErrorScope();
    if (err) throw new Error(`WebGPU pipeline: ${err.message}`);
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  private bind(pipeline: any, buffers: Buffer[]): any {
    return this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  private upload(data: Float32Array | Uint32Array, usage: number): Buffer {
    // Dawn copies from ordinary ArrayBuffers only: shared memory is copied first.
    const plain = data.buffer instanceof SharedArrayBuffer ? data.slice() : data;
    const buffer = this.device.createBuffer({ size: Math.max(16, plain.byteLength), usage: usage | COPY_DST });
    this.device.queue.writeBuffer(buffer, 0, plain.buffer, plain.byteOffset, plain.byteLength);
    return buffer;
  }

  private async read(buffer: Buffer, length: number): Promise<Float32Array> {
    const staging = this.device.createBuffer({ size: length * 4, usage: MAP_READ | COPY_DST });
    try {
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(buffer, 0, staging, 0, length * 4);
      this.device.queue.submit([enc.finish()]);
      await staging.mapAsync(MAP_READ);
      return new Float32Array(staging.getMappedRange(0, length * 4).slice(0));
    } finally {
      staging.destroy();
    }
  }
}

/**
 * Dawn clamps every array index in WGSL unless robustness is off; the clamps
 * on the inner loop's workgroup reads cost ~30% at N = 1e6 on an H100
 * (bench/README.md). This device runs only gplab's generated kernels, whose
 * indices are in bounds by construction, so they are turned off here.
 */
export function withoutRobustness(flags: string[]): string[] {
  const key = "enable-dawn-features=";
  const i = flags.findIndex((f) => f.startsWith(key));
  if (i < 0) return [...flags, `${key}disable_robustness`];
  return flags.map((f, k) => (k === i ? `${f},disable_robustness` : f));
}

/** The shader's uniform block, in PARAM_WORDS order. */
function paramWords(plan: StationaryPlan): Uint32Array {
  const values: Record<(typeof PARAM_WORDS)[number], number> = {
    tiles: plan.tiles,
    tilesPerSplit: plan.tilesPerSplit,
    rowsPad: plan.rowsPad,
    n: plan.n,
  };
  return Uint32Array.from(PARAM_WORDS, (w) => values[w]);
}
