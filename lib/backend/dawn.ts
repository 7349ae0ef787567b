// Loads Dawn for Node (the optional npm package "webgpu") and hands out its
// GPU entry point. The package is ESM-only and ships a native dawn.node, so it
// is imported dynamically, never required at module load: gplab installs and
// runs without it. Resolution follows Node's rules plus GPLAB_WEBGPU_MODULES
// (a node_modules folder kept outside the project, e.g. one carried to a GPU
// host) and NODE_PATH.

import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { ArgumentError } from "../errors";

/** The subset of the webgpu package's exports gplab uses. */
export interface DawnModule {
  /** Dawn's navigator.gpu; flags are Dawn toggles such as "backend=vulkan". */
  create(flags: string[]): GPU;
  /** GPUBufferUsage, GPUMapMode, GPUShaderStage, ... for globalThis. */
  globals: Record<string, unknown>;
}

/** Minimal WebGPU surface typed here: lib has no DOM/WebGPU typings. */
export interface GPU {
  requestAdapter(options?: { powerPreference?: "high-performance" | "low-power" }): Promise<GPUAdapterLike | null>;
}

/** The adapter fields gplab reads (WebGPU's GPUAdapter). */
export interface GPUAdapterLike {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  readonly limits: Record<string, number>;
  requestDevice(descriptor?: { requiredLimits?: Record<string, number> }): Promise<unknown>;
}

/** Folders searched for optional packages besides Node's own node_modules lookup. */
export function optionalModulePaths(): string[] {
  const extra = process.env.GPLAB_WEBGPU_MODULES ? [path.resolve(process.env.GPLAB_WEBGPU_MODULES)] : [];
  const nodePath = (process.env.NODE_PATH ?? "").split(path.delimiter).filter(Boolean).map((p) => path.resolve(p));
  return [...extra, ...nodePath];
}

/** Absolute path of an optional package's entry file, or null when it is not installed. */
export function resolveOptional(name: string): string | null {
  for (const paths of [undefined, optionalModulePaths()]) {
    try {
      return require.resolve(name, paths ? { paths } : undefined);
    } catch {
      // Not found on this search path; try the next one.
    }
  }
  return null;
}

let loaded: Promise<DawnModule> | null = null;

/** Vulkan driver file of the SwiftShader CPU renderer that Debian's chromium package ships. */
export const DEBIAN_SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

/**
 * Whether the user opted into a software (CPU) WebGPU adapter with
 * GPLAB_WEBGPU_ADAPTER=swiftshader (or "software"). gplab never uses one
 * otherwise: it is slower than the fused CPU executor.
 */
export function softwareAdapterAllowed(): boolean {
  const v = (process.env.GPLAB_WEBGPU_ADAPTER ?? "").trim().toLowerCase();
  if (v === "" || v === "hardware") return false;
  if (v === "swiftshader" || v === "software") return true;
  throw new ArgumentError(`GPLAB_WEBGPU_ADAPTER="${process.env.GPLAB_WEBGPU_ADAPTER}" is not understood: use "hardware" (the default) or "swiftshader" to allow a software adapter`);
}

/** A CPU-emulated adapter (SwiftShader, llvmpipe/lavapipe, WARP). */
export function isSoftwareAdapter(adapter: GPUAdapterLike): boolean {
  const i = adapter.info ?? {};
  if (i.isFallbackAdapter === true) return true;
  return /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i.test(`${i.vendor} ${i.architecture} ${i.device} ${i.description}`);
}

/** One line naming an adapter for reports. */
export function describeAdapter(adapter: GPUAdapterLike): string {
  const i = adapter.info ?? {};
  return [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(" ") || "unnamed adapter";
}

/**
 * The high-performance adapter under gplab's policy: a hardware GPU, or a
 * software one only when softwareAdapterAllowed(). Rejects with the reason
 * and the fix when there is none.
 */
export async function requestGplabAdapter(gpu: GPU): Promise<GPUAdapterLike> {
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    throw new Error(
      "WebGPU found no adapter (Dawn needs a Vulkan loader, libvulkan.so.1, and a GPU driver; for the CPU renderer SwiftShader " +
        `set GPLAB_WEBGPU_ADAPTER=swiftshader VK_ICD_FILENAMES=${DEBIAN_SWIFTSHADER_ICD} LD_LIBRARY_PATH=/usr/lib/chromium, see README)`,
    );
  }
  if (isSoftwareAdapter(adapter) && !softwareAdapterAllowed()) {
    throw new Error(`WebGPU's only adapter is a software renderer (${describeAdapter(adapter)}), slower than the CPU executor; set GPLAB_WEBGPU_ADAPTER=swiftshader to use it anyway`);
  }
  return adapter;
}

