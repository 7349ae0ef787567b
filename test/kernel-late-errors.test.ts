// Errors raised outside a cell's own evaluation (timers, unhandled
// rejections, 'error' events, worker threads) are reported and the session
// survives: no restart, every variable kept. The wasm backend is loaded, so
// Emscripten's re-throwing process handlers are in play.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { resultText, run, startKernel, LaunchedKernel } from "./kernel/harness";
import type { ExecuteOutcome } from "../kernel/kernel-client";

function stderrText(outcome: ExecuteOutcome): string {
  return outcome.outputs
    .filter((message) => message.header.msg_type === "stream" && message.content.name === "stderr")
    .map((message) => String(message.content.text))
    .join("");
}

describe("late errors", () => {
  let kernel: LaunchedKernel;
  before(async () => {
    kernel = await startKernel();
    const setup = await run(kernel, "const kept = { value: 41 }; gp.backend.info().backend");
    assert.equal(resultText(setup), "'wasm'", "the wasm backend (and its Emscripten module) is loaded");
  });
  after(async () => {
    await kernel.shutdown();
  });

  /** The variable from the setup cell is still there: the cell runner was not restarted. */
  async function assertStateKept(): Promise<void> {
    const outcome = await run(kernel, "kept.value + 1");
    assert.equal(outcome.reply.content.status, "ok", JSON.stringify(outcome.reply.content));
    assert.equal(resultText(outcome), "42");
  }

  test("a timer that throws after its cell ended: reported in the next cell, nothing lost", async () => {
    const first = await run(kernel, 'setTimeout(() => { throw new Error("late") }, 100);\n"scheduled"');
    assert.equal(first.reply.content.status, "ok");
    assert.equal(stderrText(first), "");
    await new Promise((resolve) => setTimeout(resolve, 400));
    const next = await run(kernel, "kept.value");
    assert.equal(next.reply.content.status, "ok", JSON.stringify(next.reply.content));
    assert.equal(resultText(next), "41");
    const report = stderrText(next);
    assert.match(report, /^Error: late\n\s+at .*cell-\d+\.js:\d+:\d+/);
    assert.match(report, /uncaught exception raised while no cell was running/);
    assert.deepEqual(next.outputs.map((m) => m.header.msg_type), ["stream", "execute_result"], "reported before the cell's own output");
    assert.equal(stderrText(await run(kernel, "1")), "", "reported once");
  });

  test("a timer that throws while its cell still runs: reported in that cell, which goes on", async () => {
    const outcome = await run(kernel, 'setTimeout(() => { throw new RangeError("during") }, 50);\nawait new Promise((r) => setTimeout(r, 300));\n"finished"');
    assert.equal(outcome.reply.content.status, "ok", JSON.stringify(outcome.reply.content));
    assert.equal(resultText(outcome), "'finished'");
    assert.match(stderrText(outcome), /^RangeError: during\n[\s\S]*raised outside this cell's own evaluation/);
    await assertStateKept();
  });

  test("a promise rejected with no handler is reported in the cell that rejected it", async () => {
    const outcome = await run(kernel, 'Promise.reject(new Error("x"));\n2');
    assert.equal(outcome.reply.content.status, "ok");
    assert.equal(resultText(outcome), "2");
    assert.match(stderrText(outcome), /^Error: x\n[\s\S]*unhandled rejection/);
    const primitive = await run(kernel, 'Promise.reject("just a string");');
    assert.match(stderrText(primitive), /^Uncaught just a string\n/);
    await assertStateKept();
  });

  test("an 'error' event nobody listens to, and a worker thread that fails", async () => {
    const emitter = await run(kernel, 'import { EventEmitter } from "node:events";\nconst bus = new EventEmitter();\nsetTimeout(() => bus.emit("error", new TypeError("nobody listens")), 20);\nawait new Promise((r) => setTimeout(r, 200));');
    assert.equal(emitter.reply.content.status, "ok", JSON.stringify(emitter.reply.content));
    assert.match(stderrText(emitter), /^TypeError: nobody listens/);
    const worker = await run(kernel, 'import { Worker } from "node:worker_threads";\nconst w = new Worker("throw new Error(\\"in the worker\\")", { eval: true });\nawait new Promise((r) => w.once("exit", r));');
    assert.equal(worker.reply.content.status, "ok", JSON.stringify(worker.reply.content));
    assert.match(stderrText(worker), /^Error: in the worker/);
    await assertStateKept();
  });

  test("handlers that re-throw, installed later (as a dependency would), cannot end the session", async () => {
    const install = await run(kernel, 'process.on("uncaughtException", (e) => { throw e; });\nprocess.on("unhandledRejection", (r) => { throw r; });');
    assert.equal(install.reply.content.status, "ok", JSON.stringify(install.reply.content));
    const rejected = await run(kernel, 'Promise.reject(new Error("again"));');
    assert.equal((stderrText(rejected).match(/Error: again/g) ?? []).length, 1, `reported once: ${stderrText(rejected)}`);
    const thrown = await run(kernel, 'setTimeout(() => { throw new Error("once more") }, 10);\nawait new Promise((r) => setTimeout(r, 100));');
    assert.match(stderrText(thrown), /Error: once more/);
    await assertStateKept();
    await run(kernel, 'process.removeAllListeners("uncaughtException"); process.removeAllListeners("unhandledRejection");');
  });

  test("a setInterval that throws forever: the next cell gets a bounded report", async () => {
    await run(kernel, 'const noisy = setInterval(() => { throw new Error("tick") }, 2);');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const outcome = await run(kernel, "clearInterval(noisy);");
    const report = stderrText(outcome);
    const shown = (report.match(/Error: tick/g) ?? []).length;
    assert.ok(shown >= 1 && shown <= 40, `${shown} reports`);
    await assertStateKept();
  });

  test("process.exit() in a cell still restarts the runner with a clear message", async () => {
    const outcome = await run(kernel, "process.exit(5)");
    assert.equal(outcome.reply.content.ename, "KernelRestarted");
    assert.match(outcome.reply.content.evalue, /exited \(code 5\)/);
  });
});
