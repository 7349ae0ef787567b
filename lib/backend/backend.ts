// Chooses the TensorFlow.js backend at run time and reports what was chosen.
// tfjs-node(-gpu) are optional peers: their install downloads libtensorflow,
// so they are looked for, never required. The CPU backend always exists.

import * as os from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// Gradients: see scripts/bundle-tfjs-registrations.js (built into dist/vendor).
require("../../vendor/tfjs-gradients.js");
// Chained tensor methods (t.add(1), t.square()): same reason, same script.
require("../../vendor/tfjs-chained-ops.js");
import { ArgumentError } from "../errors";
import { describeAdapter, installNavigatorGpu, isSoftwareAdapter, requestGplabAdapter, resolveOptional, usableAdapterPresent } from "./dawn";

/** A TensorFlow.js backend: "tensorflow" (tfjs-node or tfjs-node-gpu), "webgpu", "wasm" or "cpu". */
export type BackendName = "tensorflow" | "webgpu" | "wasm" | "cpu";
/**
 * "fused": f64 WebAssembly / JS loops on CPU threads; "tfjs": TensorFlow.js
 * tiles on the current backend; "webgpu": every reduction in WGSL generated
 * from the formula, on the webgpu backend (a formula whose profile has no
 * WGSL falls back to "fused").
 */
export type ExecutorName = "fused" | "tfjs" | "webgpu";

/** What `gp.backend.info()` reports. */
export interface BackendInfo {
  /** The active TensorFlow.js backend. */
  backend: BackendName;
  /** Whether that backend computes on a GPU. */
  gpu: boolean;
  /** The reduction executor used by default for kernel operators. */
  executor: ExecutorName;
  /** Threads the fused CPU executor splits a reduction over. */
  threads: number;
  /** Which optional packages were found (tfjs-node-gpu, tfjs-node, wasm, webgpu). */
  available: BackendName[];
  /** Why a preferred backend was skipped, if one was. */
  notes: string[];
  /** The WebGPU adapter (vendor, architecture, description) on the webgpu backend. */
  adapter?: string;
}

const state = {
  backend: "cpu" as BackendName,
  gpu: false,
  executorOverride: null as ExecutorName | null,
  notes: [] as string[],
  tensorflowPackage: null as string | null,
  /** The WebGPU adapter in use, when the backend is webgpu. */
  adapter: null as string | null,
  softwareAdapter: false,
};

function tryRequire(name: string): boolean {
  try {
    require(name);
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== "MODULE_NOT_FOUND") state.notes.push(`${name} is installed but failed to load: ${(err as Error).message.split("\n")[0]}`);
    return false;
  }
}

function packageInstalled(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** Threads for the fused CPU executor: GPLAB_THREADS, else every core. */
export function threadCount(): number {
  const fromEnv = Number(process.env.GPLAB_THREADS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);
}

function loadTensorflow(): boolean {
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    if (tryRequire(pkg) && tf.findBackend("tensorflow")) {
      state.tensorflowPackage = pkg;
      return true;
    }
  }
  return false;
}

function setSync(name: BackendName): void {
  const ok = tf.setBackend(name);
  // setBackend returns a promise; the cpu and tensorflow backends initialise synchronously.
  void ok;
  state.backend = name;
  state.gpu = name === "webgpu" || (name === "tensorflow" && state.tensorflowPackage === "@tensorflow/tfjs-node-gpu");
}

/** Picks the best synchronous backend at import: tfjs-node-gpu, tfjs-node, else cpu. */
function autoSelect(): void {
  const forced = process.env.GPLAB_BACKEND as BackendName | undefined;
  if (forced && forced !== "cpu") {
    // Honoured by `ready()` (wasm and webgpu initialise asynchronously).
    if (forced === "tensorflow" && loadTensorflow()) return setSync("tensorflow");
    setSync("cpu");
    return;
  }
  if (!forced && loadTensorflow()) return setSync("tensorflow");
  setSync("cpu");
}

autoSelect();
silenceCpuBanner();

/**
 * tfjs-backend-cpu prints a multi-line "install tfjs-node" banner on its first
 * tensor in Node. gplab reports its backend itself, so the banner is noise.
 */
function silenceCpuBanner(): void {
  if (state.backend !== "cpu") return;
  const warn = console.warn;
  console.warn = () => {};
  try {
    tf.tidy(() => tf.scalar(0).dataSync());
  } finally {
    console.warn = warn;
  }
}

let readyPromise: Promise<BackendInfo> | null = null;

/**
 * Finishes backend selection: GPLAB_BACKEND if set, else the best available:
 * tfjs-node-gpu, then webgpu on a hardware adapter (a software one such as
 * SwiftShader only with GPLAB_WEBGPU_ADAPTER=swiftshader), then tfjs-node,
 * wasm, cpu. wasm and webgpu initialise asynchronously, so until this
 * resolves the library runs on the synchronous choice made at import
 * (tensorflow or cpu). The notebook kernel awaits it before the first cell;
 * scripts should `await gp.backend.ready()` once.
 */