/**
 * Whether Dawn can load Vulkan here. On Linux Dawn prints a warning when it
 * cannot, so gplab looks for the loader before probing for an adapter.
 */
export function vulkanLoaderPresent(): boolean {
  if (process.platform !== "linux") return true;
  const triplet = process.arch === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean),
    `/usr/lib/${triplet}`, `/lib/${triplet}`, "/usr/lib64", "/usr/lib", "/usr/local/lib",
  ];
  return dirs.some((d) => fs.existsSync(path.join(d, "libvulkan.so.1")));
}

/**
 * Whether a WebGPU adapter that gplab would use by itself is present: a
 * hardware one, or a software one the user opted into. Never throws.
 */
export async function usableAdapterPresent(): Promise<boolean> {
  if (!resolveOptional("webgpu") || !vulkanLoaderPresent()) return false;
  try {
    // An instance with no device does not hold the event loop open.
    await requestGplabAdapter(await createGpu());
    return true;
  } catch {
    return false;
  }
}

/** Imports the webgpu package once; rejects naming the package when it is missing. */
export function loadDawn(): Promise<DawnModule> {
  if (!loaded) {
    // The opt-in also points the Vulkan loader at Debian's SwiftShader when nothing else is set.
    if (softwareAdapterAllowed() && !process.env.VK_ICD_FILENAMES && fs.existsSync(DEBIAN_SWIFTSHADER_ICD)) {
      process.env.VK_ICD_FILENAMES = DEBIAN_SWIFTSHADER_ICD;
    }
    const entry = resolveOptional("webgpu");
    loaded = entry
      ? (import(pathToFileURL(entry).href) as Promise<DawnModule>)
      : Promise.reject(new Error('the npm package "webgpu" (Dawn for Node) is not installed; npm i webgpu, or set GPLAB_WEBGPU_MODULES'));
  }
  return loaded;
}

/**
 * Flags for Dawn's create(): GPLAB_WEBGPU_FLAGS, comma-separated entries
 * separated by ';' (e.g. "enable-dawn-features=disable_robustness").
 */
export function dawnFlags(): string[] {
  return (process.env.GPLAB_WEBGPU_FLAGS ?? "").split(";").map((s) => s.trim()).filter(Boolean);
}

/**
 * Every Dawn instance gplab created, kept for the life of the process.
 * webgpu@0.6.2 can run an instance's scheduled event processing after the
 * garbage collector has freed the instance; that locks a freed mutex and
 * either hangs the main thread or aborts at exit (a glibc assertion in
 * __pthread_tpp_change_priority), seen about one run in three on SwiftShader.
 * A kept instance costs little and, once its devices are destroyed, does not
 * hold Node's event loop open.
 */
const createdInstances: GPU[] = [];

/**
 * A private Dawn instance, kept alive (see createdInstances). Callers destroy
 * their device when done: a live device holds Node's event loop open.
 */
export async function createGpu(flags: string[] = dawnFlags()): Promise<GPU> {
  const gpu = (await loadDawn()).create(flags);
  createdInstances.push(gpu);
  return gpu;
}

/**
 * Installs Dawn's globals and navigator.gpu on globalThis, as a browser has
 * them; @tensorflow/tfjs-backend-webgpu reads both when it is imported.
 */
export async function installNavigatorGpu(): Promise<GPU> {
  const dawn = await loadDawn();
  Object.assign(globalThis, dawn.globals);
  const g = globalThis as { navigator?: { gpu?: GPU } };
  // Node 21+ has a read-only globalThis.navigator; its properties can still be defined.
  if (!g.navigator) Object.defineProperty(globalThis, "navigator", { value: {}, configurable: true, writable: true });
  if (!g.navigator!.gpu) {
    const gpu = dawn.create(dawnFlags());
    // Kept even if someone deletes navigator.gpu: tfjs's device lives on it (see createdInstances).
    createdInstances.push(gpu);
    Object.defineProperty(g.navigator!, "gpu", { value: gpu, configurable: true });
  }
  return g.navigator!.gpu!;
}
