// Gives a WebGPU test file the SwiftShader adapter (a Vulkan CPU renderer
// shipped by Debian's chromium package, which .ci/run installs). The Vulkan
// loader reads LD_LIBRARY_PATH only when a process starts, so the file runs
// itself again in a child process with the environment set; under
// `node --test` the child's results reach the runner as the file's own.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { after } from "node:test";

/** Debian chromium's SwiftShader Vulkan driver and the folder holding its libvulkan.so.1. */
const ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";
const LIB_DIR = "/usr/lib/chromium";

/**
 * True when this process handed the file over to a child that runs it with
 * the SwiftShader adapter (the caller then registers no tests). False when
 * the file should run here: the user chose an adapter (GPLAB_WEBGPU_ADAPTER
 * set), we are that child already, or SwiftShader is not installed.
 */
export function reranUnderSwiftShader(file: string): boolean {
  if (process.env.GPLAB_WEBGPU_ADAPTER !== undefined || !fs.existsSync(ICD)) return false;
  const libraryPath = [LIB_DIR, ...(process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean)].join(":");
  const child = spawnSync(process.execPath, [...process.execArgv, file], {
    // A hung device must not hang the suite.
    timeout: 15 * 60 * 1000,
    stdio: "inherit",
    env: { ...process.env, GPLAB_WEBGPU_ADAPTER: "swiftshader", VK_ICD_FILENAMES: ICD, LD_LIBRARY_PATH: libraryPath },
  });
  process.exitCode = child.status ?? 1;
  return true;
}

/** Skips a test that needs WebGPU, except in CI, where a missing adapter fails it. */
export function skipWithoutWebgpu(t: { skip(message: string): void }, reason: string): void {
  if (process.env.CI) throw new Error(`no WebGPU adapter in CI (${reason}); .ci/run installs chromium, whose SwiftShader the WebGPU tests use`);
  t.skip(`no WebGPU: ${reason}`);
}

/**
 * Ends the process shortly after the file's last test. A WebGPU device that
 * TensorFlow.js's webgpu backend keeps (it is never destroyed) can hold
 * Node's event loop open with Dawn work pending; the timer is unref'd, so
 * it only fires when something like that is still holding the process.
 */
export function exitAfterLastTest(): void {
  after(() => {
    setTimeout(() => process.exit(), 3000).unref();
  });
}
