// Gives a WebGPU test file the SwiftShader adapter (a Vulkan CPU renderer
// shipped by Debian's chromium package, which .ci/run installs). The Vulkan
// loader reads LD_LIBRARY_PATH only when a process starts, so the file runs
// itself again in a child process with the environment set; under
// `node --test` the child's results reach the runner as the file's own.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after } from "node:test";

/** Debian chromium's SwiftShader Vulkan driver and the folder holding its libvulkan.so.1. */
const ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";
const LIB_DIR = "/usr/lib/chromium";

/** The child writes its exit code here from its 'exit' event, before native teardown. */
const EXIT_CODE_FILE_ENV = "GPLAB_TEST_EXIT_CODE_FILE";
/** A hung device must not hang the suite: the whole child run is bounded. */
const CHILD_TIMEOUT_MS = 10 * 60 * 1000;
/** How long a child that has reported its exit code may take to actually end. */
const TEARDOWN_GRACE_MS = 20 * 1000;

/**
 * True when this process handed the file over to a child that runs it with
 * the SwiftShader adapter (the caller then registers no tests). False when
 * the file should run here: the user chose an adapter (GPLAB_WEBGPU_ADAPTER
 * set), we are that child already, or SwiftShader is not installed.
 *
 * Why the exit-code file: a process that used Dawn can hang in native
 * teardown after its last test (seen once in a full run: every test passed,
 * then the child sat at 0% CPU). The child records its exit code from the
 * 'exit' event, which runs before that teardown, so the parent can accept a
 * finished run and kill a child that does not end.
 */
export function reranUnderSwiftShader(file: string): boolean {
  if (process.env.GPLAB_WEBGPU_ADAPTER !== undefined || !fs.existsSync(ICD)) return false;
  const libraryPath = [LIB_DIR, ...(process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean)].join(":");
  const exitCodeFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gplab-swiftshader-")), "exit-code");
  const child = spawn(process.execPath, [...process.execArgv, file], {
    stdio: "inherit",
    env: {
      ...process.env,
      GPLAB_WEBGPU_ADAPTER: "swiftshader",
      VK_ICD_FILENAMES: ICD,
      LD_LIBRARY_PATH: libraryPath,
      [EXIT_CODE_FILE_ENV]: exitCodeFile,
    },
  });
  const reportedExitCode = (): number | undefined => {
    try {
      return Number(fs.readFileSync(exitCodeFile, "utf8"));
    } catch {
      return undefined;
    }
  };
  let killedAfterReport = false;
  const poll = setInterval(() => {
    if (reportedExitCode() === undefined) return;
    clearInterval(poll);
    setTimeout(() => {
      killedAfterReport = true;
      process.stderr.write(
        `${path.basename(file)}: the SwiftShader child reported exit code ${reportedExitCode()} but had not ended ` +
          `${TEARDOWN_GRACE_MS / 1000} s later (native WebGPU teardown); killed it and kept its reported result\n`,
      );
      child.kill("SIGKILL");
    }, TEARDOWN_GRACE_MS).unref();
  }, 500);
  const deadline = setTimeout(() => {
    process.stderr.write(`${path.basename(file)}: the SwiftShader child ran past ${CHILD_TIMEOUT_MS / 60000} min; killed it\n`);
    child.kill("SIGKILL");
  }, CHILD_TIMEOUT_MS);
  child.on("exit", (code) => {
    clearInterval(poll);
    clearTimeout(deadline);
    const reported = reportedExitCode();
    process.exitCode = code ?? (killedAfterReport && reported !== undefined ? reported : 1);
    fs.rmSync(path.dirname(exitCodeFile), { recursive: true, force: true });
  });
  return true;
}

/** In the SwiftShader child: records the exit code for the parent (see reranUnderSwiftShader). */
function reportExitCodeToParent(): void {
  const file = process.env[EXIT_CODE_FILE_ENV];
  if (!file) return;
  process.on("exit", (code) => fs.writeFileSync(file, String(code ?? process.exitCode ?? 0)));
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
  reportExitCodeToParent();
  after(() => {
    setTimeout(() => process.exit(), 3000).unref();
  });
}