export function ready(): Promise<BackendInfo> {
  if (!readyPromise) {
    const forced = process.env.GPLAB_BACKEND as BackendName | undefined;
    if (forced && forced !== state.backend) readyPromise = use(forced);
    else if (!forced) readyPromise = autoReady();
    else readyPromise = Promise.resolve(info());
  }
  return readyPromise;
}

async function autoReady(): Promise<BackendInfo> {
  if (state.gpu) return info();
  if (resolveOptional("@tensorflow/tfjs-backend-webgpu") && (await usableAdapterPresent())) {
    try {
      return await use("webgpu");
    } catch (err) {
      state.notes.push(`webgpu backend unavailable (${(err as Error).message}); using the CPU`);
    }
  }
  if (state.backend === "cpu" && packageInstalled("@tensorflow/tfjs-backend-wasm")) {
    try {
      return await use("wasm");
    } catch (err) {
      state.notes.push(`wasm backend unavailable (${(err as Error).message}); staying on cpu`);
    }
  }
  return info();
}

/** Switch the TensorFlow.js backend; throws naming the missing package. */
export async function use(name: BackendName): Promise<BackendInfo> {
  switch (name) {
    case "cpu":
      break;
    case "tensorflow":
      if (!loadTensorflow()) {
        throw new ArgumentError(
          'backend "tensorflow" needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node; install one ' +
            "(its install downloads libtensorflow, so it needs internet) or use \"wasm\" / \"cpu\"",
        );
      }
      break;
    case "wasm":
      if (!tryRequire("@tensorflow/tfjs-backend-wasm")) {
        throw new ArgumentError('backend "wasm" needs @tensorflow/tfjs-backend-wasm: npm i @tensorflow/tfjs-backend-wasm');
      }
      break;
    case "webgpu": {
      const tfjsWebgpu = resolveOptional("@tensorflow/tfjs-backend-webgpu");
      if (!resolveOptional("webgpu") || !tfjsWebgpu) {
        throw new ArgumentError('backend "webgpu" needs the npm packages "webgpu" and "@tensorflow/tfjs-backend-webgpu"');
      }
      // tfjs-backend-webgpu looks for navigator.gpu when it is imported.
      const gpu = await installNavigatorGpu();
      try {
        const adapter = await requestGplabAdapter(gpu);
        state.adapter = describeAdapter(adapter);
        state.softwareAdapter = isSoftwareAdapter(adapter);
      } catch (err) {
        throw new ArgumentError(`backend "webgpu": ${(err as Error).message}`);
      }
      require(tfjsWebgpu);
      break;
    }
    default:
      throw new ArgumentError(`unknown backend "${name}": use one of tensorflow, webgpu, wasm, cpu`);
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new ArgumentError(`TensorFlow.js could not initialise the "${name}" backend`);
  state.backend = name;
  // A software adapter (SwiftShader) runs WGSL on the CPU: not a GPU.
  state.gpu = (name === "webgpu" && !state.softwareAdapter) || (name === "tensorflow" && state.tensorflowPackage === "@tensorflow/tfjs-node-gpu");
  return info();
}

/** Force the reduction executor ("fused" CPU loops or "tfjs" tiles); null restores the default. */
export function setExecutor(executor: ExecutorName | null): void {
  if (executor !== null && executor !== "fused" && executor !== "tfjs" && executor !== "webgpu") {
    throw new ArgumentError(`unknown executor "${executor}": use "fused", "tfjs" or "webgpu"`);
  }
  state.executorOverride = executor;
}

/** The executor reductions use unless a call asks for another. */
export function defaultExecutor(): ExecutorName {
  const env = process.env.GPLAB_EXECUTOR;
  if (state.executorOverride) return state.executorOverride;
  if (env === "fused" || env === "tfjs" || env === "webgpu") return env;
  // WebGPU in Node: the WGSL kernel for K @ V, CPU loops for the rest (tfjs's sync reads fail there).
  if (state.backend === "webgpu") return "webgpu";
  // On a GPU the tfjs tiles win; on CPUs the fused f64 loop is faster and more accurate.
  return state.gpu ? "tfjs" : "fused";
}

/** The active backend, the default executor, thread count and which optional backends are installed. */
export function info(): BackendInfo {
  const available: BackendName[] = ["cpu"];
  if (packageInstalled("@tensorflow/tfjs-backend-wasm")) available.push("wasm");
  if (packageInstalled("@tensorflow/tfjs-node-gpu") || packageInstalled("@tensorflow/tfjs-node")) available.push("tensorflow");
  if (resolveOptional("webgpu") && resolveOptional("@tensorflow/tfjs-backend-webgpu")) available.push("webgpu");
  return {
    backend: state.backend,
    gpu: state.gpu,
    executor: defaultExecutor(),
    threads: threadCount(),
    available,
    notes: [...state.notes],
    ...(state.backend === "webgpu" && state.adapter ? { adapter: state.adapter } : {}),
  };
}

/** One short line for a notebook's first output. */
export function summary(): string {
  const i = info();
  return `gplab: TensorFlow.js backend ${i.backend}${i.gpu ? " (GPU)" : ""}, ${i.executor} executor, ${i.threads} thread${i.threads === 1 ? "" : "s"}`;
}
