// Loads Dawn for Node (the optional npm package "webgpu") and hands out its
// GPU entry point. The package is ESM-only and ships a native dawn.node, so it
// is imported dynamically, never required at module load: gplab installs and
// runs without it. Resolution follows Node's rules plus GPLAB_WEBGPU_MODULES
// (a node_modules folder kept outside the project, e.g. one carried to a GPU
// host) and NODE_PATH.

import * as path from "node:path";
import { pathToFileURL } from "node:url";

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

export interface GPUAdapterLike {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
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

/** Imports the webgpu package once; rejects naming the package when it is missing. */
export function loadDawn(): Promise<DawnModule> {
  if (!loaded) {
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
 * A private Dawn instance. Dawn keeps Node's event loop alive while one is
 * referenced, so callers drop it (and destroy their device) when done.
 */
export async function createGpu(flags: string[] = dawnFlags()): Promise<GPU> {
  return (await loadDawn()).create(flags);
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
  if (!g.navigator!.gpu) Object.defineProperty(g.navigator!, "gpu", { value: dawn.create(dawnFlags()), configurable: true });
  return g.navigator!.gpu!;
}
